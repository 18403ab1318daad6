package h5

import (
	"bytes"
	"sort"
)

const (
	linkHard     = 0
	linkSoft     = 1
	linkExternal = 64
)

// link is one named entry of a group.
type link struct {
	name   string
	typ    int
	addr   uint64 // hard links
	target string // soft links
	order  int64
}

// groupLinks returns the links of the group whose object header is at addr,
// in the order h5py lists them: by creation order where the group tracks
// it, else by name.
func (f *File) groupLinks(addr uint64) ([]link, error) {
	f.mu.Lock()
	ls, ok := f.links[addr]
	f.mu.Unlock()
	if ok {
		return ls, nil
	}
	h, err := f.objectHeader(addr)
	if err != nil {
		return nil, err
	}
	ls, err = f.readLinks(h)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.links[addr] = ls
	f.mu.Unlock()
	return ls, nil
}

func isGroupHeader(h *objectHeader) bool {
	return h.has(msgSymbolTable) || h.has(msgLinkInfo) || h.has(msgLink) || h.has(msgGroupInfo)
}

func (f *File) readLinks(h *objectHeader) ([]link, error) {
	if m := h.first(msgSymbolTable); m != nil {
		ls, err := f.readSymbolTable(m)
		if err != nil {
			return nil, err
		}
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].name < ls[j].name })
		return ls, nil
	}
	if !isGroupHeader(h) {
		return nil, f.formatErr(int64(h.addr), "object is not a group")
	}
	var ls []link
	tracked := false
	for _, m := range h.messages {
		if m.typ != msgLink {
			continue
		}
		l, err := f.parseLink(m.data, m.addr)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	if m := h.first(msgLinkInfo); m != nil {
		c := f.newCursor(m.data, m.addr, "link info message")
		if v := c.u8(); c.err == nil && v != 0 {
			c.fail("version %d", v)
		}
		flags := c.u8()
		if flags&1 != 0 {
			tracked = true
			c.skip(8)
		}
		heapAddr := c.addr()
		nameIndex := c.addr()
		if c.err != nil {
			return nil, c.err
		}
		if heapAddr != undefAddr {
			dense, err := f.readDenseLinks(heapAddr, nameIndex)
			if err != nil {
				return nil, err
			}
			ls = append(ls, dense...)
		}
	}
	if tracked {
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].order < ls[j].order })
	} else {
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].name < ls[j].name })
	}
	return ls, nil
}

// readSymbolTable lists an old-style group: a v1 B-tree of symbol-table
// nodes whose names live in a local heap.
func (f *File) readSymbolTable(m *message) ([]link, error) {
	c := f.newCursor(m.data, m.addr, "symbol table message")
	btree := c.addr()
	heapAddr := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	heap, err := f.readLocalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	var ls []link
	entrySize := 2*f.offsetSize + 24
	err = f.walkBTree1(btree, 0, f.lengthSize, func(_ []byte, _ uint64, snod uint64) error {
		pre, err := f.readBlock(snod, 8, "symbol table node")
		if err != nil {
			return err
		}
		pc := f.newCursor(pre, snod, "symbol table node")
		pc.signature("SNOD")
		pc.skip(2)
		n := int(pc.u16())
		if pc.err != nil {
			return pc.err
		}
		b, err := f.readBlock(snod+8, uint64(n*entrySize), "symbol table node")
		if err != nil {
			return err
		}
		ec := f.newCursor(b, snod+8, "symbol table entry")
		for i := 0; i < n; i++ {
			nameOff := ec.length()
			obj := ec.addr()
			cache := ec.u32()
			ec.skip(4)
			scratch := ec.bytes(16)
			if ec.err != nil {
				return ec.err
			}
			name, err := heap.str(f, nameOff)
			if err != nil {
				return err
			}
			l := link{name: name, typ: linkHard, addr: obj}
			if cache == 2 {
				off := uint64(scratch[0]) | uint64(scratch[1])<<8 | uint64(scratch[2])<<16 | uint64(scratch[3])<<24
				target, err := heap.str(f, off)
				if err != nil {
					return err
				}
				l.typ, l.target = linkSoft, target
			}
			if len(ls) >= 1<<24 {
				return f.formatErr(int64(snod), "group has too many links")
			}
			ls = append(ls, l)
		}
		return nil
	})
	return ls, err
}

// parseLink decodes a link message.
func (f *File) parseLink(data []byte, at uint64) (link, error) {
	c := f.newCursor(data, at, "link message")
	if v := c.u8(); c.err == nil && v != 1 {
		c.fail("version %d", v)
	}
	flags := c.u8()
	l := link{typ: linkHard}
	if flags&0x08 != 0 {
		l.typ = int(c.u8())
	}
	if flags&0x04 != 0 {
		l.order = int64(c.u64())
	}
	if flags&0x10 != 0 {
		c.u8() // name character set
	}
	n := c.uvar(1 << (flags & 3))
	if c.err == nil && (n == 0 || n > uint64(len(data))) {
		c.fail("link name of %d bytes", n)
	}
	if c.err != nil {
		return l, c.err
	}
	l.name = string(c.bytes(int(n)))
	switch l.typ {
	case linkHard:
		l.addr = c.addr()
	case linkSoft:
		m := int(c.u16())
		l.target = string(c.bytes(m))
	case linkExternal:
		m := int(c.u16())
		info := c.bytes(m)
		if len(info) > 1 {
			l.target = string(bytes.ReplaceAll(info[1:], []byte{0}, []byte(":")))
		}
	default:
		if c.err == nil {
			return l, f.unsupported("link type %d (link %q)", l.typ, l.name)
		}
	}
	return l, c.err
}

// readDenseLinks lists the links kept in a fractal heap, indexed by a
// v2 B-tree of name hashes.
func (f *File) readDenseLinks(heapAddr, nameIndex uint64) ([]link, error) {
	h, err := f.readFractalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	var ls []link
	var ferr error
	err = f.walkBTree2(nameIndex, func(typ int, rec []byte, at uint64) bool {
		if typ != 5 || len(rec) < 4 {
			ferr = f.formatErr(int64(at), "link name index record of type %d", typ)
			return false
		}
		obj, err := f.heapObject(h, rec[4:])
		if err != nil {
			ferr = err
			return false
		}
		l, err := f.parseLink(obj, heapAddr)
		if err != nil {
			ferr = err
			return false
		}
		ls = append(ls, l)
		return len(ls) < 1<<24
	})
	if err != nil {
		return nil, err
	}
	return ls, ferr
}
