package kernels

// gonum's pure-Go BLAS as an independent oracle for Gemm: its Dgemm gives
// the float64 product (the value to match) and, on absolute values, the
// magnitude that scales the tolerance; its Sgemm is a second float32
// implementation with its own blocking and summation order. Neither shares
// code with gemmRef in gemm_test.go.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// oracleCase is one Gemm call: C = A·B (+ C when acc) (+ bias when bias),
// B given row-major (ldb) or, when trans, as its n x k transpose.
type oracleCase struct {
	m, n, k          int
	lda, ldb, ldc    int
	acc, bias, trans bool
}

// oracleErr is the worst element of a case (or of a run of cases):
// abs is |got - Dgemm|, ratio is abs over the tolerance, sgemm is
// |got - Sgemm|.
type oracleErr struct {
	abs, ratio, sgemm float64
}

func (e *oracleErr) merge(o oracleErr) {
	e.abs, e.ratio, e.sgemm = max(e.abs, o.abs), max(e.ratio, o.ratio), max(e.sgemm, o.sgemm)
}

func widen(s []float32, abs bool) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
		if abs {
			d[i] = math.Abs(d[i])
		}
	}
	return d
}

// runOracleCase runs tc through Gemm and gonum and fails when an element of
// C differs from the float64 Dgemm value by more than closeTo's bound,
// (k+4)·1.2e-7·mag + 1e-6, where mag is Dgemm of |A|·|B| plus |C| and
// |bias|: 1.2e-7 is 2^-23, twice float32's unit roundoff, so the bound is
// twice the classic γ_k·Σ|terms| bound of a k-term float32 dot product
// (k products and sums) plus the adds of C and bias, whatever the order of
// the sum; 1e-6 covers results that cancel to about zero. Sgemm, under the
// same bound, may sit on the other side of the exact value: the two float32
// results are compared with twice the tolerance.
func runOracleCase(t *testing.T, r *rand.Rand, tc oracleCase) oracleErr {
	t.Helper()
	m, n, k := tc.m, tc.n, tc.k
	a := randSlice(r, max((m-1)*tc.lda+k, 1))
	tB, bRows, bCols := blas.NoTrans, k, n
	if tc.trans {
		tB, bRows, bCols = blas.Trans, n, k
	}
	b := randSlice(r, max((bRows-1)*tc.ldb+bCols, 1))
	var pb *PackedB
	if tc.trans {
		pb = PackBTrans(k, n, b, tc.ldb)
	} else {
		pb = PackB(k, n, b, tc.ldb)
	}
	var bias []float32
	if tc.bias {
		bias = randSlice(r, n)
	}
	size := (m-1)*tc.ldc + n
	c0 := randSlice(r, size)

	// Gemm's accumulate and bias are BLAS's beta = 1 on a C seeded with
	// (C0 if acc) + bias; alpha is 1. want and mag are seeded in float64.
	seed := make([]float32, size)
	want, mag := make([]float64, size), make([]float64, size)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			x := i*tc.ldc + j
			if tc.acc {
				seed[x], want[x], mag[x] = c0[x], float64(c0[x]), math.Abs(float64(c0[x]))
			}
			if bias != nil {
				seed[x] += bias[j]
				want[x] += float64(bias[j])
				mag[x] += math.Abs(float64(bias[j]))
			}
		}
	}
	impl := gonum.Implementation{}
	impl.Dgemm(blas.NoTrans, tB, m, n, k, 1, widen(a, false), tc.lda, widen(b, false), tc.ldb, 1, want, tc.ldc)
	impl.Dgemm(blas.NoTrans, tB, m, n, k, 1, widen(a, true), tc.lda, widen(b, true), tc.ldb, 1, mag, tc.ldc)
	single := append([]float32(nil), seed...)
	impl.Sgemm(blas.NoTrans, tB, m, n, k, 1, a, tc.lda, b, tc.ldb, 1, single, tc.ldc)

	c := append([]float32(nil), c0...)
	Gemm(m, n, k, a, tc.lda, pb, c, tc.ldc, tc.acc, bias)

	// The worst element against each oracle is asserted once, after the
	// loop, so a failure names the element that is furthest out.
	var worst oracleErr
	wd, ws, sratio := -1, -1, 0.0
	for i := 0; i < m; i++ {
		for j := 0; j < tc.ldc && i*tc.ldc+j < size; j++ {
			x := i*tc.ldc + j
			if j >= n {
				if c[x] != c0[x] {
					t.Fatalf("%+v: Gemm wrote C[%d][%d] past n", tc, i, j)
				}
				continue
			}
			tol := float64(k+4)*1.2e-7*mag[x] + 1e-6
			d, ds := math.Abs(float64(c[x])-want[x]), math.Abs(float64(c[x]-single[x]))
			if d/tol > worst.ratio {
				wd = x
			}
			if ds/(2*tol) > sratio {
				ws, sratio = x, ds/(2*tol)
			}
			worst.merge(oracleErr{abs: d, ratio: d / tol, sgemm: ds})
		}
	}
	if wd >= 0 {
		require.LessOrEqualf(t, worst.ratio, 1.0, "%+v: C[%d][%d] = %v, gonum Dgemm %v (magnitude %v)",
			tc, wd/tc.ldc, wd%tc.ldc, c[wd], want[wd], mag[wd])
	}
	if ws >= 0 {
		require.LessOrEqualf(t, sratio, 1.0, "%+v: C[%d][%d] = %v, gonum Sgemm %v (magnitude %v)",
			tc, ws/tc.ldc, ws%tc.ldc, c[ws], single[ws], mag[ws])
	}
	return worst
}

