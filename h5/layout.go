package h5

// Layout classes.
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2
	layoutVirtual    = 3
)

// Chunk index types of layout message version 4.
const (
	indexBTree1     = 0 // layout versions 1-3
	indexSingle     = 1
	indexImplicit   = 2
	indexFixedArray = 3
	indexExtensible = 4
	indexBTree2     = 5
)

var indexNames = map[int]string{indexSingle: "single chunk", indexImplicit: "implicit", indexFixedArray: "fixed array", indexExtensible: "extensible array", indexBTree2: "v2 B-tree"}

type layout struct {
	class   int
	addr    uint64 // contiguous data, chunk index
	size    uint64 // contiguous size
	compact []byte
	at      uint64 // address of compact data

	chunk     []uint64 // chunk dimensions (dataset rank, without element size)
	elemSize  uint64
	index     int
	flags     uint8
	pageBits  int
	singleLen uint64 // filtered single chunk size
	singleMsk uint32
	eaParams  [5]int // extensible array creation parameters
}

func (f *File) parseLayout(data []byte, at uint64) (*layout, error) {
	c := f.newCursor(data, at, "layout message")
	version := c.u8()
	l := &layout{}
	switch version {
	case 1, 2:
		ndims := int(c.u8())
		l.class = int(c.u8())
		c.skip(5)
		if l.class != layoutCompact {
			l.addr = c.addr()
		}
		if ndims > maxRank+1 {
			return nil, f.formatErr(int64(at), "layout of rank %d", ndims)
		}
		dims := make([]uint64, ndims)
		for i := range dims {
			dims[i] = uint64(c.u32())
		}
		switch l.class {
		case layoutChunked:
			l.elemSize = uint64(c.u32())
			if ndims > 0 {
				l.chunk = dims[:ndims-1]
			}
		case layoutCompact:
			n := int(c.u32())
			l.at = at + uint64(c.pos)
			l.compact = c.bytes(n)
		case layoutContiguous:
			l.size = ^uint64(0) // not recorded: checked against the dataspace
		}
	case 3, 4:
		l.class = int(c.u8())
		switch l.class {
		case layoutCompact:
			n := int(c.u16())
			l.at = at + uint64(c.pos)
			l.compact = c.bytes(n)
		case layoutContiguous:
			l.addr = c.addr()
			l.size = c.length()
		case layoutChunked:
			if version == 3 {
				ndims := int(c.u8())
				l.addr = c.addr()
				if ndims < 2 || ndims > maxRank+1 {
					return nil, f.formatErr(int64(at), "chunked layout of rank %d", ndims-1)
				}
				dims := make([]uint64, ndims)
				for i := range dims {
					dims[i] = uint64(c.u32())
				}
				l.chunk, l.elemSize = dims[:ndims-1], dims[ndims-1]
				l.index = indexBTree1
				break
			}
			l.flags = c.u8()
			ndims := int(c.u8())
			enc := int(c.u8())
			if ndims < 2 || ndims > maxRank+1 || enc < 1 || enc > 8 {
				return nil, f.formatErr(int64(at), "chunked layout of rank %d with %d-byte dimensions", ndims-1, enc)
			}
			dims := make([]uint64, ndims)
			for i := range dims {
				dims[i] = c.uvar(enc)
			}
			l.chunk, l.elemSize = dims[:ndims-1], dims[ndims-1]
			l.index = int(c.u8())
			switch l.index {
			case indexSingle:
				if l.flags&2 != 0 {
					l.singleLen = c.length()
					l.singleMsk = c.u32()
				}
			case indexImplicit:
			case indexFixedArray:
				l.pageBits = int(c.u8())
			case indexExtensible:
				for i := range l.eaParams {
					l.eaParams[i] = int(c.u8())
				}
			case indexBTree2:
				c.skip(6)
			default:
				if c.err == nil {
					return nil, f.formatErr(int64(at), "unknown chunk index type %d", l.index)
				}
			}
			l.addr = c.addr()
		case layoutVirtual:
			return nil, f.unsupported("virtual dataset layout")
		default:
			if c.err == nil {
				return nil, f.formatErr(int64(at), "unknown layout class %d", l.class)
			}
		}
	default:
		if c.err == nil {
			return nil, f.formatErr(int64(at), "layout message version %d", version)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	if l.class == layoutChunked {
		for _, d := range l.chunk {
			if d == 0 || d > 1<<32 {
				return nil, f.formatErr(int64(at), "chunk dimension %d", d)
			}
		}
	}
	return l, nil
}

// chunkRef locates one stored chunk.
type chunkRef struct {
	offset []uint64 // element coordinates of the chunk's first element
	addr   uint64
	size   uint64
	mask   uint32
}

// chunks lists the stored chunks of a chunked dataset with dataset
// dimensions dims.
func (f *File) chunks(l *layout, dims []uint64, filtered bool) ([]chunkRef, error) {
	if l.addr == undefAddr {
		return nil, nil
	}
	rank := len(l.chunk)
	chunkBytes := l.elemSize
	for _, d := range l.chunk {
		chunkBytes *= d
	}
	// Chunk grid, for indexes that store chunks by linear position.
	grid := make([]uint64, rank)
	nchunks := uint64(1)
	for i, d := range dims {
		grid[i] = (d + l.chunk[i] - 1) / l.chunk[i]
		nchunks *= grid[i]
	}
	fromLinear := func(i uint64) []uint64 {
		off := make([]uint64, rank)
		for k := rank - 1; k >= 0; k-- {
			off[k] = i % grid[k] * l.chunk[k]
			i /= grid[k]
		}
		return off
	}
	var refs []chunkRef
	add := func(r chunkRef) error {
		if len(refs) > 1<<24 {
			return f.formatErr(int64(l.addr), "too many chunks")
		}
		refs = append(refs, r)
		return nil
	}
	switch l.index {
	case indexBTree1:
		keySize := 8 + 8*(rank+1)
		err := f.walkBTree1(l.addr, 1, keySize, func(key []byte, keyAt uint64, child uint64) error {
			c := f.newCursor(key, keyAt, "chunk B-tree key")
			size := uint64(c.u32())
			mask := c.u32()
			off := make([]uint64, rank)
			for i := range off {
				off[i] = c.u64()
			}
			if c.err != nil {
				return c.err
			}
			return add(chunkRef{off, child, size, mask})
		})
		return refs, err
	case indexSingle:
		size, mask := chunkBytes, uint32(0)
		if l.flags&2 != 0 {
			size, mask = l.singleLen, l.singleMsk
		}
		return []chunkRef{{make([]uint64, rank), l.addr, size, mask}}, nil
	case indexImplicit:
		if chunkBytes == 0 || nchunks > uint64(f.size)/chunkBytes || f.checkRange(l.addr, nchunks*chunkBytes, "chunks") != nil {
			return nil, f.formatErr(int64(l.addr), "%d implicitly indexed chunks of %d bytes do not fit in the file", nchunks, chunkBytes)
		}
		for i := uint64(0); i < nchunks; i++ {
			if err := add(chunkRef{fromLinear(i), l.addr + i*chunkBytes, chunkBytes, 0}); err != nil {
				return nil, err
			}
		}
		return refs, nil
	case indexFixedArray:
		err := f.walkFixedArray(l.addr, filtered, func(i uint64, addr, size uint64, mask uint32) error {
			if i >= nchunks {
				return nil
			}
			if !filtered {
				size = chunkBytes
			}
			return add(chunkRef{fromLinear(i), addr, size, mask})
		})
		return refs, err
	case indexBTree2:
		var ferr error
		err := f.walkBTree2(l.addr, func(typ int, rec []byte, at uint64) bool {
			c := f.newCursor(rec, at, "chunk B-tree record")
			r := chunkRef{size: chunkBytes}
			r.addr = c.addr()
			switch typ {
			case 10:
			case 11:
				n := len(rec) - f.offsetSize - 4 - 8*rank
				r.size = c.uvar(n)
				r.mask = c.u32()
			default:
				ferr = f.formatErr(int64(at), "chunk B-tree record of type %d", typ)
				return false
			}
			r.offset = make([]uint64, rank)
			for i := range r.offset {
				r.offset[i] = c.u64() * l.chunk[i]
			}
			if c.err != nil {
				ferr = c.err
				return false
			}
			ferr = add(r)
			return ferr == nil
		})
		if err != nil {
			return nil, err
		}
		return refs, ferr
	case indexExtensible:
		err := f.walkExtensibleArray(l, filtered, func(i uint64, addr, size uint64, mask uint32) error {
			if i >= nchunks {
				return nil
			}
			if !filtered {
				size = chunkBytes
			}
			return add(chunkRef{fromLinear(i), addr, size, mask})
		})
		return refs, err
	}
	return nil, f.unsupported("chunk index type %d", l.index)
}

// walkFixedArray visits the entries of a fixed-array chunk index.
func (f *File) walkFixedArray(addr uint64, filtered bool, visit func(i, addr, size uint64, mask uint32) error) error {
	hb, err := f.readBlock(addr, uint64(4+1+1+1+1+f.lengthSize+f.offsetSize+4), "fixed array header")
	if err != nil {
		return err
	}
	c := f.newCursor(hb, addr, "fixed array header")
	c.signature("FAHD")
	c.u8()
	client := c.u8()
	entrySize := int(c.u8())
	pageBits := int(c.u8())
	n := c.length()
	dblk := c.addr()
	if c.err != nil {
		return c.err
	}
	if err := f.verifyChecksum(hb, c.pos, addr, "fixed array header"); err != nil {
		return err
	}
	if (client == 1) != filtered || entrySize < f.offsetSize || pageBits > 32 {
		return f.formatErr(int64(addr), "fixed array header: client %d, entry size %d", client, entrySize)
	}
	if dblk == undefAddr {
		return nil
	}
	if n > uint64(f.size)/uint64(entrySize) {
		return f.formatErr(int64(addr), "fixed array of %d entries in a %d-byte file", n, f.size)
	}
	prefix := uint64(4 + 1 + 1 + f.offsetSize)
	pageN := uint64(1) << pageBits
	decode := func(b []byte, at uint64, first uint64) error {
		ec := f.newCursor(b, at, "fixed array element")
		for k := 0; k < len(b)/entrySize; k++ {
			ec.pos = k * entrySize
			a := ec.addr()
			var size uint64
			var mask uint32
			if filtered {
				size = ec.uvar(entrySize - f.offsetSize - 4)
				mask = ec.u32()
			}
			if ec.err != nil {
				return ec.err
			}
			if a == undefAddr {
				continue
			}
			if err := visit(first+uint64(k), a, size, mask); err != nil {
				return err
			}
		}
		return nil
	}
	if n <= pageN {
		body := n * uint64(entrySize)
		b, err := f.readBlock(dblk, prefix+body+4, "fixed array data block")
		if err != nil {
			return err
		}
		if string(b[:4]) != "FADB" {
			return f.formatErr(int64(dblk), "fixed array data block: bad signature")
		}
		if err := f.verifyChecksum(b, int(prefix+body), dblk, "fixed array data block"); err != nil {
			return err
		}
		return decode(b[prefix:prefix+body], dblk+prefix, 0)
	}
	npages := (n + pageN - 1) / pageN
	bitmap := (npages + 7) / 8
	b, err := f.readBlock(dblk, prefix+bitmap+4, "fixed array data block")
	if err != nil {
		return err
	}
	if string(b[:4]) != "FADB" {
		return f.formatErr(int64(dblk), "fixed array data block: bad signature")
	}
	if err := f.verifyChecksum(b, int(prefix+bitmap), dblk, "fixed array data block"); err != nil {
		return err
	}
	pageAt := dblk + prefix + bitmap + 4
	for p := uint64(0); p < npages; p++ {
		cnt := min(pageN, n-p*pageN)
		size := cnt*uint64(entrySize) + 4
		if b[prefix+p/8]&(0x80>>(p%8)) != 0 {
			pb, err := f.readBlock(pageAt, size, "fixed array page")
			if err != nil {
				return err
			}
			if err := f.verifyChecksum(pb, int(size-4), pageAt, "fixed array page"); err != nil {
				return err
			}
			if err := decode(pb[:size-4], pageAt, p*pageN); err != nil {
				return err
			}
		}
		pageAt += pageN*uint64(entrySize) + 4
	}
	return nil
}
