package h5

import "encoding/binary"

// Object header message types.
const (
	msgNil          = 0x00
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgFillOld      = 0x04
	msgFill         = 0x05
	msgLink         = 0x06
	msgExternal     = 0x07
	msgLayout       = 0x08
	msgGroupInfo    = 0x0a
	msgFilters      = 0x0b
	msgAttribute    = 0x0c
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
	msgAttrInfo     = 0x15
)

// maxHeaderMessages caps the messages gathered from one object header and
// its continuation blocks.
const maxHeaderMessages = 1 << 20

type message struct {
	typ   uint16
	flags uint8
	data  []byte
	addr  uint64 // file address of data
	order uint16 // creation order (v2 headers that track it)
}

type objectHeader struct {
	addr     uint64
	version  int
	flags    uint8 // v2 header flags
	messages []message
}

func (h *objectHeader) first(typ uint16) *message {
	for i := range h.messages {
		if h.messages[i].typ == typ {
			return &h.messages[i]
		}
	}
	return nil
}

func (h *objectHeader) has(typ uint16) bool { return h.first(typ) != nil }

// objectHeader reads (and caches) the object header at addr, following
// continuation blocks.
func (f *File) objectHeader(addr uint64) (*objectHeader, error) {
	f.mu.Lock()
	h, ok := f.headers[addr]
	f.mu.Unlock()
	if ok {
		return h, nil
	}
	h, err := f.readObjectHeader(addr)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.headers[addr] = h
	f.mu.Unlock()
	return h, nil
}

func (f *File) readObjectHeader(addr uint64) (*objectHeader, error) {
	if err := f.checkRange(addr, 16, "object header"); err != nil {
		return nil, err
	}
	var sig [4]byte
	if _, err := f.r.ReadAt(sig[:], int64(addr)); err != nil {
		return nil, f.formatErr(int64(addr), "reading object header: %v", err)
	}
	h := &objectHeader{addr: addr}
	var pending []contBlock
	seen := map[uint64]bool{addr: true}
	if string(sig[:]) == "OHDR" {
		h.version = 2
		pre, err := f.readBlock(addr, min(uint64(f.size)-addr, 6+16+4+8), "object header")
		if err != nil {
			return nil, err
		}
		c := f.newCursor(pre, addr, "object header")
		c.skip(4)
		if v := c.u8(); v != 2 {
			return nil, f.formatErr(int64(addr)+4, "object header version %d", v)
		}
		h.flags = c.u8()
		if h.flags&0x20 != 0 {
			c.skip(16)
		}
		if h.flags&0x10 != 0 {
			c.skip(4)
		}
		size := c.uvar(1 << (h.flags & 3))
		if c.err != nil {
			return nil, c.err
		}
		if size > uint64(f.size) {
			return nil, f.formatErr(int64(addr), "object header of %d bytes in a %d-byte file", size, f.size)
		}
		start := uint64(c.pos)
		b, err := f.readBlock(addr, start+size+4, "object header")
		if err != nil {
			return nil, err
		}
		if err := f.verifyChecksum(b, int(start+size), addr, "object header"); err != nil {
			return nil, err
		}
		if err := f.parseMessagesV2(h, b[start:start+size], addr+start, &contQueue{f: f, pend: &pending, seen: seen}); err != nil {
			return nil, err
		}
		for len(pending) > 0 {
			blk := pending[0]
			pending = pending[1:]
			b, err := f.readBlock(blk.addr, blk.size, "object header continuation")
			if err != nil {
				return nil, err
			}
			if len(b) < 8 || string(b[:4]) != "OCHK" {
				return nil, f.formatErr(int64(blk.addr), "object header continuation: bad signature")
			}
			if err := f.verifyChecksum(b, len(b)-4, blk.addr, "object header continuation"); err != nil {
				return nil, err
			}
			if err := f.parseMessagesV2(h, b[4:len(b)-4], blk.addr+4, &contQueue{f: f, pend: &pending, seen: seen}); err != nil {
				return nil, err
			}
		}
		return h, nil
	}
	// Version 1: 16-byte prefix, then 8-byte aligned messages.
	pre, err := f.readBlock(addr, 16, "object header")
	if err != nil {
		return nil, err
	}
	h.version = int(pre[0])
	if h.version != 1 {
		return nil, f.formatErr(int64(addr), "object header version %d", h.version)
	}
	size := uint64(binary.LittleEndian.Uint32(pre[8:]))
	pending = append(pending, contBlock{addr + 16, size})
	for len(pending) > 0 {
		blk := pending[0]
		pending = pending[1:]
		b, err := f.readBlock(blk.addr, blk.size, "object header")
		if err != nil {
			return nil, err
		}
		c := f.newCursor(b, blk.addr, "object header")
		for c.err == nil && len(b)-c.pos >= 8 {
			typ := c.u16()
			n := int(c.u16())
			flags := c.u8()
			c.skip(3)
			at := blk.addr + uint64(c.pos)
			data := c.bytes(n)
			if c.err != nil {
				return nil, c.err
			}
			if len(h.messages) >= maxHeaderMessages {
				return nil, f.formatErr(int64(addr), "object header has too many messages")
			}
			if typ == msgContinuation {
				blk, err := f.continuation(data, at, seen)
				if err != nil {
					return nil, err
				}
				pending = append(pending, blk)
				continue
			}
			h.messages = append(h.messages, message{typ: typ, flags: flags, data: data, addr: at})
		}
		if c.err != nil {
			return nil, c.err
		}
	}
	return h, nil
}

type contBlock struct{ addr, size uint64 }

// contQueue collects the continuation blocks still to parse and the
// addresses already seen, to refuse cycles.
type contQueue struct {
	f    *File
	pend *[]contBlock
	seen map[uint64]bool
}

// continuation decodes a continuation message, refusing cycles.
func (f *File) continuation(data []byte, at uint64, seen map[uint64]bool) (contBlock, error) {
	c := f.newCursor(data, at, "continuation message")
	a := c.addr()
	n := c.length()
	if c.err != nil {
		return contBlock{}, c.err
	}
	if seen[a] {
		return contBlock{}, f.formatErr(int64(at), "object header continuation cycle at address %d", int64(a))
	}
	seen[a] = true
	if err := f.checkRange(a, n, "object header continuation"); err != nil {
		return contBlock{}, err
	}
	return contBlock{a, n}, nil
}

func (f *File) parseMessagesV2(h *objectHeader, b []byte, base uint64, p *contQueue) error {
	c := f.newCursor(b, base, "object header")
	hdr := 4
	if h.flags&0x04 != 0 {
		hdr = 6
	}
	for c.err == nil && len(b)-c.pos >= hdr {
		typ := uint16(c.u8())
		n := int(c.u16())
		flags := c.u8()
		var order uint16
		if h.flags&0x04 != 0 {
			order = c.u16()
		}
		at := base + uint64(c.pos)
		data := c.bytes(n)
		if c.err != nil {
			return c.err
		}
		if len(h.messages) >= maxHeaderMessages {
			return f.formatErr(int64(h.addr), "object header has too many messages")
		}
		if typ == msgContinuation {
			blk, err := f.continuation(data, at, p.seen)
			if err != nil {
				return err
			}
			*p.pend = append(*p.pend, blk)
			continue
		}
		h.messages = append(h.messages, message{typ: typ, flags: flags, data: data, addr: at, order: order})
	}
	return c.err
}
