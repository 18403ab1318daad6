package h5

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func wtBytes(t testing.TB, w *Writer) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

func TestWriteDeterministic(t *testing.T) {
	for _, f := range wtCorpus() {
		t.Run(f.name, func(t *testing.T) {
			w := f.build(t)
			a, b := wtBytes(t, w), wtBytes(t, w)
			if !bytes.Equal(a, b) {
				t.Fatal("two WriteTo calls on one Writer differ")
			}
			// A second Writer built with children in the reverse order
			// gives the same bytes: children are laid out by name.
			rev := &wtFile{name: f.name, objects: slices.Clone(f.objects)}
			slices.SortStableFunc(rev.objects[1:], func(x, y wtObject) int {
				if d := strings.Count(x.path, "/") - strings.Count(y.path, "/"); d != 0 {
					return d // parents still come first
				}
				return strings.Compare(y.path, x.path)
			})
			if c := wtBytes(t, rev.build(t)); !bytes.Equal(a, c) {
				t.Fatal("insertion order of children changes the bytes")
			}
			if end := writerLE.Uint64(a[0x28:]); end != uint64(len(a)) {
				t.Errorf("superblock end-of-file address %d, file has %d bytes", end, len(a))
			}
		})
	}
}

// The walker below reads back the group structure the writer produced,
// independently of the package's reader, and checks the B-tree invariants
// h5py relies on.

type wtWalker struct {
	t *testing.T
	b []byte
}

func (w *wtWalker) u64(at uint64) uint64 { return writerLE.Uint64(w.b[at:]) }

// messages returns the messages of the v1 object header at addr.
func (w *wtWalker) messages(addr uint64) map[uint16][][]byte {
	b := w.b[addr:]
	if b[0] != 1 {
		w.t.Fatalf("object header at %d: version %d", addr, b[0])
	}
	n, size := int(writerLE.Uint16(b[2:])), int(writerLE.Uint32(b[8:]))
	msgs := map[uint16][][]byte{}
	p := writerHeaderPrefix
	for range n {
		typ, sz := writerLE.Uint16(b[p:]), int(writerLE.Uint16(b[p+2:]))
		if sz%8 != 0 {
			w.t.Errorf("object header at %d: message size %d not 8-aligned", addr, sz)
		}
		msgs[typ] = append(msgs[typ], b[p+8:p+8+sz])
		p += 8 + sz
	}
	if p != writerHeaderPrefix+size {
		w.t.Errorf("object header at %d: messages fill %d bytes, header says %d", addr, p-writerHeaderPrefix, size)
	}
	return msgs
}

func (w *wtWalker) heapName(heapData, off uint64) string {
	s := w.b[heapData+off:]
	return string(s[:bytes.IndexByte(s, 0)])
}

// group lists a group's children through its B-tree, checking that every
// name lies between the keys around it and that nodes are well formed. It
// returns the names in order and the B-tree's height.
func (w *wtWalker) group(header uint64) (names []string, addrs []uint64, height int) {
	st := w.messages(header)[writerMsgSymbolTable]
	if len(st) != 1 {
		w.t.Fatalf("group at %d has %d symbol table messages", header, len(st))
	}
	btree, heap := writerLE.Uint64(st[0]), writerLE.Uint64(st[0][8:])
	if string(w.b[heap:heap+4]) != "HEAP" {
		w.t.Fatalf("no local heap at %d", heap)
	}
	heapData := w.u64(heap + 24)
	var visit func(addr uint64, level int, lo, hi string)
	visit = func(addr uint64, level int, lo, hi string) {
		b := w.b[addr:]
		if string(b[:4]) != "TREE" || b[4] != 0 {
			w.t.Fatalf("no group B-tree node at %d", addr)
		}
		if level >= 0 && int(b[5]) != level {
			w.t.Errorf("B-tree node at %d: level %d, want %d", addr, b[5], level)
		}
		level = int(b[5])
		height = max(height, level+1)
		n := int(writerLE.Uint16(b[6:]))
		if n > writerBtreeCap {
			w.t.Errorf("B-tree node at %d has %d children", addr, n)
		}
		key := func(i int) string { return w.heapName(heapData, writerLE.Uint64(b[24+16*i:])) }
		if key(0) != lo || (n > 0 && hi != "\xff" && key(n) != hi) {
			w.t.Errorf("B-tree node at %d: keys %q..%q, parent says %q..%q", addr, key(0), key(n), lo, hi)
		}
		for i := range n {
			child := writerLE.Uint64(b[24+16*i+8:])
			if key(i) >= key(i+1) && !(i == 0 && key(i) == "") {
				w.t.Errorf("B-tree node at %d: keys %q, %q out of order", addr, key(i), key(i+1))
			}
			if level > 0 {
				visit(child, level-1, key(i), key(i+1))
				continue
			}
			s := w.b[child:]
			if string(s[:4]) != "SNOD" {
				w.t.Fatalf("no symbol table node at %d", child)
			}
			m := int(writerLE.Uint16(s[6:]))
			if m == 0 || m > writerSnodCap {
				w.t.Errorf("symbol table node at %d has %d entries", child, m)
			}
			for j := range m {
				e := s[8+40*j:]
				name := w.heapName(heapData, writerLE.Uint64(e))
				if name <= key(i) || name > key(i+1) {
					w.t.Errorf("name %q outside its keys (%q, %q]", name, key(i), key(i+1))
				}
				if j == m-1 && name != key(i+1) {
					w.t.Errorf("key %q is not the last name %q of its node", key(i+1), name)
				}
				names = append(names, name)
				addrs = append(addrs, writerLE.Uint64(e[8:]))
			}
		}
	}
	visit(btree, -1, "", "\xff")
	return names, addrs, height
}

