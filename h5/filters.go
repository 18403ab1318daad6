package h5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"strconv"
)

// Filter identifiers.
const (
	filterDeflate    = 1
	filterShuffle    = 2
	filterFletcher32 = 3
)

var filterNames = map[int]string{1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32015: "zstd"}

type filter struct {
	id     int
	flags  uint16
	name   string
	params []uint32
}

// parseFilters decodes a filter pipeline message.
func (f *File) parseFilters(data []byte, at uint64) ([]filter, error) {
	c := f.newCursor(data, at, "filter pipeline message")
	version := c.u8()
	n := int(c.u8())
	if version == 1 {
		c.skip(6)
	} else if version != 2 && c.err == nil {
		c.fail("version %d", version)
	}
	if n > 32 {
		c.fail("%d filters", n)
	}
	var fs []filter
	for i := 0; i < n && c.err == nil; i++ {
		var fl filter
		fl.id = int(c.u16())
		nameLen := 0
		if version == 1 || fl.id >= 256 {
			nameLen = int(c.u16())
		}
		fl.flags = c.u16()
		nparams := int(c.u16())
		if nameLen > 0 {
			name := c.bytes(nameLen)
			fl.name = string(bytes.TrimRight(name, "\x00"))
			if version == 1 {
				c.skip((8 - nameLen%8) % 8)
			}
		}
		for j := 0; j < nparams && c.err == nil; j++ {
			fl.params = append(fl.params, c.u32())
		}
		if version == 1 && nparams%2 == 1 {
			c.skip(4)
		}
		fs = append(fs, fl)
	}
	if c.err != nil {
		return nil, c.err
	}
	return fs, nil
}

func (fl filter) describe() string {
	name := filterNames[fl.id]
	if name == "" {
		name = fl.name
	}
	if name == "" {
		name = "unnamed"
	}
	return "filter " + strconv.Itoa(fl.id) + " (" + name + ")"
}

// checkFilters refuses pipelines with filters this package cannot undo.
func (f *File) checkFilters(fs []filter) error {
	for _, fl := range fs {
		switch fl.id {
		case filterDeflate, filterShuffle, filterFletcher32:
		default:
			return f.unsupported("%s", fl.describe())
		}
	}
	return nil
}

// unfilter undoes the pipeline on one chunk read at address at; want is
// the chunk's unfiltered size. Filters whose bit is set in mask were not
// applied when the chunk was written.
func (f *File) unfilter(fs []filter, mask uint32, b []byte, at uint64, want int) ([]byte, error) {
	for i := len(fs) - 1; i >= 0; i-- {
		if i < 32 && mask&(1<<i) != 0 {
			continue
		}
		fl := fs[i]
		switch fl.id {
		case filterFletcher32:
			if len(b) < 4 {
				return nil, f.formatErr(int64(at), "chunk too short for its fletcher32 checksum")
			}
			data, stored := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
			sum := fletcher32(data)
			// Files from HDF5 before 1.6.3 stored the checksum byte-swapped.
			swapped := sum>>24 | (sum>>8)&0xff00 | (sum<<8)&0xff0000 | sum<<24
			if stored != sum && stored != swapped {
				return nil, f.formatErr(int64(at), "chunk fletcher32 checksum mismatch (stored %#08x, computed %#08x)", stored, sum)
			}
			b = data
		case filterDeflate:
			zr, err := zlib.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, f.formatErr(int64(at), "deflate chunk: %v", err)
			}
			out := make([]byte, want)
			n, err := io.ReadFull(zr, out)
			if err != nil && err != io.ErrUnexpectedEOF {
				return nil, f.formatErr(int64(at), "deflate chunk: %v", err)
			}
			if n < want {
				return nil, f.formatErr(int64(at), "deflate chunk inflates to %d bytes, want %d", n, want)
			}
			b = out
		case filterShuffle:
			size := 1
			if len(fl.params) > 0 {
				size = int(fl.params[0])
			}
			if size > 1 && size <= 1<<16 {
				b = unshuffle(b, size)
			}
		default:
			return nil, f.unsupported("%s", fl.describe())
		}
	}
	if len(b) < want {
		return nil, f.formatErr(int64(at), "chunk holds %d bytes after filters, want %d", len(b), want)
	}
	return b, nil
}

// unshuffle undoes HDF5's byte shuffle: byte j of every element was
// stored together in plane j. Trailing bytes past whole elements are
// stored as is.
func unshuffle(b []byte, size int) []byte {
	n := len(b) / size
	out := make([]byte, len(b))
	for j := 0; j < size; j++ {
		plane := b[j*n : (j+1)*n]
		for i, v := range plane {
			out[i*size+j] = v
		}
	}
	copy(out[n*size:], b[n*size:])
	return out
}

// fletcher32 is HDF5's Fletcher checksum over big-endian 16-bit words.
func fletcher32(data []byte) uint32 {
	var sum1, sum2 uint32
	length := len(data) / 2
	for length > 0 {
		tlen := min(length, 360)
		length -= tlen
		for ; tlen > 0; tlen-- {
			sum1 += uint32(data[0])<<8 | uint32(data[1])
			data = data[2:]
			sum2 += sum1
		}
		sum1 = (sum1 & 0xffff) + (sum1 >> 16)
		sum2 = (sum2 & 0xffff) + (sum2 >> 16)
	}
	if len(data) > 0 {
		sum1 += uint32(data[0]) << 8
		sum2 += sum1
		sum1 = (sum1 & 0xffff) + (sum1 >> 16)
		sum2 = (sum2 & 0xffff) + (sum2 >> 16)
	}
	sum1 = (sum1 & 0xffff) + (sum1 >> 16)
	sum2 = (sum2 & 0xffff) + (sum2 >> 16)
	return sum2<<16 | sum1
}
