package h5

import "math/bits"

// fractalHeap is the header of a fractal heap, which holds the links and
// attributes of objects with dense storage.
type fractalHeap struct {
	addr         uint64
	idLen        int
	filterLen    int
	hugeBTree    uint64
	tableWidth   int
	startBlock   uint64
	maxDirect    uint64
	maxHeapBits  int
	rootAddr     uint64
	rootRows     int
	checksumDB   bool
	offSize      int // bytes of a heap offset in a managed object ID
	lenSize      int // bytes of a length in a managed object ID
	maxDirectRow int
}

func (f *File) readFractalHeap(addr uint64) (*fractalHeap, error) {
	n := uint64(4 + 1 + 2 + 2 + 1 + 4 + 12*f.lengthSize + 3*f.offsetSize + 2 + 2 + 2 + 2 + 4)
	b, err := f.readBlock(addr, min(n+64, uint64(f.size)-min(addr, uint64(f.size))), "fractal heap header")
	if err != nil {
		return nil, err
	}
	c := f.newCursor(b, addr, "fractal heap header")
	c.signature("FRHP")
	if v := c.u8(); c.err == nil && v != 0 {
		c.fail("version %d", v)
	}
	h := &fractalHeap{addr: addr}
	h.idLen = int(c.u16())
	h.filterLen = int(c.u16())
	flags := c.u8()
	h.checksumDB = flags&2 != 0
	maxMan := c.u32()
	c.length() // next huge ID
	h.hugeBTree = c.addr()
	c.length() // free space
	c.addr()   // free space manager
	c.length() // managed space
	c.length() // allocated managed space
	c.length() // direct block allocation iterator
	c.length() // managed objects
	c.length() // huge objects size
	c.length() // huge objects count
	c.length() // tiny objects size
	c.length() // tiny objects count
	h.tableWidth = int(c.u16())
	h.startBlock = c.length()
	h.maxDirect = c.length()
	h.maxHeapBits = int(c.u16())
	c.u16() // starting rows
	h.rootAddr = c.addr()
	h.rootRows = int(c.u16())
	if h.filterLen > 0 {
		c.length()
		c.u32()
		c.skip(h.filterLen)
	}
	if c.err != nil {
		return nil, c.err
	}
	if err := f.verifyChecksum(b, c.pos, addr, "fractal heap header"); err != nil {
		return nil, err
	}
	pow2 := func(x uint64) bool { return x != 0 && x&(x-1) == 0 }
	if h.tableWidth == 0 || h.tableWidth > 1<<12 || !pow2(h.startBlock) || !pow2(h.maxDirect) ||
		h.maxDirect < h.startBlock || h.maxHeapBits == 0 || h.maxHeapBits > 64 || h.rootRows > 64 {
		return nil, f.formatErr(int64(addr), "fractal heap header: bad table parameters")
	}
	if h.filterLen > 0 {
		return nil, f.unsupported("filtered fractal heap")
	}
	h.offSize = (h.maxHeapBits + 7) / 8
	h.lenSize = min((bits.Len64(h.maxDirect-1)+7)/8, (bits.Len64(uint64(maxMan))+7)/8)
	h.maxDirectRow = bits.Len64(h.maxDirect) - bits.Len64(h.startBlock) + 2
	return h, nil
}

// rowSize returns the block size of row r of a doubling table.
func (h *fractalHeap) rowSize(r int) uint64 {
	if r <= 1 {
		return h.startBlock
	}
	if r-1 >= 63 {
		return 0
	}
	return h.startBlock << (r - 1)
}

// object returns the bytes of the heap object with the given ID.
func (f *File) heapObject(h *fractalHeap, id []byte) ([]byte, error) {
	if len(id) == 0 {
		return nil, f.formatErr(int64(h.addr), "empty heap ID")
	}
	switch (id[0] >> 4) & 3 {
	case 0: // managed
		c := f.newCursor(id[1:], 0, "fractal heap ID")
		off := c.uvar(h.offSize)
		n := c.uvar(h.lenSize)
		if c.err != nil {
			return nil, c.err
		}
		return f.managedObject(h, off, n)
	case 1: // huge
		return f.hugeObject(h, id[1:])
	case 2: // tiny
		n := int(id[0]&0x0f) + 1
		if n > len(id)-1 {
			return nil, f.formatErr(int64(h.addr), "tiny heap object longer than its ID")
		}
		return id[1 : 1+n], nil
	}
	return nil, f.formatErr(int64(h.addr), "unknown heap ID type")
}

