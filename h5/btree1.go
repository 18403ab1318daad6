package h5

// walkBTree1 visits the leaf-level children of the version 1 B-tree at
// addr: symbol-table node addresses (node type 0) or chunk addresses with
// their keys (node type 1). keySize is the size of one key. Levels must
// strictly decrease and no node is visited twice, so cycles are refused.
func (f *File) walkBTree1(addr uint64, nodeType int, keySize int, visit func(key []byte, keyAt uint64, child uint64) error) error {
	seen := map[uint64]bool{}
	return f.walkBTree1Node(addr, nodeType, keySize, -1, seen, visit)
}

func (f *File) walkBTree1Node(addr uint64, nodeType, keySize, wantLevel int, seen map[uint64]bool, visit func([]byte, uint64, uint64) error) error {
	if seen[addr] {
		return f.formatErr(int64(addr), "v1 B-tree node visited twice (cycle)")
	}
	seen[addr] = true
	if len(seen) > 1<<22 {
		return f.formatErr(int64(addr), "v1 B-tree has too many nodes")
	}
	hdrSize := 8 + 2*f.offsetSize
	pre, err := f.readBlock(addr, uint64(hdrSize), "v1 B-tree node")
	if err != nil {
		return err
	}
	c := f.newCursor(pre, addr, "v1 B-tree node")
	c.signature("TREE")
	typ := int(c.u8())
	level := int(c.u8())
	entries := int(c.u16())
	if c.err != nil {
		return c.err
	}
	if typ != nodeType {
		return f.formatErr(int64(addr)+4, "v1 B-tree node type %d, want %d", typ, nodeType)
	}
	if wantLevel >= 0 && level != wantLevel {
		return f.formatErr(int64(addr)+5, "v1 B-tree node at level %d, want %d", level, wantLevel)
	}
	body := uint64(entries)*uint64(keySize+f.offsetSize) + uint64(keySize)
	b, err := f.readBlock(addr+uint64(hdrSize), body, "v1 B-tree node")
	if err != nil {
		return err
	}
	base := addr + uint64(hdrSize)
	c = f.newCursor(b, base, "v1 B-tree node")
	for i := 0; i < entries; i++ {
		keyAt := base + uint64(c.pos)
		key := c.bytes(keySize)
		child := c.addr()
		if c.err != nil {
			return c.err
		}
		if level > 0 {
			if err := f.walkBTree1Node(child, nodeType, keySize, level-1, seen, visit); err != nil {
				return err
			}
			continue
		}
		if err := visit(key, keyAt, child); err != nil {
			return err
		}
	}
	return nil
}
