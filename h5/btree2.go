package h5

import "math/bits"

// btree2 is a version 2 B-tree header.
type btree2 struct {
	addr     uint64
	typ      int
	nodeSize uint64
	recSize  int
	depth    int
	root     uint64
	rootRecs int
	// Per depth: max records in a node and bytes of the record counts.
	maxRecs    []int
	cumMaxSize []int
	maxRecSize int
}

// limitEncSize is the number of bytes HDF5 uses to encode values up to n.
func limitEncSize(n uint64) int {
	if n == 0 {
		return 1
	}
	return (bits.Len64(n)-1)/8 + 1
}

func (f *File) readBTree2(addr uint64) (*btree2, error) {
	n := uint64(4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + f.offsetSize + 2 + f.lengthSize + 4)
	b, err := f.readBlock(addr, n, "v2 B-tree header")
	if err != nil {
		return nil, err
	}
	c := f.newCursor(b, addr, "v2 B-tree header")
	c.signature("BTHD")
	if v := c.u8(); c.err == nil && v != 0 {
		c.fail("version %d", v)
	}
	t := &btree2{addr: addr}
	t.typ = int(c.u8())
	t.nodeSize = uint64(c.u32())
	t.recSize = int(c.u16())
	t.depth = int(c.u16())
	c.skip(2) // split, merge percents
	t.root = c.addr()
	t.rootRecs = int(c.u16())
	c.length() // total records
	if c.err != nil {
		return nil, c.err
	}
	if err := f.verifyChecksum(b, c.pos, addr, "v2 B-tree header"); err != nil {
		return nil, err
	}
	if t.recSize == 0 || t.nodeSize < 16 || t.nodeSize > 1<<24 || t.depth > 16 {
		return nil, f.formatErr(int64(addr), "v2 B-tree header: bad node size %d, record size %d or depth %d", t.nodeSize, t.recSize, t.depth)
	}
	const prefix = 10 // signature, version, type, checksum
	leafMax := int(t.nodeSize-prefix) / t.recSize
	if leafMax <= 0 {
		return nil, f.formatErr(int64(addr), "v2 B-tree nodes hold no records")
	}
	t.maxRecSize = limitEncSize(uint64(leafMax))
	t.maxRecs = []int{leafMax}
	cumMax := []uint64{uint64(leafMax)}
	t.cumMaxSize = []int{0}
	for d := 1; d <= t.depth; d++ {
		ptr := f.offsetSize + t.maxRecSize
		if d > 1 {
			ptr += t.cumMaxSize[d-1]
		}
		m := (int(t.nodeSize) - (prefix + ptr)) / (t.recSize + ptr)
		if m <= 0 {
			return nil, f.formatErr(int64(addr), "v2 B-tree internal nodes hold no records")
		}
		t.maxRecs = append(t.maxRecs, m)
		cm := (uint64(m)+1)*cumMax[d-1] + uint64(m)
		if cm < cumMax[d-1] || cm > 1<<56 {
			cm = 1 << 56
		}
		cumMax = append(cumMax, cm)
		t.cumMaxSize = append(t.cumMaxSize, limitEncSize(cm))
	}
	return t, nil
}

// walkBTree2 calls visit for every record of the v2 B-tree at addr, in key
// order, until visit returns false.
func (f *File) walkBTree2(addr uint64, visit func(typ int, rec []byte, at uint64) bool) error {
	if addr == undefAddr {
		return nil
	}
	t, err := f.readBTree2(addr)
	if err != nil {
		return err
	}
	if t.root == undefAddr || t.rootRecs == 0 {
		return nil
	}
	// Distinct nodes occupy distinct bytes, so a tree cannot have more
	// nodes than the file holds; this bounds DAGs and cycles.
	budget := int(uint64(f.size)/t.nodeSize) + 1
	_, err = f.walkBTree2Node(t, t.root, t.rootRecs, t.depth, visit, &budget)
	return err
}

func (f *File) walkBTree2Node(t *btree2, addr uint64, nrec, depth int, visit func(int, []byte, uint64) bool, budget *int) (bool, error) {
	*budget--
	if *budget < 0 {
		return false, f.formatErr(int64(t.addr), "v2 B-tree has too many nodes")
	}
	if nrec > t.maxRecs[depth] {
		return false, f.formatErr(int64(addr), "v2 B-tree node claims %d records, at most %d fit", nrec, t.maxRecs[depth])
	}
	b, err := f.readBlock(addr, t.nodeSize, "v2 B-tree node")
	if err != nil {
		return false, err
	}
	c := f.newCursor(b, addr, "v2 B-tree node")
	if depth == 0 {
		c.signature("BTLF")
	} else {
		c.signature("BTIN")
	}
	c.u8() // version
	if typ := int(c.u8()); c.err == nil && typ != t.typ {
		c.fail("node type %d in a type-%d tree", typ, t.typ)
	}
	recStart := c.pos
	c.skip(nrec * t.recSize)
	type child struct {
		addr uint64
		n    int
	}
	var children []child
	if depth > 0 {
		for i := 0; i <= nrec; i++ {
			a := c.addr()
			n := int(c.uvar(t.maxRecSize))
			if depth > 1 {
				c.uvar(t.cumMaxSize[depth-1])
			}
			children = append(children, child{a, n})
		}
	}
	if c.err != nil {
		return false, c.err
	}
	if err := f.verifyChecksum(b, c.pos, addr, "v2 B-tree node"); err != nil {
		return false, err
	}
	for i := 0; i <= nrec; i++ {
		if depth > 0 {
			more, err := f.walkBTree2Node(t, children[i].addr, children[i].n, depth-1, visit, budget)
			if err != nil || !more {
				return more, err
			}
		}
		if i < nrec {
			at := recStart + i*t.recSize
			if !visit(t.typ, b[at:at+t.recSize], addr+uint64(at)) {
				return false, nil
			}
		}
	}
	return true, nil
}
