package npy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/kerasrun/kerasrun/internal/atomicfile"
)

// Write encodes data with the given shape as a little-endian float32 .npy
// array in C order, byte for byte what numpy's np.save writes for it.
func Write(w io.Writer, shape []int, data []float32) error {
	n, err := checkShape(shape, len(data))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(formatHeader(shape))
	var b [4]byte
	for _, v := range data[:n] {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

// checkShape returns the element count of shape and whether data has it.
func checkShape(shape []int, have int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("npy: shape %v overflows", shape)
		}
		n *= d
	}
	if n != have {
		return 0, fmt.Errorf("npy: shape %v holds %d elements, data has %d", shape, n, have)
	}
	return n, nil
}

// WriteFile writes data as a float32 .npy file at path, atomically: it
// writes a temporary file in the same directory and renames it over path.
func WriteFile(path string, shape []int, data []float32) error {
	if _, err := checkShape(shape, len(data)); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, shape, data) })
}
