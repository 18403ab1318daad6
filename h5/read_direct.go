package h5

import (
	"encoding/binary"
	"unsafe"
)

// hostLittleEndian reports whether this machine stores numbers
// little-endian, as HDF5 files from x86 and ARM machines do.
var hostLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// directBytes returns the memory of a float32 or float64 slice as bytes
// when the file's element layout equals the machine's (IEEE, same byte
// order, same size), so that a contiguous dataset is read straight into
// its final slice with no decoding pass. ok is false otherwise.
func directBytes(dt *dtype, data any) (b []byte, ok bool) {
	if dt.big || !hostLittleEndian || dt.vlen || len(dt.dims) > 0 {
		return nil, false
	}
	switch d := data.(type) {
	case []float32:
		if dt.kind == Float32 && dt.size == 4 && len(d) > 0 {
			return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 4*len(d)), true
		}
	case []float64:
		if dt.kind == Float64 && dt.size == 8 && len(d) > 0 {
			return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 8*len(d)), true
		}
	}
	return nil, false
}
