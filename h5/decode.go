package h5

import (
	"bytes"
	"encoding/binary"
	"math"
)

// makeData allocates the typed slice that holds n elements of dt.
func makeData(dt *dtype, n int) any {
	switch dt.kind {
	case Int8:
		return make([]int8, n)
	case Int16:
		return make([]int16, n)
	case Int32:
		return make([]int32, n)
	case Int64:
		return make([]int64, n)
	case Uint8:
		return make([]uint8, n)
	case Uint16, Float16, BFloat16:
		return make([]uint16, n)
	case Uint32:
		return make([]uint32, n)
	case Uint64:
		return make([]uint64, n)
	case Float32:
		return make([]float32, n)
	case Float64:
		return make([]float64, n)
	case Bool:
		return make([]bool, n)
	case String:
		return make([]string, n)
	case Opaque:
		return make([][]byte, n)
	}
	panic("h5: makeData: unexpected kind " + dt.kind.String())
}

// decodeInto decodes the whole elements in raw (read at file address at)
// into dst starting at element index start.
func (f *File) decodeInto(dt *dtype, dst any, start int, raw []byte, at uint64) error {
	size := dt.size
	n := len(raw) / size
	o := dt.order()
	switch d := dst.(type) {
	case []int8:
		d = d[start : start+n]
		for i := range d {
			d[i] = int8(raw[i])
		}
	case []uint8:
		copy(d[start:start+n], raw)
	case []bool:
		d = d[start : start+n]
		for i := range d {
			d[i] = raw[i] != 0
		}
	case []int16:
		d = d[start : start+n]
		for i := range d {
			d[i] = int16(o.Uint16(raw[2*i:]))
		}
	case []uint16:
		d = d[start : start+n]
		for i := range d {
			d[i] = o.Uint16(raw[2*i:])
		}
	case []int32:
		d = d[start : start+n]
		for i := range d {
			d[i] = int32(o.Uint32(raw[4*i:]))
		}
	case []uint32:
		d = d[start : start+n]
		for i := range d {
			d[i] = o.Uint32(raw[4*i:])
		}
	case []int64:
		d = d[start : start+n]
		for i := range d {
			d[i] = int64(o.Uint64(raw[8*i:]))
		}
	case []uint64:
		d = d[start : start+n]
		for i := range d {
			d[i] = o.Uint64(raw[8*i:])
		}
	case []float32:
		d = d[start : start+n]
		if dt.big {
			for i := range d {
				d[i] = math.Float32frombits(binary.BigEndian.Uint32(raw[4*i:]))
			}
		} else {
			decodeFloat32LE(d, raw)
		}
	case []float64:
		d = d[start : start+n]
		if dt.big {
			for i := range d {
				d[i] = math.Float64frombits(o.Uint64(raw[8*i:]))
			}
		} else {
			decodeFloat64LE(d, raw)
		}
	case [][]byte:
		d = d[start : start+n]
		backing := append([]byte(nil), raw[:n*size]...)
		for i := range d {
			d[i] = backing[i*size : (i+1)*size : (i+1)*size]
		}
	case []string:
		d = d[start : start+n]
		for i := range d {
			elem := raw[i*size : (i+1)*size]
			if dt.vlen {
				s, err := f.vlenString(elem, at+uint64(i*size))
				if err != nil {
					return err
				}
				d[i] = s
				continue
			}
			d[i] = fixedString(elem, dt.strPad)
		}
	default:
		panic("h5: decodeInto: unexpected destination type")
	}
	return nil
}

// fixedString trims a fixed-length string the way its padding says.
func fixedString(b []byte, pad int) string {
	switch pad {
	case padNullTerm:
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
	case padNull:
		b = bytes.TrimRight(b, "\x00")
	case padSpace:
		b = bytes.TrimRight(b, " ")
	}
	return string(b)
}

// decodeFloat32LE decodes little-endian float32 values; unrolled by four
// with full-slice expressions so the compiler drops bounds checks (about
// three times faster than the plain loop).
func decodeFloat32LE(d []float32, raw []byte) {
	raw = raw[:4*len(d)]
	i := 0
	for ; i+4 <= len(d); i += 4 {
		b := raw[4*i : 4*i+16 : 4*i+16]
		dd := d[i : i+4 : i+4]
		dd[0] = math.Float32frombits(binary.LittleEndian.Uint32(b[0:4]))
		dd[1] = math.Float32frombits(binary.LittleEndian.Uint32(b[4:8]))
		dd[2] = math.Float32frombits(binary.LittleEndian.Uint32(b[8:12]))
		dd[3] = math.Float32frombits(binary.LittleEndian.Uint32(b[12:16]))
	}
	for ; i < len(d); i++ {
		d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i : 4*i+4]))
	}
}

// decodeFloat64LE decodes little-endian float64 values, unrolled by two.
func decodeFloat64LE(d []float64, raw []byte) {
	raw = raw[:8*len(d)]
	i := 0
	for ; i+2 <= len(d); i += 2 {
		b := raw[8*i : 8*i+16 : 8*i+16]
		dd := d[i : i+2 : i+2]
		dd[0] = math.Float64frombits(binary.LittleEndian.Uint64(b[0:8]))
		dd[1] = math.Float64frombits(binary.LittleEndian.Uint64(b[8:16]))
	}
	for ; i < len(d); i++ {
		d[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i : 8*i+8]))
	}
}
