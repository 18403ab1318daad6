package h5

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestSuperblockV1 reads a minimal file with a version-1 superblock (which
// h5py cannot write: it needs a non-default indexed-storage K), built here
// byte by byte: an empty root group with its B-tree and local heap.
func TestSuperblockV1(t *testing.T) {
	b := make([]byte, 448)
	le := binary.LittleEndian
	undef := ^uint64(0)
	copy(b, hdf5Signature)
	b[8] = 1                 // superblock version
	b[13], b[14] = 8, 8      // sizes of offsets and lengths
	le.PutUint16(b[16:], 4)  // group leaf K
	le.PutUint16(b[18:], 16) // group internal K
	le.PutUint16(b[24:], 32) // indexed storage K (version 1 only)
	le.PutUint64(b[28:], 0)  // base address
	le.PutUint64(b[36:], undef)
	le.PutUint64(b[44:], 448) // end of file
	le.PutUint64(b[52:], undef)
	le.PutUint64(b[60:], 0)   // root entry: name offset
	le.PutUint64(b[68:], 200) // root object header
	le.PutUint32(b[76:], 1)   // cache type: symbol table
	le.PutUint64(b[84:], 300)
	le.PutUint64(b[92:], 400)
	// Root object header, version 1, one symbol table message.
	b[200] = 1
	le.PutUint16(b[202:], 1)
	le.PutUint32(b[204:], 1)
	le.PutUint32(b[208:], 24)
	le.PutUint16(b[216:], msgSymbolTable)
	le.PutUint16(b[218:], 16)
	le.PutUint64(b[224:], 300)
	le.PutUint64(b[232:], 400)
	// Empty group B-tree.
	copy(b[300:], "TREE")
	le.PutUint64(b[308:], undef)
	le.PutUint64(b[316:], undef)
	// Local heap with a 16-byte data segment.
	copy(b[400:], "HEAP")
	le.PutUint64(b[408:], 16)
	le.PutUint64(b[416:], undef)
	le.PutUint64(b[424:], 432)

	f, err := NewFile(bytes.NewReader(b), int64(len(b)), "v1.h5")
	if err != nil {
		t.Fatal(err)
	}
	if f.sbVersion != 1 || f.rootAddr != 200 {
		t.Fatalf("superblock version %d, root at %d", f.sbVersion, f.rootAddr)
	}
	kids, err := f.Root().Children()
	if err != nil || len(kids) != 0 {
		t.Fatalf("Children = %q, %v; want none", kids, err)
	}
	names, err := f.Root().AttrNames()
	if err != nil || len(names) != 0 {
		t.Fatalf("AttrNames = %q, %v; want none", names, err)
	}
}
