package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// gemmRef is the float64 reference of Gemm; it returns values and the
// magnitude (sum of absolute terms) of each.
func gemmRef(m, n, k int, a []float32, lda int, b []float32, ldb int, c0 []float32, ldc int, acc bool, bias []float32) (want, mag []float64) {
	want, mag = make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, g float64
			for p := 0; p < k; p++ {
				t := float64(a[i*lda+p]) * float64(b[p*ldb+j])
				s += t
				g += math.Abs(t)
			}
			if acc {
				s += float64(c0[i*ldc+j])
				g += math.Abs(float64(c0[i*ldc+j]))
			}
			if bias != nil {
				s += float64(bias[j])
				g += math.Abs(float64(bias[j]))
			}
			want[i*n+j], mag[i*n+j] = s, g
		}
	}
	return
}

type gemmCase struct {
	m, n, k    int
	lda, ldc   int
	acc, bias  bool
	transposed bool
}

func runGemmCase(t *testing.T, r *rand.Rand, tc gemmCase) {
	t.Helper()
	m, n, k := tc.m, tc.n, tc.k
	a := randSlice(r, max(m*tc.lda, 1))
	b := randSlice(r, max(k*n, 1))
	var bias []float32
	if tc.bias {
		bias = randSlice(r, n)
	}
	const pad = 37
	size := 0
	if m > 0 {
		size = (m-1)*tc.ldc + n
	}
	c, buf := guarded(size, pad)
	init := randSlice(r, size)
	copy(c, init)
	var pb *PackedB
	if tc.transposed {
		bt := make([]float32, n*k)
		for p := 0; p < k; p++ {
			for j := 0; j < n; j++ {
				bt[j*k+p] = b[p*n+j]
			}
		}
		pb = PackBTrans(k, n, bt, max(k, 1))
	} else {
		pb = PackB(k, n, b, max(n, 1))
	}
	want, mag := gemmRef(m, n, k, a, tc.lda, b, n, init, tc.ldc, tc.acc, bias)
	Gemm(m, n, k, a, tc.lda, pb, c, tc.ldc, tc.acc, bias)
	checkGuards(t, "Gemm", buf, pad, size)
	for i := 0; i < m; i++ {
		for j := 0; j < tc.ldc && i*tc.ldc+j < size; j++ {
			got := c[i*tc.ldc+j]
			if j >= n {
				if got != init[i*tc.ldc+j] {
					t.Fatalf("%+v: wrote C[%d][%d] past n", tc, i, j)
				}
				continue
			}
			if !closeTo(got, want[i*n+j], mag[i*n+j], k) {
				t.Fatalf("%+v: C[%d][%d] = %v, want %v", tc, i, j, got, want[i*n+j])
			}
		}
	}
}

func TestGemmShapes(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		dims := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33}
		for _, m := range dims {
			for _, n := range dims {
				k := dims[r.IntN(len(dims))]
				tc := gemmCase{m: m, n: n, k: k, lda: k + r.IntN(3), ldc: n + r.IntN(3), acc: r.IntN(2) == 0, bias: r.IntN(2) == 0, transposed: r.IntN(4) == 0}
				tc.lda, tc.ldc = max(tc.lda, 1), max(tc.ldc, 1)
				runGemmCase(t, r, tc)
			}
		}
		for k := 0; k <= 33; k++ {
			runGemmCase(t, r, gemmCase{m: 13, n: 35, k: k, lda: k + 1, ldc: 35, acc: k%2 == 0, bias: k%3 == 0})
		}
		// Large and prime shapes crossing the K and N blocking.
		for _, s := range [][3]int{{1, 1000, 700}, {1, 97, 1031}, {37, 541, 263}, {101, 67, 600}, {2, 1031, 5}, {29, 33, 1024}} {
			runGemmCase(t, r, gemmCase{m: s[0], n: s[1], k: s[2], lda: s[2] + 3, ldc: s[1] + 1, acc: true, bias: true})
			runGemmCase(t, r, gemmCase{m: s[0], n: s[1], k: s[2], lda: s[2], ldc: s[1], transposed: true})
		}
	})
}

// TestGemmParallelMatchesSerial checks that splitting across goroutines
// gives bit-identical results to one goroutine.
func TestGemmParallelMatchesSerial(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, s := range [][3]int{{300, 130, 70}, {7, 700, 300}, {1, 2000, 300}} {
			m, n, k := s[0], s[1], s[2]
			a, b := randSlice(r, m*k), randSlice(r, k*n)
			pb := PackB(k, n, b, n)
			c1, c2 := make([]float32, m*n), make([]float32, m*n)
			old := SetThreads(1)
			Gemm(m, n, k, a, k, pb, c1, n, false, nil)
			SetThreads(3)
			Gemm(m, n, k, a, k, pb, c2, n, false, nil)
			SetThreads(old)
			for i := range c1 {
				if c1[i] != c2[i] {
					t.Fatalf("%v: parallel C[%d] = %v, serial %v", s, i, c2[i], c1[i])
				}
			}
		}
	})
}

func TestGemmMisusePanics(t *testing.T) {
	pb := PackB(2, 2, []float32{1, 2, 3, 4}, 2)
	for name, f := range map[string]func(){
		"short a":  func() { Gemm(2, 2, 2, make([]float32, 3), 2, pb, make([]float32, 4), 2, false, nil) },
		"short c":  func() { Gemm(2, 2, 2, make([]float32, 4), 2, pb, make([]float32, 3), 2, false, nil) },
		"wrong k":  func() { Gemm(2, 2, 3, make([]float32, 6), 3, pb, make([]float32, 4), 2, false, nil) },
		"bad ldb":  func() { PackB(2, 2, make([]float32, 4), 1) },
		"bias len": func() { Gemm(2, 2, 2, make([]float32, 4), 2, pb, make([]float32, 4), 2, false, []float32{1}) },
	} {
		assert.Panics(t, f, name)
	}
}

// TestAsmMatchesPortable runs the same products on every implementation and
// compares each with the portable one (besides the float64 reference above).
func TestAsmMatchesPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for it := 0; it < 60; it++ {
		m, n, k := 1+r.IntN(40), 1+r.IntN(70), 1+r.IntN(300)
		a, b, bias := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, n)
		var ref []float32
		for _, l := range levels() {
			old := setLevel(l)
			c := make([]float32, m*n)
			Gemm(m, n, k, a, k, PackB(k, n, b, n), c, n, false, bias)
			setLevel(old)
			if ref == nil {
				ref = c
				continue
			}
			for i := range c {
				if d := math.Abs(float64(c[i] - ref[i])); d > 1e-5*float64(k) {
					t.Fatalf("%s %dx%dx%d: C[%d] = %v, portable %v", l, m, k, n, i, c[i], ref[i])
				}
			}
		}
	}
}

func TestSetThreads(t *testing.T) {
	old := SetThreads(3)
	defer SetThreads(old)
	assert.Equal(t, 3, Threads(), "Threads() after SetThreads(3)")
	assert.Equal(t, 3, SetThreads(0), "SetThreads(0) returns the previous setting")
	assert.GreaterOrEqual(t, Threads(), 1, "default Threads()")
	assert.Equal(t, active.String(), Implementation())
}