// managedObject finds the object at heap offset off by descending the
// doubling table from the root block.
func (f *File) managedObject(h *fractalHeap, off, n uint64) ([]byte, error) {
	if h.rootAddr == undefAddr {
		return nil, f.formatErr(int64(h.addr), "heap object in an empty fractal heap")
	}
	if h.rootRows == 0 {
		return f.directBlockObject(h, h.rootAddr, 0, h.startBlock, off, n)
	}
	blockAddr, blockOff, rows := h.rootAddr, uint64(0), h.rootRows
	for depth := 0; depth < 16; depth++ {
		ib, err := f.readIndirectBlock(h, blockAddr, rows)
		if err != nil {
			return nil, err
		}
		rel := off - blockOff
		if off < blockOff {
			return nil, f.formatErr(int64(blockAddr), "heap offset %d outside indirect block", off)
		}
		var start uint64
		found := false
		for r := 0; r < rows && !found; r++ {
			size := h.rowSize(r)
			span := size * uint64(h.tableWidth)
			if size == 0 || rel >= start+span {
				start += span
				continue
			}
			col := (rel - start) / size
			if rel < start || col >= uint64(h.tableWidth) {
				return nil, f.formatErr(int64(blockAddr), "heap offset %d outside indirect block", off)
			}
			entry := ib[r*h.tableWidth+int(col)]
			childOff := blockOff + start + col*size
			if entry == undefAddr {
				return nil, f.formatErr(int64(blockAddr), "heap offset %d in an unallocated block", off)
			}
			if r < h.maxDirectRow {
				return f.directBlockObject(h, entry, childOff, size, off, n)
			}
			// A child indirect block of this size has this many rows.
			blockAddr, blockOff = entry, childOff
			rows = bits.Len64(size) - bits.Len64(h.startBlock*uint64(h.tableWidth)) + 1
			found = true
		}
		if !found {
			return nil, f.formatErr(int64(blockAddr), "heap offset %d beyond indirect block", off)
		}
	}
	return nil, f.formatErr(int64(h.addr), "fractal heap nested too deeply")
}

// readIndirectBlock returns the child addresses of an indirect block,
// row by row.
func (f *File) readIndirectBlock(h *fractalHeap, addr uint64, rows int) ([]uint64, error) {
	if rows <= 0 || rows > 64 {
		return nil, f.formatErr(int64(addr), "fractal heap indirect block with %d rows", rows)
	}
	n := 4 + 1 + f.offsetSize + h.offSize + rows*h.tableWidth*f.offsetSize + 4
	b, err := f.readBlock(addr, uint64(n), "fractal heap indirect block")
	if err != nil {
		return nil, err
	}
	c := f.newCursor(b, addr, "fractal heap indirect block")
	c.signature("FHIB")
	c.skip(1 + f.offsetSize + h.offSize)
	entries := make([]uint64, rows*h.tableWidth)
	for i := range entries {
		entries[i] = c.addr()
	}
	if c.err != nil {
		return nil, c.err
	}
	if err := f.verifyChecksum(b, c.pos, addr, "fractal heap indirect block"); err != nil {
		return nil, err
	}
	return entries, nil
}

func (f *File) directBlockObject(h *fractalHeap, addr, blockOff, size, off, n uint64) ([]byte, error) {
	if off < blockOff || off-blockOff > size || n > size-(off-blockOff) {
		return nil, f.formatErr(int64(addr), "heap object (offset %d, %d bytes) outside its direct block", off, n)
	}
	b, err := f.readBlock(addr, size, "fractal heap direct block")
	if err != nil {
		return nil, err
	}
	if len(b) < 5 || string(b[:4]) != "FHDB" {
		return nil, f.formatErr(int64(addr), "fractal heap direct block: bad signature")
	}
	if h.checksumDB {
		hdr := 5 + f.offsetSize + h.offSize
		if hdr+4 > len(b) {
			return nil, f.formatErr(int64(addr), "fractal heap direct block too small")
		}
		// The checksum covers the whole block with the checksum field zeroed.
		want := b[hdr : hdr+4]
		tmp := append([]byte(nil), b...)
		copy(tmp[hdr:hdr+4], []byte{0, 0, 0, 0})
		sum := lookup3(tmp, 0)
		if uint32(want[0])|uint32(want[1])<<8|uint32(want[2])<<16|uint32(want[3])<<24 != sum {
			return nil, f.formatErr(int64(addr), "fractal heap direct block: checksum mismatch")
		}
	}
	rel := off - blockOff
	return b[rel : rel+n], nil
}

// hugeObject resolves a huge object, stored outside the heap's blocks and
// indexed by a v2 B-tree (or addressed directly by the ID).
func (f *File) hugeObject(h *fractalHeap, id []byte) ([]byte, error) {
	if len(id) >= f.offsetSize+f.lengthSize {
		c := f.newCursor(id, 0, "huge heap ID")
		a := c.addr()
		n := c.length()
		if c.err != nil {
			return nil, c.err
		}
		return f.readBlock(a, n, "huge heap object")
	}
	c := f.newCursor(id, 0, "huge heap ID")
	key := c.uvar(min(len(id), 8))
	if c.err != nil {
		return nil, c.err
	}
	var found []byte
	var ferr error
	err := f.walkBTree2(h.hugeBTree, func(typ int, rec []byte, at uint64) bool {
		if typ != 1 {
			ferr = f.unsupported("filtered huge heap objects (B-tree type %d)", typ)
			return false
		}
		rc := f.newCursor(rec, at, "huge object record")
		a := rc.addr()
		n := rc.length()
		k := rc.length()
		if rc.err != nil {
			ferr = rc.err
			return false
		}
		if k == key {
			found, ferr = f.readBlock(a, n, "huge heap object")
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if ferr != nil {
		return nil, ferr
	}
	if found == nil {
		return nil, f.formatErr(int64(h.addr), "huge heap object %d not found", key)
	}
	return found, nil
}
