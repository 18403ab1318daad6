package h5

import (
	"bytes"
	"fmt"
	"sort"
)

// rawAttr is an attribute message not yet decoded.
type rawAttr struct {
	name  string
	data  []byte
	at    uint64
	order int64
}

// attributes lists the raw attribute messages of an object, compact and
// dense, in the order h5py lists them.
func (f *File) attributes(h *objectHeader) ([]rawAttr, error) {
	var as []rawAttr
	tracked := h.flags&0x04 != 0
	for _, m := range h.messages {
		if m.typ != msgAttribute {
			continue
		}
		name, err := f.attrName(m.data, m.addr)
		if err != nil {
			return nil, err
		}
		as = append(as, rawAttr{name: name, data: m.data, at: m.addr, order: int64(m.order)})
	}
	if m := h.first(msgAttrInfo); m != nil {
		c := f.newCursor(m.data, m.addr, "attribute info message")
		if v := c.u8(); c.err == nil && v != 0 {
			c.fail("version %d", v)
		}
		flags := c.u8()
		if flags&1 != 0 {
			tracked = true
			c.skip(2)
		}
		heapAddr := c.addr()
		nameIndex := c.addr()
		if c.err != nil {
			return nil, c.err
		}
		if heapAddr != undefAddr {
			dense, err := f.readDenseAttrs(heapAddr, nameIndex)
			if err != nil {
				return nil, err
			}
			as = append(as, dense...)
		}
	}
	if tracked {
		sort.SliceStable(as, func(i, j int) bool { return as[i].order < as[j].order })
	} else {
		sort.SliceStable(as, func(i, j int) bool { return as[i].name < as[j].name })
	}
	return as, nil
}

func (f *File) readDenseAttrs(heapAddr, nameIndex uint64) ([]rawAttr, error) {
	h, err := f.readFractalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	var as []rawAttr
	var ferr error
	err = f.walkBTree2(nameIndex, func(typ int, rec []byte, at uint64) bool {
		if typ != 8 || len(rec) < 17 {
			ferr = f.formatErr(int64(at), "attribute name index record of type %d", typ)
			return false
		}
		obj, err := f.heapObject(h, rec[:8])
		if err != nil {
			ferr = err
			return false
		}
		name, err := f.attrName(obj, heapAddr)
		if err != nil {
			ferr = err
			return false
		}
		order := int64(rec[9]) | int64(rec[10])<<8 | int64(rec[11])<<16 | int64(rec[12])<<24
		as = append(as, rawAttr{name: name, data: obj, at: heapAddr, order: order})
		return len(as) < 1<<24
	})
	if err != nil {
		return nil, err
	}
	return as, ferr
}

// attrHeader is the decoded prefix of an attribute message.
type attrHeader struct {
	name                      string
	flags                     uint8
	dtype, space, value       []byte
	dtypeAt, spaceAt, valueAt uint64
}