func TestWriteGroupBtrees(t *testing.T) {
	for _, n := range []int{0, 1, 8, 9, 256, 257, 1100, 9000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			w := NewWriter()
			var want []string
			for i := range n {
				name := fmt.Sprintf("c%d", i)
				want = append(want, name)
				var err error
				if i%2 == 0 {
					_, err = w.Root().CreateGroup(name)
				} else {
					_, err = w.Root().CreateDataset(name, &Array{DType: DType{Kind: Int8}, Data: []int8{1}})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			slices.Sort(want)
			b := wtBytes(t, w)
			walker := &wtWalker{t: t, b: b}
			root := writerLE.Uint64(b[0x40:])
			names, addrs, height := walker.group(root)
			if !slices.Equal(names, want) {
				t.Fatalf("B-tree lists %d names, want %d sorted names", len(names), len(want))
			}
			// 8 names per symbol table node, 32 children per B-tree node.
			wantHeight := 1
			for c := (n + 7) / 8; c > 32; c = (c + 31) / 32 {
				wantHeight++
			}
			if height != wantHeight {
				t.Errorf("B-tree height %d, want %d", height, wantHeight)
			}
			for i, a := range addrs {
				msgs := walker.messages(a)
				isGroup := len(msgs[writerMsgSymbolTable]) == 1
				var k int
				fmt.Sscanf(names[i], "c%d", &k)
				if wantGroup := k%2 == 0; isGroup != wantGroup {
					t.Errorf("%s: group=%v", names[i], isGroup)
				}
			}
		})
	}
}

