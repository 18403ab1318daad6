package h5

import (
	"math"
	"slices"
)

// writerAppendElements appends the file encoding of elements [lo, hi) of
// v to dst: little-endian numbers, bools as int8 0/1, fixed strings NUL
// padded, opaque bytes as they are, and variable-length strings as global
// heap IDs (length, collection address, object index) taken from refs.
func writerAppendElements(dst []byte, v *Array, lo, hi int, refs []writerHeapRef, gcols []*writerGcol) []byte {
	switch d := v.Data.(type) {
	case []float32:
		off := len(dst)
		dst = writerGrow(dst, 4*(hi-lo))
		for i, x := range d[lo:hi] {
			writerLE.PutUint32(dst[off+4*i:], math.Float32bits(x))
		}
	case []float64:
		off := len(dst)
		dst = writerGrow(dst, 8*(hi-lo))
		for i, x := range d[lo:hi] {
			writerLE.PutUint64(dst[off+8*i:], math.Float64bits(x))
		}
	case []int8:
		for _, x := range d[lo:hi] {
			dst = append(dst, byte(x))
		}
	case []uint8:
		dst = append(dst, d[lo:hi]...)
	case []int16:
		for _, x := range d[lo:hi] {
			dst = writerLE.AppendUint16(dst, uint16(x))
		}
	case []uint16:
		for _, x := range d[lo:hi] {
			dst = writerLE.AppendUint16(dst, x)
		}
	case []int32:
		for _, x := range d[lo:hi] {
			dst = writerLE.AppendUint32(dst, uint32(x))
		}
	case []uint32:
		for _, x := range d[lo:hi] {
			dst = writerLE.AppendUint32(dst, x)
		}
	case []int64:
		for _, x := range d[lo:hi] {
			dst = writerLE.AppendUint64(dst, uint64(x))
		}
	case []uint64:
		for _, x := range d[lo:hi] {
			dst = writerLE.AppendUint64(dst, x)
		}
	case []bool:
		for _, x := range d[lo:hi] {
			var b byte
			if x {
				b = 1
			}
			dst = append(dst, b)
		}
	case [][]byte:
		for _, x := range d[lo:hi] {
			dst = append(dst, x...)
		}
	case []string:
		if v.DType.VarLen {
			for _, r := range refs[lo:hi] {
				dst = writerLE.AppendUint32(dst, r.length)
				dst = writerLE.AppendUint64(dst, gcols[r.gcol].addr)
				dst = writerLE.AppendUint32(dst, uint32(r.index))
			}
			break
		}
		for _, s := range d[lo:hi] {
			dst = append(dst, s...)
			dst = append(dst, make([]byte, v.DType.Size-len(s))...)
		}
	default:
		panic("h5: writerAppendElements: unchecked data type")
	}
	return dst
}

// writerGrow extends dst by n bytes.
func writerGrow(dst []byte, n int) []byte {
	return slices.Grow(dst, n)[:len(dst)+n]
}
