package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// guard is written around every output region; a kernel that writes outside
// its output changes it.
const guard = float32(-12345.678)

// guarded returns a slice of size n with guard values on both sides, and
// the backing buffer to check with checkGuards.
func guarded(n, pad int) (s, buf []float32) {
	buf = make([]float32, n+2*pad)
	for i := range buf {
		buf[i] = guard
	}
	return buf[pad : pad+n], buf
}

func checkGuards(t *testing.T, what string, buf []float32, pad, n int) {
	t.Helper()
	for i := 0; i < pad; i++ {
		if buf[i] != guard || buf[pad+n+i] != guard {
			t.Fatalf("%s: write outside the output (guard %d)", what, i)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// levels returns the implementations this binary can run, portable first.
func levels() []level {
	var ls []level
	for l := levelGeneric; l <= bestLevel; l++ {
		if l == levelGeneric || asmKernels[l] != nil {
			ls = append(ls, l)
		}
	}
	return ls
}

// forLevels runs f once per implementation with the assembly switched to it.
func forLevels(t *testing.T, f func(t *testing.T)) {
	for _, l := range levels() {
		t.Run(l.String(), func(t *testing.T) {
			old := setLevel(l)
			defer setLevel(old)
			f(t)
		})
	}
}

// closeTo reports whether got is within the float32 rounding bound of a
// k-term dot product whose absolute terms sum to mag.
func closeTo(got float32, want, mag float64, k int) bool {
	tol := float64(k+4)*1.2e-7*mag + 1e-6
	return math.Abs(float64(got)-want) <= tol
}

func shapeName(dims ...int) string { return fmt.Sprint(dims) }
