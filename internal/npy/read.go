package npy

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
)

// chunkBytes bounds each read, so a header that declares far more data than
// the stream holds fails at the stream's end instead of allocating up front.
const chunkBytes = 1 << 20

// Read decodes one .npy array from r, reading exactly the array's bytes (so
// several arrays saved one after another into one stream can be read in
// turn).
func Read(r io.Reader) (*Array, error) {
	h, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	return readData(r, h)
}

// ReadFile decodes the .npy file at path.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return nil, withFile(err, path)
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if err := checkHolds(h, st.Size()); err != nil {
			return nil, withFile(err, path)
		}
	}
	a, err := readData(f, h)
	return a, withFile(err, path)
}

// checkHolds compares the data size the header declares with the size of
// the file or archive member that holds it.
func checkHolds(h *header, total int64) error {
	if avail := total - h.size; h.nbytes > avail {
		return formatErrorf("shape %v of %s declares %d data bytes but only %d follow the header",
			h.shape, h.descr, h.nbytes, max(avail, 0))
	}
	return nil
}

func readData(r io.Reader, h *header) (*Array, error) {
	data := make([]float32, 0, min(h.count, chunkBytes/4))
	buf := make([]byte, min(h.nbytes, chunkBytes-chunkBytes%8))
	var done int64
	for done < h.nbytes {
		n := int(min(int64(len(buf)), h.nbytes-done))
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			got := done
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return nil, formatErrorf("shape %v of %s declares %d data bytes but the data ends after fewer than %d",
					h.shape, h.descr, h.nbytes, got+int64(n))
			}
			return nil, err
		}
		data = appendConverted(data, buf[:n], h.dt)
		done += int64(n)
	}
	shape := append([]int{}, h.shape...)
	if h.fortran && len(shape) > 1 {
		data = fortranToC(data, shape)
	}
	return &Array{Shape: shape, Data: data, DType: h.descr}, nil
}

// appendConverted decodes whole elements from b (len(b) is a multiple of
// the element size) and appends them as float32.
func appendConverted(dst []float32, b []byte, dt dtype) []float32 {
	var order binary.ByteOrder = binary.LittleEndian
	if dt.bigEndian {
		order = binary.BigEndian
	}
	switch dt.kind {
	case 'f':
		switch dt.size {
		case 2:
			for i := 0; i+2 <= len(b); i += 2 {
				dst = append(dst, halfToFloat32(order.Uint16(b[i:])))
			}
		case 4:
			for i := 0; i+4 <= len(b); i += 4 {
				dst = append(dst, math.Float32frombits(order.Uint32(b[i:])))
			}
		case 8:
			for i := 0; i+8 <= len(b); i += 8 {
				dst = append(dst, float32(math.Float64frombits(order.Uint64(b[i:]))))
			}
		}
	case 'i':
		switch dt.size {
		case 1:
			for _, v := range b {
				dst = append(dst, float32(int8(v)))
			}
		case 2:
			for i := 0; i+2 <= len(b); i += 2 {
				dst = append(dst, float32(int16(order.Uint16(b[i:]))))
			}
		case 4:
			for i := 0; i+4 <= len(b); i += 4 {
				dst = append(dst, float32(int32(order.Uint32(b[i:]))))
			}
		case 8:
			for i := 0; i+8 <= len(b); i += 8 {
				dst = append(dst, float32(int64(order.Uint64(b[i:]))))
			}
		}
	case 'u':
		switch dt.size {
		case 1:
			for _, v := range b {
				dst = append(dst, float32(v))
			}
		case 2:
			for i := 0; i+2 <= len(b); i += 2 {
				dst = append(dst, float32(order.Uint16(b[i:])))
			}
		case 4:
			for i := 0; i+4 <= len(b); i += 4 {
				dst = append(dst, float32(order.Uint32(b[i:])))
			}
		case 8:
			for i := 0; i+8 <= len(b); i += 8 {
				dst = append(dst, float32(order.Uint64(b[i:])))
			}
		}
	case 'b':
		for _, v := range b {
			if v != 0 {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		}
	}
	return dst
}

// halfToFloat32 converts IEEE 754 binary16 bits to float32, exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	case frac == 0: // signed zero
		return math.Float32frombits(sign)
	default: // subnormal: frac * 2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
}

// fortranToC reorders data stored column-major (first index fastest) into
// row-major order for the same shape.
func fortranToC(src []float32, shape []int) []float32 {
	dst := make([]float32, len(src))
	if len(src) == 0 {
		return dst
	}
	// cStride[k] is the C-order stride of dimension k.
	cStride := make([]int, len(shape))
	s := 1
	for k := len(shape) - 1; k >= 0; k-- {
		cStride[k] = s
		s *= shape[k]
	}
	idx := make([]int, len(shape))
	off := 0
	for _, v := range src {
		dst[off] = v
		// Advance the multi-index with the first dimension fastest.
		for k := 0; k < len(shape); k++ {
			idx[k]++
			off += cStride[k]
			if idx[k] < shape[k] {
				break
			}
			off -= idx[k] * cStride[k]
			idx[k] = 0
		}
	}
	return dst
}