// TestGemmGonumOracle checks Gemm on every implementation (assembly and
// portable, as forLevels selects them) against gonum over odd and
// power-of-two sizes, 1xN and Nx1 products, k = 0, padded strides,
// transposed B, accumulate and bias in every combination, and shapes that
// cross the K and N blocking and the parallel split.
func TestGemmGonumOracle(t *testing.T) {
	dims := []int{1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33, 64, 65}
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		var worst oracleErr
		cases := 0
		run := func(m, n, k int, pad int, flags int) {
			tc := oracleCase{m: m, n: n, k: k, acc: flags&1 != 0, bias: flags&2 != 0, trans: flags&4 != 0}
			tc.lda, tc.ldc = max(k, 1)+pad, n+pad
			if tc.trans {
				tc.ldb = max(k, 1) + pad
			} else {
				tc.ldb = n + pad
			}
			worst.merge(runOracleCase(t, r, tc))
			cases++
		}
		for _, m := range dims {
			for _, n := range dims {
				run(m, n, dims[r.IntN(len(dims))], r.IntN(3), r.IntN(8))
			}
		}
		// 1xN (the GEMV path), Nx1, and k = 0, each in all eight flag
		// combinations.
		for flags := 0; flags < 8; flags++ {
			for _, s := range [][3]int{{1, 1, 1}, {1, 129, 77}, {1, 1000, 300}, {77, 1, 129}, {300, 1, 1000}, {9, 11, 0}, {1, 7, 0}} {
				run(s[0], s[1], s[2], flags%3, flags)
			}
		}
		// Long inner dimensions and shapes large enough to split across
		// goroutines.
		for _, s := range [][3]int{{3, 5, 2049}, {37, 541, 263}, {101, 67, 600}, {300, 130, 70}, {129, 257, 65}} {
			run(s[0], s[1], s[2], 1, 3)
			run(s[0], s[1], s[2], 0, 4)
		}
		t.Logf("%d cases: max |Gemm - Dgemm| = %.3g, max error/tolerance = %.3g, max |Gemm - Sgemm| = %.3g", cases, worst.abs, worst.ratio, worst.sgemm)
	})
}

// BenchmarkGemmGonum reports GFLOP/s of Gemm (best implementation, pre-packed
// weights) and of gonum's pure-Go Sgemm on the reference shapes; both use
// GOMAXPROCS goroutines.
func BenchmarkGemmGonum(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		a, w := randSlice(r, m*k), randSlice(r, k*n)
		c := make([]float32, m*n)
		flops := 2 * float64(m*n*k)
		b.Run(fmt.Sprintf("%dx%dx%d/kerasrun", m, k, n), func(b *testing.B) {
			pb := PackB(k, n, w, n)
			b.ResetTimer()
			for b.Loop() {
				Gemm(m, n, k, a, k, pb, c, n, false, nil)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("%dx%dx%d/gonum", m, k, n), func(b *testing.B) {
			for b.Loop() {
				gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, w, n, 0, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
