package h5

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// Writer builds an HDF5 file: a tree of groups, datasets and attributes
// that WriteTo serializes in the layout h5py writes by default
// (superblock v0, version-1 object headers, symbol-table groups, contiguous
// datasets, variable-length strings in the global heap).
//
// A Writer keeps references to the Arrays it is given; they must not be
// modified until the file is written. A Writer is not safe for concurrent
// use. To replace a file atomically, pass WriteTo to internal/atomicfile's
// Write (as the saving package does).
type Writer struct {
	root *writerNode
}

// GroupWriter adds children and attributes to one group of a Writer.
type GroupWriter struct {
	node *writerNode
}

// DatasetWriter adds attributes to one dataset of a Writer.
type DatasetWriter struct {
	node *writerNode
}

// writerNode is a group or a dataset in the tree being built.
type writerNode struct {
	path      string // full path, for error messages
	name      string // link name in the parent
	group     bool
	attrs     []writerAttr
	attrIndex map[string]bool
	children  map[string]*writerNode // groups only
	value     *Array                 // datasets only
}

type writerAttr struct {
	name  string
	value *Array
}

// writerMaxRank is HDF5's limit on the number of dimensions.
const writerMaxRank = 32

// NewWriter returns a Writer holding an empty root group.
func NewWriter() *Writer {
	return &Writer{root: &writerNode{path: "/", group: true, children: map[string]*writerNode{}}}
}

// Root returns the root group.
func (w *Writer) Root() *GroupWriter {
	return &GroupWriter{node: w.root}
}

// CreateGroup adds a child group named name. The name must be non-empty,
// contain no '/' or NUL byte, not be "." or "..", and not already be used
// by a child of g.
func (g *GroupWriter) CreateGroup(name string) (*GroupWriter, error) {
	n, err := g.node.addChild(name)
	if err != nil {
		return nil, err
	}
	n.group = true
	n.children = map[string]*writerNode{}
	return &GroupWriter{node: n}, nil
}

// CreateDataset adds a contiguous dataset named name holding v. Naming
// rules are those of CreateGroup. A BFloat16 dataset is stored as 2-byte
// opaque data with the attribute dtype="bfloat16", as Keras writes it.
func (g *GroupWriter) CreateDataset(name string, v *Array) (*DatasetWriter, error) {
	if err := writerCheckArray(v); err != nil {
		return nil, fmt.Errorf("h5: dataset %s: %w", writerJoin(g.node.path, name), err)
	}
	n, err := g.node.addChild(name)
	if err != nil {
		return nil, err
	}
	n.value = v
	d := &DatasetWriter{node: n}
	if v.DType.Kind == BFloat16 {
		if err := n.setAttr("dtype", StringAttr("bfloat16")); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// SetAttr attaches the attribute name with value v to the group. Attributes
// are stored in the object header, so one attribute's encoding is limited to
// 64 KiB as in h5py; Keras splits longer lists itself. A variable-length
// string's characters live in the global heap and do not count.
func (g *GroupWriter) SetAttr(name string, v *Array) error {
	return g.node.setAttr(name, v)
}

// SetAttr attaches the attribute name with value v to the dataset, with
// the limits described at GroupWriter.SetAttr. On a bfloat16 dataset,
// setting dtype="bfloat16" again (as when copying a Keras file's
// attributes) is accepted and changes nothing.
func (d *DatasetWriter) SetAttr(name string, v *Array) error {
	if name == "dtype" && d.node.value.DType.Kind == BFloat16 && v != nil && v.DType.Kind == String {
		if s, ok := v.Data.([]string); ok && len(s) == 1 && s[0] == "bfloat16" {
			return nil
		}
	}
	return d.node.setAttr(name, v)
}

func (n *writerNode) addChild(name string) (*writerNode, error) {
	if err := writerCheckName(name); err != nil {
		return nil, fmt.Errorf("h5: child %q of group %s: %w", name, n.path, err)
	}
	if _, dup := n.children[name]; dup {
		return nil, fmt.Errorf("h5: group %s already has a child named %q", n.path, name)
	}
	c := &writerNode{path: writerJoin(n.path, name), name: name}
	n.children[name] = c
	return c, nil
}

func (n *writerNode) setAttr(name string, v *Array) error {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("h5: %s: invalid attribute name %q: empty or contains a NUL byte", n.path, name)
	}
	if n.attrIndex[name] {
		return fmt.Errorf("h5: %s already has an attribute named %q", n.path, name)
	}
	if err := writerCheckArray(v); err != nil {
		return fmt.Errorf("h5: attribute %q of %s: %w", name, n.path, err)
	}
	if size := writerAttrMessageSize(name, v); size > writerMaxMessage {
		return fmt.Errorf("h5: attribute %q of %s needs %d bytes in the object header, more than the %d HDF5 allows; split it (Keras writes name0, name1, ...)",
			name, n.path, size, writerMaxMessage)
	}
	if n.attrIndex == nil {
		n.attrIndex = map[string]bool{}
	}
	n.attrIndex[name] = true
	n.attrs = append(n.attrs, writerAttr{name: name, value: v})
	return nil
}

func writerJoin(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

func writerCheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case name == "." || name == "..":
		return fmt.Errorf("name %q is reserved", name)
	case strings.IndexByte(name, '/') >= 0:
		return fmt.Errorf("name contains '/'")
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("name contains a NUL byte")
	}
	return nil
}

