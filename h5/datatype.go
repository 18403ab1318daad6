package h5

import (
	"bytes"
	"encoding/binary"
)

// Datatype classes.
const (
	classFixed    = 0
	classFloat    = 1
	classTime     = 2
	classString   = 3
	classBitfield = 4
	classOpaque   = 5
	classCompound = 6
	classRef      = 7
	classEnum     = 8
	classVlen     = 9
	classArray    = 10
)

// String padding types.
const (
	padNullTerm = 0
	padNull     = 1
	padSpace    = 2
)

// dtype is a decoded datatype message: what the public DType says plus
// what decoding needs.
type dtype struct {
	kind   Kind
	size   int // bytes per element in the file (after folding array dims: base element)
	big    bool
	vlen   bool
	utf8   bool
	strPad int
	tag    string
	dims   []int // array datatype dimensions, appended to the dataspace shape
}

func (d *dtype) public() DType {
	size := d.size
	if d.vlen {
		size = 0
	}
	return DType{Kind: d.kind, Size: size, VarLen: d.vlen, UTF8: d.utf8, Tag: d.tag}
}

func (d *dtype) order() binary.ByteOrder {
	if d.big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// maxTypeDepth bounds nested datatypes (arrays of enums of ...).
const maxTypeDepth = 8

// parseDatatype decodes a datatype message at file address at.
func (f *File) parseDatatype(data []byte, at uint64) (*dtype, error) {
	c := f.newCursor(data, at, "datatype message")
	d, err := f.decodeDatatype(c, 0)
	if err != nil {
		return nil, err
	}
	return d, c.err
}

func (f *File) decodeDatatype(c *cursor, depth int) (*dtype, error) {
	if depth > maxTypeDepth {
		return nil, f.formatErr(c.offset(), "datatype nested too deeply")
	}
	start := c.offset()
	cv := c.u8()
	bits := c.bytes(3)
	size := int(c.u32())
	if c.err != nil {
		return nil, c.err
	}
	class, version := cv&0x0f, cv>>4
	b0 := bits[0]
	if size <= 0 && class != classVlen {
		return nil, f.formatErr(start, "datatype of size %d", size)
	}
	d := &dtype{size: size}
	switch class {
	case classFixed, classBitfield:
		d.big = b0&1 != 0
		signed := b0&8 != 0 && class == classFixed
		off, prec := c.u16(), c.u16()
		if c.err != nil {
			return nil, c.err
		}
		if off != 0 || int(prec) != 8*size {
			return nil, f.unsupported("integer type with bit offset %d and precision %d in %d bytes", off, prec, size)
		}
		kinds := map[int][2]Kind{1: {Uint8, Int8}, 2: {Uint16, Int16}, 4: {Uint32, Int32}, 8: {Uint64, Int64}}
		k, ok := kinds[size]
		if !ok {
			return nil, f.unsupported("%d-byte integer type", size)
		}
		if signed {
			d.kind = k[1]
		} else {
			d.kind = k[0]
		}
	case classFloat:
		if b0&0x40 != 0 {
			return nil, f.unsupported("VAX-order floating point")
		}
		d.big = b0&1 != 0
		off, prec := c.u16(), c.u16()
		expLoc, expSize, manLoc, manSize := c.u8(), c.u8(), c.u8(), c.u8()
		bias := c.u32()
		if c.err != nil {
			return nil, c.err
		}
		type layout struct {
			size                             int
			prec                             uint16
			expLoc, expSize, manLoc, manSize uint8
			bias                             uint32
		}
		got := layout{size, prec, expLoc, expSize, manLoc, manSize, bias}
		switch {
		case off == 0 && got == layout{2, 16, 10, 5, 0, 10, 15}:
			d.kind = Float16
		case off == 0 && got == layout{2, 16, 7, 8, 0, 7, 127}:
			d.kind = BFloat16
		case off == 0 && got == layout{4, 32, 23, 8, 0, 23, 127}:
			d.kind = Float32
		case off == 0 && got == layout{8, 64, 52, 11, 0, 52, 1023}:
			d.kind = Float64
		default:
			return nil, f.unsupported("non-IEEE floating point type (size %d, precision %d, exponent %d bits, mantissa %d bits)", size, prec, expSize, manSize)
		}
	case classString:
		d.kind = String
		d.strPad = int(b0 & 0x0f)
		d.utf8 = b0>>4 == 1
	case classOpaque:
		d.kind = Opaque
		n := int(b0)
		tag := c.bytes(n)
		if c.err != nil {
			return nil, c.err
		}
		d.tag = string(bytes.TrimRight(tag, "\x00"))
		c.skip((8 - n%8) % 8)
		c.err = nil // the padding may be absent at the end of an attribute's datatype
	case classEnum:
		nmembers := int(bits[0]) | int(bits[1])<<8
		base, err := f.decodeDatatype(c, depth+1)
		if err != nil {
			return nil, err
		}
		if base.kind < Int8 || base.kind > Uint64 || base.dims != nil {
			return nil, f.unsupported("enum with %s base type", base.kind)
		}
		names := make([]string, 0, min(nmembers, 64))
		for i := 0; i < nmembers && c.err == nil; i++ {
			rest := c.b[c.pos:]
			j := bytes.IndexByte(rest, 0)
			if j < 0 {
				c.fail("unterminated enum member name")
				break
			}
			names = append(names, string(rest[:j]))
			n := j + 1
			if version < 3 {
				n = (n + 7) &^ 7
			}
			c.skip(min(n, len(rest)))
		}
		vals := c.bytes(nmembers * base.size)
		if c.err != nil {
			return nil, c.err
		}
		*d = *base
		if base.size == 1 && nmembers == 2 && names[0] == "FALSE" && names[1] == "TRUE" && vals[0] == 0 && vals[1] == 1 {
			d.kind = Bool
		}
	case classVlen:
		typ := b0 & 0x0f
		if typ != 1 {
			return nil, f.unsupported("variable-length sequence datatype")
		}
		// The base type (a 1-byte char) follows; its content is implied.
		if _, err := f.decodeDatatype(c, depth+1); err != nil {
			return nil, err
		}
		d.kind = String
		d.vlen = true
		d.strPad = int(b0>>4) & 0x0f
		d.utf8 = bits[1]&0x0f == 1
		d.size = 4 + f.offsetSize + 4
	case classArray:
		rank := int(c.u8())
		if version < 3 {
			c.skip(3)
		}
		if rank == 0 || rank > 32 {
			return nil, f.formatErr(start, "array datatype of rank %d", rank)
		}
		dims := make([]int, rank)
		total := 1
		for i := range dims {
			dims[i] = int(c.u32())
			total *= max(dims[i], 1)
			if total > 1<<31 {
				return nil, f.formatErr(start, "array datatype too large")
			}
		}
		if version < 3 {
			c.skip(4 * rank) // permutation indices
		}
		if c.err != nil {
			return nil, c.err
		}
		base, err := f.decodeDatatype(c, depth+1)
		if err != nil {
			return nil, err
		}
		if base.dims != nil {
			return nil, f.unsupported("nested array datatype")
		}
		n := 1
		for _, x := range dims {
			n *= x
		}
		if n*base.size != size {
			return nil, f.formatErr(start, "array datatype size %d does not match %v x %d", size, dims, base.size)
		}
		*d = *base
		d.dims = dims
	case classCompound:
		return nil, f.unsupported("compound datatype")
	case classRef:
		return nil, f.unsupported("reference datatype")
	case classTime:
		return nil, f.unsupported("time datatype")
	default:
		return nil, f.formatErr(start, "unknown datatype class %d", class)
	}
	if c.err != nil {
		return nil, c.err
	}
	return d, nil
}

// dataspace is a decoded dataspace message.
type dataspace struct {
	dims []uint64
	null bool
}

// maxRank is HDF5's limit on dataspace rank.
const maxRank = 32

func (f *File) parseDataspace(data []byte, at uint64) (*dataspace, error) {
	c := f.newCursor(data, at, "dataspace message")
	version := c.u8()
	rank := int(c.u8())
	flags := c.u8()
	s := &dataspace{}
	switch version {
	case 1:
		c.skip(5)
	case 2:
		switch c.u8() {
		case 0, 1:
		case 2:
			s.null = true
		default:
			return nil, f.formatErr(int64(at)+3, "unknown dataspace type")
		}
	default:
		if c.err != nil {
			return nil, c.err
		}
		return nil, f.formatErr(int64(at), "dataspace message version %d", version)
	}
	if rank > maxRank {
		return nil, f.formatErr(int64(at)+1, "dataspace rank %d", rank)
	}
	for i := 0; i < rank; i++ {
		s.dims = append(s.dims, c.length())
	}
	_ = flags // maximum dimensions and permutations do not matter for reading
	if c.err != nil {
		return nil, c.err
	}
	return s, nil
}

// count returns the number of elements, or an error if the product
// overflows.
func (s *dataspace) count() (uint64, bool) {
	if s.null {
		return 0, true
	}
	n := uint64(1)
	for _, d := range s.dims {
		if d != 0 && n > (1<<62)/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}
