package h5

import (
	"encoding/binary"
	"fmt"
)

// undefAddr is HDF5's "undefined address" (all bits set), normalized to
// 64 bits whatever the file's offset size.
const undefAddr = ^uint64(0)

// maxMetaBlock bounds any single metadata structure read into memory
// (object header chunk, heap, B-tree node). Real files stay far below.
const maxMetaBlock = 1 << 30

// readBlock reads n bytes at file address off, checking both against the
// file's size.
func (f *File) readBlock(off uint64, n uint64, what string) ([]byte, error) {
	if off == undefAddr {
		return nil, f.formatErr(-1, "%s has an undefined address", what)
	}
	if off > uint64(f.size) || n > uint64(f.size)-off {
		return nil, f.formatErr(int64(min(off, uint64(f.size))), "%s of %d bytes at %d extends beyond the end of the file (%d bytes)", what, n, off, f.size)
	}
	if n > maxMetaBlock {
		return nil, f.formatErr(int64(off), "%s of %d bytes is too large", what, n)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, int64(off)); err != nil {
		return nil, f.formatErr(int64(off), "reading %s: %v", what, err)
	}
	return b, nil
}

// checkRange reports whether n bytes at off lie inside the file.
func (f *File) checkRange(off, n uint64, what string) error {
	if off == undefAddr || off > uint64(f.size) || n > uint64(f.size)-off {
		return f.formatErr(-1, "%s (%d bytes at address %d) extends beyond the end of the file (%d bytes)", what, n, int64(off), f.size)
	}
	return nil
}

// cursor decodes little-endian fields from a block read at a known file
// offset. Errors are sticky: after the first short read every accessor
// returns zero and err holds a FormatError naming the offset.
type cursor struct {
	f    *File
	b    []byte
	base uint64 // file address of b[0]
	pos  int
	what string
	err  error
}

func (f *File) newCursor(b []byte, base uint64, what string) *cursor {
	return &cursor{f: f, b: b, base: base, what: what}
}

func (c *cursor) offset() int64 { return int64(c.base) + int64(c.pos) }

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = c.f.formatErr(c.offset(), "%s: %s", c.what, fmt.Sprintf(format, args...))
	}
}

func (c *cursor) need(n int) bool {
	if c.err != nil {
		return false
	}
	if n < 0 || n > len(c.b)-c.pos {
		c.fail("truncated (need %d bytes, have %d)", n, len(c.b)-c.pos)
		return false
	}
	return true
}

func (c *cursor) bytes(n int) []byte {
	if !c.need(n) {
		return nil
	}
	b := c.b[c.pos : c.pos+n]
	c.pos += n
	return b
}

func (c *cursor) skip(n int) { c.bytes(n) }

func (c *cursor) u8() uint8 {
	if !c.need(1) {
		return 0
	}
	v := c.b[c.pos]
	c.pos++
	return v
}

func (c *cursor) u16() uint16 {
	if !c.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(c.b[c.pos:])
	c.pos += 2
	return v
}

func (c *cursor) u32() uint32 {
	if !c.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(c.b[c.pos:])
	c.pos += 4
	return v
}

func (c *cursor) u64() uint64 {
	if !c.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(c.b[c.pos:])
	c.pos += 8
	return v
}

// uvar decodes an n-byte little-endian unsigned integer (n <= 8).
func (c *cursor) uvar(n int) uint64 {
	if n > 8 {
		c.fail("integer field of %d bytes", n)
		return 0
	}
	b := c.bytes(n)
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// addr decodes a file address, relative to the base address, returning
// undefAddr for the undefined address.
func (c *cursor) addr() uint64 {
	n := c.f.offsetSize
	v := c.uvar(n)
	if c.err != nil {
		return undefAddr
	}
	if n < 8 && v == 1<<(8*n)-1 || v == undefAddr {
		return undefAddr
	}
	a := v + c.f.baseAddr
	if a < v {
		return undefAddr
	}
	return a
}

// length decodes a "size of lengths" field.
func (c *cursor) length() uint64 { return c.uvar(c.f.lengthSize) }

// signature checks a 4-byte structure signature.
func (c *cursor) signature(sig string) {
	b := c.bytes(len(sig))
	if c.err == nil && string(b) != sig {
		c.fail("bad signature %q, want %q", b, sig)
	}
}

// verifyChecksum checks the Jenkins lookup3 checksum HDF5 stores after the
// bytes b[:n] of a structure read at base.
func (f *File) verifyChecksum(b []byte, n int, base uint64, what string) error {
	if n < 0 || n+4 > len(b) {
		return f.formatErr(int64(base), "%s: truncated before checksum", what)
	}
	want := binary.LittleEndian.Uint32(b[n:])
	if got := lookup3(b[:n], 0); got != want {
		return f.formatErr(int64(base)+int64(n), "%s: checksum mismatch (stored %#08x, computed %#08x)", what, want, got)
	}
	return nil
}

// lookup3 is Bob Jenkins's hashlittle, the checksum of HDF5 metadata.
func lookup3(k []byte, initval uint32) uint32 {
	rot := func(x uint32, n uint) uint32 { return x<<n | x>>(32-n) }
	length := len(k)
	a := 0xdeadbeef + uint32(length) + initval
	b, c := a, a
	for length > 12 {
		a += binary.LittleEndian.Uint32(k[0:])
		b += binary.LittleEndian.Uint32(k[4:])
		c += binary.LittleEndian.Uint32(k[8:])
		a -= c
		a ^= rot(c, 4)
		c += b
		b -= a
		b ^= rot(a, 6)
		a += c
		c -= b
		c ^= rot(b, 8)
		b += a
		a -= c
		a ^= rot(c, 16)
		c += b
		b -= a
		b ^= rot(a, 19)
		a += c
		c -= b
		c ^= rot(b, 4)
		b += a
		length -= 12
		k = k[12:]
	}
	if length == 0 {
		return c
	}
	var tail [12]byte
	copy(tail[:], k[:length])
	a += binary.LittleEndian.Uint32(tail[0:])
	b += binary.LittleEndian.Uint32(tail[4:])
	c += binary.LittleEndian.Uint32(tail[8:])
	c ^= b
	c -= rot(b, 14)
	a ^= c
	a -= rot(c, 11)
	b ^= a
	b -= rot(a, 25)
	c ^= b
	c -= rot(b, 16)
	a ^= c
	a -= rot(c, 4)
	b ^= a
	b -= rot(a, 14)
	c ^= b
	c -= rot(b, 24)
	return c
}
