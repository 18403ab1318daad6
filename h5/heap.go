package h5

import (
	"bytes"
	"encoding/binary"
)

// localHeap is an old-style group's name heap.
type localHeap struct {
	addr uint64
	data []byte
	at   uint64 // file address of data
}

func (f *File) readLocalHeap(addr uint64) (*localHeap, error) {
	pre, err := f.readBlock(addr, uint64(8+2*f.lengthSize+f.offsetSize), "local heap")
	if err != nil {
		return nil, err
	}
	c := f.newCursor(pre, addr, "local heap")
	c.signature("HEAP")
	if v := c.u8(); c.err == nil && v != 0 {
		c.fail("version %d", v)
	}
	c.skip(3)
	size := c.length()
	c.length() // free list
	dataAddr := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	data, err := f.readBlock(dataAddr, size, "local heap data")
	if err != nil {
		return nil, err
	}
	return &localHeap{addr: addr, data: data, at: dataAddr}, nil
}

// str returns the NUL-terminated string at offset off.
func (h *localHeap) str(f *File, off uint64) (string, error) {
	if off >= uint64(len(h.data)) {
		return "", f.formatErr(int64(h.addr), "local heap offset %d beyond heap size %d", off, len(h.data))
	}
	rest := h.data[off:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", f.formatErr(int64(h.at+off), "unterminated string in local heap")
	}
	return string(rest[:i]), nil
}

// globalHeap is one global heap collection: object index -> bytes.
type globalHeap struct {
	objects map[uint32][]byte
}

type gheapEntry struct {
	heap *globalHeap
	err  error
}

func (f *File) globalHeap(addr uint64) (*globalHeap, error) {
	f.mu.Lock()
	e, ok := f.gheaps[addr]
	f.mu.Unlock()
	if ok {
		return e.heap, e.err
	}
	g, err := f.readGlobalHeap(addr)
	f.mu.Lock()
	f.gheaps[addr] = gheapEntry{g, err} // failures are remembered too
	f.mu.Unlock()
	return g, err
}

func (f *File) readGlobalHeap(addr uint64) (*globalHeap, error) {
	pre, err := f.readBlock(addr, uint64(8+f.lengthSize), "global heap collection")
	if err != nil {
		return nil, err
	}
	c := f.newCursor(pre, addr, "global heap collection")
	c.signature("GCOL")
	if v := c.u8(); c.err == nil && v != 1 {
		c.fail("version %d", v)
	}
	c.skip(3)
	size := c.length()
	if c.err != nil {
		return nil, c.err
	}
	b, err := f.readBlock(addr, size, "global heap collection")
	if err != nil {
		return nil, err
	}
	g := &globalHeap{objects: map[uint32][]byte{}}
	c = f.newCursor(b, addr, "global heap collection")
	c.skip(8 + f.lengthSize)
	hdr := 8 + f.lengthSize
	for c.err == nil && len(b)-c.pos >= hdr {
		idx := c.u16()
		c.skip(6) // reference count, reserved
		n := c.length()
		if idx == 0 { // free space: the rest of the collection
			break
		}
		if n > uint64(len(b)-c.pos) {
			return nil, f.formatErr(c.offset(), "global heap object %d of %d bytes overruns its collection", idx, n)
		}
		g.objects[uint32(idx)] = c.bytes(int(n))
		c.skip(int((8 - n%8) % 8))
		c.err = nil // the last object's padding may coincide with the end
	}
	return g, nil
}

// vlenString resolves a variable-length string element: a 4-byte length,
// a collection address and a 4-byte object index.
func (f *File) vlenString(elem []byte, at uint64) (string, error) {
	n := binary.LittleEndian.Uint32(elem)
	if n == 0 {
		return "", nil
	}
	c := f.newCursor(elem[4:], at+4, "variable-length string")
	coll := c.addr()
	idx := c.u32()
	if c.err != nil {
		return "", c.err
	}
	if coll == undefAddr {
		return "", nil
	}
	g, err := f.globalHeap(coll)
	if err != nil {
		return "", err
	}
	obj, ok := g.objects[idx]
	if !ok {
		return "", f.formatErr(int64(coll), "global heap object %d not found", idx)
	}
	if uint64(n) > uint64(len(obj)) {
		return "", f.formatErr(int64(coll), "variable-length string of %d bytes in a %d-byte heap object", n, len(obj))
	}
	return string(obj[:n]), nil
}
