package h5

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The encoders are checked against testdata/written/h5py_reference.h5,
// written by h5py (make_h5py_reference.py): each encoding that holds no
// file address must occur in that file byte for byte.

func wtReference(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/written/h5py_reference.h5")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wtMessageBytes encodes messages as they appear in a v1 object header.
func wtMessageBytes(msgs ...writerMessage) []byte {
	return writerObjectHeader(msgs)[writerHeaderPrefix:]
}

func TestWriterDatasetMessagesMatchH5py(t *testing.T) {
	ref := wtReference(t)
	shape23 := []int{2, 3}
	cases := []struct {
		name  string
		dt    DType
		shape []int
	}{
		{"i1", DType{Kind: Int8}, shape23},
		{"i2", DType{Kind: Int16}, shape23},
		{"i4", DType{Kind: Int32}, shape23},
		{"i8", DType{Kind: Int64}, shape23},
		{"u1", DType{Kind: Uint8}, shape23},
		{"u2", DType{Kind: Uint16}, shape23},
		{"u4", DType{Kind: Uint32}, shape23},
		{"u8", DType{Kind: Uint64}, shape23},
		{"f2", DType{Kind: Float16}, shape23},
		{"f4", DType{Kind: Float32}, shape23},
		{"f8", DType{Kind: Float64}, shape23},
		{"bool", DType{Kind: Bool}, []int{3}},
		{"bfloat16", DType{Kind: BFloat16}, []int{3}},
		{"opaque", DType{Kind: Opaque, Size: 3}, []int{2}},
		{"fixed", DType{Kind: String, Size: 3}, []int{2}},
		{"vlen", DType{Kind: String, VarLen: true, UTF8: true}, []int{2}},
		{"scalar", DType{Kind: Int64}, nil},
		{"empty", DType{Kind: Float32}, []int{0, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			varLen := c.dt.Kind == String && c.dt.VarLen
			msgs := wtMessageBytes(
				writerMessage{typ: writerMsgDataspace, data: writerDataspace(c.shape)},
				writerMessage{typ: writerMsgDatatype, flags: writerMsgConstant, data: writerDatatype(c.dt)},
				writerMessage{typ: writerMsgFillValue, flags: writerMsgConstant, data: writerFillValue(varLen)})
			if !bytes.Contains(ref, msgs) {
				t.Errorf("dataspace+datatype+fill value messages not in the h5py file:\n% x", msgs)
			}
			n := 1
			for _, d := range c.shape {
				n *= d
			}
			size := uint64(n * writerElemSize(c.dt))
			addr := writerUndef
			if size > 0 {
				// Find the address h5py chose: the layout follows the fill value.
				i := bytes.Index(ref, msgs)
				addr = le64(ref[i+len(msgs)+10:])
			}
			layout := wtMessageBytes(writerMessage{typ: writerMsgLayout, data: writerLayout(addr, size)})
			if !bytes.Contains(ref, layout) {
				t.Errorf("layout message not in the h5py file:\n% x", layout)
			}
		})
	}
}

func le64(b []byte) uint64 { return writerLE.Uint64(b) }

func TestWriterAttributesMatchH5py(t *testing.T) {
	ref := wtReference(t)
	inline := []struct {
		name string
		v    *Array
	}{
		{"empty_list", &Array{DType: DType{Kind: Float64}, Shape: []int{0}, Data: []float64{}}},
		{"layer_names", FixedStrings([]string{"dense", "dense_1"})},
		{"floats", Float32Array([]int{2}, []float32{1.5, -2})},
		{"flag", &Array{DType: DType{Kind: Bool}, Shape: []int{2}, Data: []bool{true, false}}},
	}
	for _, c := range inline {
		data := writerAppendElements(nil, c.v, 0, c.v.Len(), nil, nil)
		msg := wtMessageBytes(writerMessage{typ: writerMsgAttribute, data: writerAttribute(c.name, c.v, data)})
		if !bytes.Contains(ref, msg) {
			t.Errorf("attribute %s not in the h5py file:\n% x", c.name, msg)
		}
		if got, want := writerAttrMessageSize(c.name, c.v), len(msg)-8; got != want {
			t.Errorf("attribute %s: writerAttrMessageSize = %d, encoded %d", c.name, got, want)
		}
	}
	// Variable-length strings: everything up to the heap IDs matches.
	for _, c := range []struct {
		name string
		v    *Array
	}{
		{"model_config", StringAttr(`{"class_name": "Sequential"}`)},
		{"names", &Array{DType: DType{Kind: String, VarLen: true, UTF8: true}, Shape: []int{2}, Data: []string{"x", "yy"}}},
		{"dtype", StringAttr("bfloat16")},
	} {
		refs := make([]writerHeapRef, c.v.Len())
		data := writerAppendElements(nil, c.v, 0, c.v.Len(), refs, []*writerGcol{{}})
		msg := wtMessageBytes(writerMessage{typ: writerMsgAttribute, data: writerAttribute(c.name, c.v, data)})
		prefix := msg[:len(msg)-len(data)]
		if !bytes.Contains(ref, prefix) {
			t.Errorf("attribute %s header not in the h5py file:\n% x", c.name, prefix)
		}
	}
	// Every string h5py stored sits in a global heap object as we encode it.
	g := &writerGcol{size: writerGcolMinSize, items: []string{`{"class_name": "Sequential"}`}}
	obj := writerGcolBytes(g)[writerGcolHeaderSize : writerGcolHeaderSize+writerGcolObjHeader+32]
	if !bytes.Contains(ref, obj[4:]) { // the object index depends on insertion order
		t.Errorf("global heap object not in the h5py file:\n% x", obj)
	}
}

func TestWriterSuperblockMatchesH5py(t *testing.T) {
	ref := wtReference(t)
	sb := writerSuperblock(uint64(len(ref)), 0, 0, 0)
	if len(sb) != writerSuperblockSize {
		t.Fatalf("superblock is %d bytes, want %d", len(sb), writerSuperblockSize)
	}
	// Everything before the root symbol table entry's addresses matches;
	// the end-of-file address is the file's length in both.
	if !bytes.Equal(sb[:0x40], ref[:0x40]) {
		t.Errorf("superblock differs from h5py's:\n got % x\nwant % x", sb[:0x40], ref[:0x40])
	}
	if !bytes.Equal(sb[0x48:0x50], ref[0x48:0x50]) {
		t.Errorf("root entry cache type differs: % x vs % x", sb[0x48:0x50], ref[0x48:0x50])
	}
}

func TestWriterStructureSizes(t *testing.T) {
	if n := len(writerBtreeNode(0, writerUndef, writerUndef, []uint64{0}, nil)); n != 544 {
		t.Errorf("B-tree node is %d bytes, h5py's are 544", n)
	}
	keys := make([]uint64, writerBtreeCap+1)
	children := make([]uint64, writerBtreeCap)
	if n := len(writerBtreeNode(1, 1, 2, keys, children)); n != 544 {
		t.Errorf("full B-tree node is %d bytes, want 544", n)
	}
	if writerSnodSize != 328 {
		t.Errorf("symbol table node is %d bytes, h5py's are 328", writerSnodSize)
	}
	if n := len(writerLocalHeap(100, 88)); n != writerHeapHeaderSize {
		t.Errorf("local heap header is %d bytes", n)
	}
	e := writerSymbolEntry(nil, 8, 800, true, 840, 1384)
	want := "08 00 00 00 00 00 00 00 20 03 00 00 00 00 00 00 01 00 00 00 00 00 00 00 48 03 00 00 00 00 00 00 68 05 00 00 00 00 00 00"
	if got := fmt.Sprintf("% x", e); got != want {
		t.Errorf("group symbol entry\n got %s\nwant %s", got, want)
	}
	if e := writerSymbolEntry(nil, 8, 800, false, 0, 0); len(e) != 40 || e[16] != 0 {
		t.Errorf("dataset symbol entry % x", e)
	}
	msgs := []writerMessage{{typ: writerMsgSymbolTable, data: writerSymbolTableMsg(0x88, 0x2a8)}}
	h := writerObjectHeader(msgs)
	// h5py's root group header with no attributes (one symbol table message).
	want = "01 00 01 00 01 00 00 00 18 00 00 00 00 00 00 00 11 00 10 00 00 00 00 00 88 00 00 00 00 00 00 00 a8 02 00 00 00 00 00 00"
	if got := fmt.Sprintf("% x", h); got != want {
		t.Errorf("group header\n got %s\nwant %s", got, want)
	}
}

func TestWriterGlobalHeap(t *testing.T) {
	p := &writerPlan{}
	long := strings.Repeat("j", 70000)
	refs := p.addStrings([]string{"ab", "", long, "c"})
	if len(p.gcols) != 3 {
		t.Fatalf("%d collections, want 3 (small, the long string alone, small)", len(p.gcols))
	}
	if g := p.gcols[1]; g.size != writerGcolHeaderSize+writerGcolObjHeader+70000 || len(g.items) != 1 {
		t.Errorf("long string's collection has size %d and %d items", g.size, len(g.items))
	}
	if refs[0] != (writerHeapRef{0, 1, 2}) || refs[1] != (writerHeapRef{0, 2, 0}) || refs[2] != (writerHeapRef{1, 1, 70000}) || refs[3] != (writerHeapRef{2, 1, 1}) {
		t.Errorf("refs %v", refs)
	}
	b := writerGcolBytes(p.gcols[0])
	if uint64(len(b)) != writerGcolMinSize || string(b[:4]) != "GCOL" {
		t.Fatalf("collection is %d bytes, starts %q", len(b), b[:4])
	}
	// Objects 1 ("ab", padded to 8) and 2 (""), then free space as object 0.
	free := b[16+24+16:]
	if idx, size := writerLE.Uint16(free), writerLE.Uint64(free[8:]); idx != 0 || size != writerGcolMinSize-16-24-16 {
		t.Errorf("free space object: index %d size %d", idx, size)
	}
	if full := writerGcolBytes(p.gcols[1]); uint64(len(full)) != p.gcols[1].size {
		t.Errorf("exactly full collection encodes to %d bytes", len(full))
	}

	// Empty strings still take a 16-byte object header each: 255 fit in
	// a 4 KiB collection (the 16-bit object index never runs out).
	p = &writerPlan{}
	refs = p.addStrings(make([]string, 1000))
	if len(p.gcols) != 4 || refs[254] != (writerHeapRef{0, 255, 0}) || refs[255] != (writerHeapRef{1, 1, 0}) {
		t.Errorf("%d collections for 1000 empty strings; refs %v %v", len(p.gcols), refs[254], refs[255])
	}
}

func TestWriterDatatypeEncodings(t *testing.T) {
	// Opaque tags are padded to 8 bytes; the padded length is in byte 1.
	b := writerDatatype(DType{Kind: Opaque, Size: 2, Tag: "kerasrun:tag"})
	if b[0] != 0x15 || b[1] != 16 || len(b) != 8+16 || string(b[8:20]) != "kerasrun:tag" {
		t.Errorf("tagged opaque: % x", b)
	}
	// Fixed UTF-8 strings keep NULLPAD and set the character set.
	if b := writerDatatype(DType{Kind: String, Size: 5, UTF8: true}); b[1] != 0x11 {
		t.Errorf("fixed UTF-8 string bit field %#x, want 0x11", b[1])
	}
	if b := writerDatatype(DType{Kind: String, VarLen: true}); b[2] != 0 {
		t.Errorf("vlen ASCII string character set %#x, want 0", b[2])
	}
}