func (f *File) parseAttrHeader(data []byte, at uint64) (*attrHeader, error) {
	c := f.newCursor(data, at, "attribute message")
	version := c.u8()
	flags := c.u8()
	nameLen := int(c.u16())
	dtLen := int(c.u16())
	dsLen := int(c.u16())
	pad := func(n int) int { return n }
	switch version {
	case 1:
		pad = func(n int) int { return (n + 7) &^ 7 }
		flags = 0
	case 2:
	case 3:
		c.u8() // name character set
	default:
		if c.err == nil {
			c.fail("version %d", version)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	a := &attrHeader{flags: flags}
	name := c.bytes(nameLen)
	c.skip(pad(nameLen) - nameLen)
	a.name = string(bytes.TrimRight(name, "\x00"))
	a.dtypeAt = at + uint64(c.pos)
	a.dtype = c.bytes(dtLen)
	c.skip(pad(dtLen) - dtLen)
	a.spaceAt = at + uint64(c.pos)
	a.space = c.bytes(dsLen)
	c.skip(pad(dsLen) - dsLen)
	if c.err != nil {
		return nil, c.err
	}
	a.valueAt = at + uint64(c.pos)
	a.value = data[c.pos:]
	return a, nil
}

func (f *File) attrName(data []byte, at uint64) (string, error) {
	a, err := f.parseAttrHeader(data, at)
	if err != nil {
		return "", err
	}
	return a.name, nil
}

// readAttr decodes an attribute's value.
func (f *File) readAttr(ra rawAttr, objPath string) (*Array, error) {
	a, err := f.parseAttrHeader(ra.data, ra.at)
	if err != nil {
		return nil, err
	}
	var dt *dtype
	if a.flags&1 != 0 {
		dt, err = f.sharedDatatype(a.dtype, a.dtypeAt)
	} else {
		dt, err = f.parseDatatype(a.dtype, a.dtypeAt)
	}
	if err != nil {
		return nil, wrapObj(err, objPath, "attribute "+a.name)
	}
	if a.flags&2 != 0 {
		return nil, f.unsupported("shared dataspace in attribute %q of %s", a.name, objPath)
	}
	space, err := f.parseDataspace(a.space, a.spaceAt)
	if err != nil {
		return nil, err
	}
	shape, n, err := f.shapeOf(space, dt, int64(a.spaceAt))
	if err != nil {
		return nil, err
	}
	need := uint64(n) * uint64(dt.size)
	if n > 0 && need/uint64(n) != uint64(dt.size) || need > uint64(len(a.value)) {
		return nil, f.formatErr(int64(a.valueAt), "attribute %q of %s declares %d elements of %d bytes but holds %d bytes", a.name, objPath, n, dt.size, len(a.value))
	}
	data := makeData(dt, n)
	if err := f.decodeInto(dt, data, 0, a.value[:need], a.valueAt); err != nil {
		return nil, err
	}
	return &Array{DType: dt.public(), Shape: shape, Data: data}, nil
}

// shapeOf returns the shape (with array datatype dimensions appended) and
// element count of a dataspace.
func (f *File) shapeOf(s *dataspace, dt *dtype, at int64) ([]int, int, error) {
	count, ok := s.count()
	if !ok {
		return nil, 0, f.formatErr(at, "dataspace %v has too many elements", s.dims)
	}
	shape := []int{}
	if s.null {
		shape = []int{0}
	}
	for _, d := range s.dims {
		if d > 1<<50 {
			return nil, 0, f.formatErr(at, "dataspace dimension %d is too large", d)
		}
		shape = append(shape, int(d))
	}
	for _, d := range dt.dims {
		shape = append(shape, d)
		if d != 0 && count > (1<<62)/uint64(d) {
			return nil, 0, f.formatErr(at, "array datatype makes too many elements")
		}
		count *= uint64(d)
	}
	if count > 1<<50 {
		return nil, 0, f.formatErr(at, "dataspace %v has too many elements", s.dims)
	}
	return shape, int(count), nil
}

// sharedDatatype resolves a shared (committed) datatype message.
func (f *File) sharedDatatype(data []byte, at uint64) (*dtype, error) {
	c := f.newCursor(data, at, "shared message")
	version := c.u8()
	typ := c.u8()
	switch version {
	case 1:
		c.skip(6)
	case 2:
	case 3:
		if typ != 2 {
			return nil, f.unsupported("datatype in the shared object header message heap")
		}
	default:
		if c.err == nil {
			c.fail("version %d", version)
		}
	}
	addr := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	h, err := f.objectHeader(addr)
	if err != nil {
		return nil, err
	}
	m := h.first(msgDatatype)
	if m == nil {
		return nil, f.formatErr(int64(addr), "committed datatype without a datatype message")
	}
	if m.flags&2 != 0 {
		return nil, f.formatErr(int64(addr), "committed datatype refers to another shared datatype")
	}
	return f.parseDatatype(m.data, m.addr)
}

func wrapObj(err error, objPath, what string) error {
	if _, ok := err.(*UnsupportedError); ok {
		u := *err.(*UnsupportedError)
		u.Feature = fmt.Sprintf("%s (%s of %s)", u.Feature, what, objPath)
		return &u
	}
	return err
}