func TestWriteDatasetHeader(t *testing.T) {
	w := NewWriter()
	d, err := w.Root().CreateDataset("x", Float32Array([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetAttr("note", StringAttr("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Root().CreateDataset("none", &Array{DType: DType{Kind: Float32}, Shape: []int{0}, Data: []float32{}}); err != nil {
		t.Fatal(err)
	}
	b := wtBytes(t, w)
	walker := &wtWalker{t: t, b: b}
	names, addrs, _ := walker.group(writerLE.Uint64(b[0x40:]))
	if !slices.Equal(names, []string{"none", "x"}) {
		t.Fatalf("names %q", names)
	}
	msgs := walker.messages(addrs[1])
	for _, typ := range []uint16{writerMsgDataspace, writerMsgDatatype, writerMsgFillValue, writerMsgLayout, writerMsgAttribute} {
		if len(msgs[typ]) != 1 {
			t.Errorf("message type %#x appears %d times", typ, len(msgs[typ]))
		}
	}
	if len(msgs) != 5 {
		t.Errorf("%d message types; a timestamp or other extra message would break determinism", len(msgs))
	}
	layout := msgs[writerMsgLayout][0]
	addr, size := writerLE.Uint64(layout[2:]), writerLE.Uint64(layout[10:])
	if size != 24 || addr%8 != 0 {
		t.Fatalf("layout address %d size %d", addr, size)
	}
	for i := range 6 {
		if got := writerLE.Uint32(b[addr+4*uint64(i):]); got != math.Float32bits(float32(i+1)) {
			t.Errorf("element %d bits %#x", i, got)
		}
	}
	if layout := walker.messages(addrs[0])[writerMsgLayout][0]; writerLE.Uint64(layout[2:]) != writerUndef || writerLE.Uint64(layout[10:]) != 0 {
		t.Errorf("zero-size dataset layout % x, want the undefined address", layout)
	}
	// The vlen attribute's heap ID points at a collection holding "hi".
	attr := msgs[writerMsgAttribute][0]
	id := attr[len(attr)-16:]
	gcol, idx := writerLE.Uint64(id[4:]), writerLE.Uint32(id[12:])
	if writerLE.Uint32(id) != 2 || string(b[gcol:gcol+4]) != "GCOL" || idx != 1 || string(b[gcol+32:gcol+34]) != "hi" {
		t.Errorf("vlen heap ID % x", id)
	}
}

func TestWriterErrors(t *testing.T) {
	f32 := Float32Array([]int{1}, []float32{1})
	big := make([]string, 4000)
	for i := range big {
		big[i] = "layer_name_of_some_length"
	}
	cases := []struct {
		name string
		do   func(g *GroupWriter) error
		want string
	}{
		{"empty name", func(g *GroupWriter) error { _, err := g.CreateGroup(""); return err }, "empty name"},
		{"slash", func(g *GroupWriter) error { _, err := g.CreateGroup("a/b"); return err }, "contains '/'"},
		{"dot", func(g *GroupWriter) error { _, err := g.CreateDataset(".", f32); return err }, "reserved"},
		{"nul", func(g *GroupWriter) error { _, err := g.CreateGroup("a\x00"); return err }, "NUL"},
		{"duplicate group", func(g *GroupWriter) error { _, err := g.CreateGroup("dense"); return err }, `already has a child named "dense"`},
		{"duplicate dataset", func(g *GroupWriter) error { _, err := g.CreateDataset("dense", f32); return err }, `already has a child named "dense"`},
		{"duplicate attr", func(g *GroupWriter) error { return g.SetAttr("a", f32) }, `already has an attribute named "a"`},
		{"empty attr name", func(g *GroupWriter) error { return g.SetAttr("", f32) }, "invalid attribute name"},
		{"nil array", func(g *GroupWriter) error { return g.SetAttr("n", nil) }, "nil array"},
		{"wrong Go type", func(g *GroupWriter) error {
			_, err := g.CreateDataset("w", &Array{DType: DType{Kind: Float32}, Shape: []int{1}, Data: []float64{1}})
			return err
		}, "needs []float32 data, got []float64"},
		{"length mismatch", func(g *GroupWriter) error {
			_, err := g.CreateDataset("w", Float32Array([]int{2, 2}, []float32{1, 2, 3}))
			return err
		}, "shape [2 2] holds 4 elements but data has 3"},
		{"negative dim", func(g *GroupWriter) error {
			_, err := g.CreateDataset("w", Float32Array([]int{-1}, nil))
			return err
		}, "negative dimension"},
		{"string too long", func(g *GroupWriter) error {
			return g.SetAttr("s", &Array{DType: DType{Kind: String, Size: 2}, Shape: []int{1}, Data: []string{"abc"}})
		}, "3 bytes, more than the dtype's 2"},
		{"opaque size", func(g *GroupWriter) error {
			return g.SetAttr("o", &Array{DType: DType{Kind: Opaque, Size: 2}, Shape: []int{1}, Data: [][]byte{{1}}})
		}, "opaque element 0 has 1 bytes"},
		{"bad size", func(g *GroupWriter) error {
			return g.SetAttr("o", &Array{DType: DType{Kind: Int32, Size: 8}, Shape: []int{1}, Data: []int32{1}})
		}, "with size 8 (want 4)"},
		{"invalid kind", func(g *GroupWriter) error {
			return g.SetAttr("o", &Array{DType: DType{Kind: Invalid}, Data: []int32{1}})
		}, "cannot write dtype invalid"},
		{"attribute over 64 KiB", func(g *GroupWriter) error { return g.SetAttr("layer_names", FixedStrings(big)) },
			"split it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := NewWriter()
			g, _ := w.Root().CreateGroup("g")
			if _, err := g.CreateGroup("dense"); err != nil {
				t.Fatal(err)
			}
			if err := g.SetAttr("a", f32); err != nil {
				t.Fatal(err)
			}
			before := wtBytes(t, w)
			err := c.do(g)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "/g") && !strings.Contains(err.Error(), `"g"`) {
				t.Errorf("error %q does not name the group", err)
			}
			// A failed call leaves the file unchanged.
			if after := wtBytes(t, w); !bytes.Equal(before, after) {
				t.Error("failed call changed the Writer")
			}
		})
	}
}

func TestWriteToChangedData(t *testing.T) {
	w := NewWriter()
	v := Float32Array([]int{2}, []float32{1, 2})
	if _, err := w.Root().CreateDataset("x", v); err != nil {
		t.Fatal(err)
	}
	v.Data = []float32{1}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err == nil || !strings.Contains(err.Error(), "dataset /x") {
		t.Fatalf("WriteTo after the data shrank: %v", err)
	}
}

func TestWriteBFloat16Marker(t *testing.T) {
	w := NewWriter()
	d, err := w.Root().CreateDataset("k", &Array{DType: DType{Kind: BFloat16}, Shape: []int{1}, Data: []uint16{0x3f80}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetAttr("dtype", StringAttr("float32")); err == nil {
		t.Error("dtype=float32 on a bfloat16 dataset was accepted")
	}
	if err := d.SetAttr("dtype", StringAttr("bfloat16")); err != nil {
		t.Errorf("copying Keras's dtype=bfloat16 attribute: %v", err)
	}
	if err := d.SetAttr("other", StringAttr("x")); err != nil {
		t.Fatal(err)
	}
	b := wtBytes(t, w)
	if n := bytes.Count(b, []byte("bfloat16")); n != 1 {
		t.Errorf(`dtype="bfloat16" marker appears %d times, want once`, n)
	}
}
