package h5

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestDecodeFloatLE compares the unrolled decoders with the plain loop for
// lengths around the unroll width, with guard values after the output.
func TestDecodeFloatLE(t *testing.T) {
	for n := 0; n <= 33; n++ {
		raw := make([]byte, 8*n)
		for i := range raw {
			raw[i] = byte(i*37 + n)
		}
		f32 := make([]float32, n+1)
		f32[n] = 12345
		decodeFloat32LE(f32[:n], raw[:4*n])
		for i := 0; i < n; i++ {
			if want := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); math.Float32bits(f32[i]) != math.Float32bits(want) {
				t.Fatalf("float32 n=%d i=%d: %v, want %v", n, i, f32[i], want)
			}
		}
		if f32[n] != 12345 {
			t.Fatalf("float32 n=%d: wrote past the end", n)
		}
		f64 := make([]float64, n+1)
		f64[n] = 12345
		decodeFloat64LE(f64[:n], raw)
		for i := 0; i < n; i++ {
			if want := math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])); math.Float64bits(f64[i]) != math.Float64bits(want) {
				t.Fatalf("float64 n=%d i=%d: %v, want %v", n, i, f64[i], want)
			}
		}
		if f64[n] != 12345 {
			t.Fatalf("float64 n=%d: wrote past the end", n)
		}
	}
}