// writerElemSize returns the size in bytes of one element in the file.
func writerElemSize(dt DType) int {
	switch dt.Kind {
	case Int8, Uint8, Bool:
		return 1
	case Int16, Uint16, Float16, BFloat16:
		return 2
	case Int32, Uint32, Float32:
		return 4
	case Int64, Uint64, Float64:
		return 8
	case String:
		if dt.VarLen {
			return 16 // length, global heap collection address, object index
		}
		return dt.Size
	case Opaque:
		return dt.Size
	}
	return 0
}

// writerCheckArray reports whether v can be written: the dtype is one the
// writer knows, Data has the Go type and length the dtype and shape call
// for, and strings and opaque elements fit the declared size.
func writerCheckArray(v *Array) error {
	if v == nil {
		return fmt.Errorf("nil array")
	}
	if len(v.Shape) > writerMaxRank {
		return fmt.Errorf("rank %d exceeds HDF5's maximum of %d", len(v.Shape), writerMaxRank)
	}
	n := uint64(1)
	for _, d := range v.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", v.Shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return fmt.Errorf("shape %v has too many elements", v.Shape)
		}
		n = lo
	}
	dt := v.DType
	want := ""
	length := -1
	switch dt.Kind {
	case Int8:
		want, length = "[]int8", writerLen[int8](v.Data)
	case Int16:
		want, length = "[]int16", writerLen[int16](v.Data)
	case Int32:
		want, length = "[]int32", writerLen[int32](v.Data)
	case Int64:
		want, length = "[]int64", writerLen[int64](v.Data)
	case Uint8:
		want, length = "[]uint8", writerLen[uint8](v.Data)
	case Uint16, Float16, BFloat16:
		want, length = "[]uint16", writerLen[uint16](v.Data)
	case Uint32:
		want, length = "[]uint32", writerLen[uint32](v.Data)
	case Uint64:
		want, length = "[]uint64", writerLen[uint64](v.Data)
	case Float32:
		want, length = "[]float32", writerLen[float32](v.Data)
	case Float64:
		want, length = "[]float64", writerLen[float64](v.Data)
	case Bool:
		want, length = "[]bool", writerLen[bool](v.Data)
	case String:
		want, length = "[]string", writerLen[string](v.Data)
	case Opaque:
		want, length = "[][]byte", writerLen[[]byte](v.Data)
	default:
		return fmt.Errorf("cannot write dtype %s", dt)
	}
	if length < 0 {
		return fmt.Errorf("dtype %s needs %s data, got %T", dt, want, v.Data)
	}
	if uint64(length) != n {
		return fmt.Errorf("shape %v holds %d elements but data has %d", v.Shape, n, length)
	}
	switch dt.Kind {
	case String:
		if dt.VarLen {
			if dt.Size != 0 {
				return fmt.Errorf("variable-length string with size %d (want 0)", dt.Size)
			}
			break
		}
		if dt.Size < 1 {
			return fmt.Errorf("fixed-length string with size %d (want >= 1)", dt.Size)
		}
		for i, s := range v.Data.([]string) {
			if len(s) > dt.Size {
				return fmt.Errorf("string element %d has %d bytes, more than the dtype's %d", i, len(s), dt.Size)
			}
		}
	case Opaque:
		if dt.Size < 1 {
			return fmt.Errorf("opaque size %d (want >= 1)", dt.Size)
		}
		if len(dt.Tag) > writerMaxOpaqueTag || strings.IndexByte(dt.Tag, 0) >= 0 {
			return fmt.Errorf("opaque tag %q is longer than %d bytes or contains a NUL byte", dt.Tag, writerMaxOpaqueTag)
		}
		for i, b := range v.Data.([][]byte) {
			if len(b) != dt.Size {
				return fmt.Errorf("opaque element %d has %d bytes, the dtype says %d", i, len(b), dt.Size)
			}
		}
	default:
		if dt.Size != 0 && dt.Size != writerElemSize(dt) {
			return fmt.Errorf("dtype %s with size %d (want %d)", dt, dt.Size, writerElemSize(dt))
		}
	}
	if hi, lo := bits.Mul64(n, uint64(writerElemSize(dt))); hi != 0 || lo > math.MaxInt64/2 {
		return fmt.Errorf("shape %v of %s is too large", v.Shape, dt)
	}
	return nil
}

// writerLen returns len(data) if data is a []T, else -1.
func writerLen[T any](data any) int {
	s, ok := data.([]T)
	if !ok {
		return -1
	}
	return len(s)
}
