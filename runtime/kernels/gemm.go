package kernels

import "sync"

// Blocking of the inner dimension and of the columns: a kcBlock x mr slice of
// packed A stays in L1 while the micro-kernel sweeps ncBlock columns of B,
// whose kcBlock x ncBlock block stays in L2.
const (
	kcBlock = 384
	ncBlock = 384
)

// microKernel is one register-blocked implementation of the tile update.
type microKernel struct {
	mr, nr int
	// run computes, for i < rows (rows <= mr) and j < nv (nv <= nr):
	//
	//	c[i*ldc+j] = sum_{p<k} a[i*lda+p]*b[p*nr+j] + (load ? c[i*ldc+j] : 0) + (bias != nil ? bias[j] : 0)
	//
	// a is a row-major tile of A (rows rows of k values, row stride lda), b a
	// packed column panel (k rows of nr values).
	run func(rows, k int, a []float32, lda int, b, c []float32, ldc, nv int, load bool, bias []float32)
}

var (
	genericKernel   = genericFor(16)
	genericKernel32 = genericFor(32)
)

// genericFor returns the portable micro-kernel for panels nr wide.
func genericFor(nr int) *microKernel {
	return &microKernel{mr: 4, nr: nr, run: func(rows, k int, a []float32, lda int, b, c []float32, ldc, nv int, load bool, bias []float32) {
		kernGeneric(nr, rows, k, a, lda, b, c, ldc, nv, load, bias)
	}}
}

// asmKernels holds the assembly micro-kernels by level, filled in by the
// architecture files; nil entries fall back to the portable kernel.
var asmKernels [3]*microKernel

// kernelFor returns the micro-kernel of level l.
func kernelFor(l level) *microKernel {
	for ; l > levelGeneric; l-- {
		if k := asmKernels[l]; k != nil {
			return k
		}
	}
	return genericKernel
}

// kernelForPanel returns the fastest active micro-kernel that reads column
// panels nr wide; a PackedB made at another level runs on the portable one.
func kernelForPanel(nr int) *microKernel {
	for l := active; l > levelGeneric; l-- {
		if k := asmKernels[l]; k != nil && k.nr == nr {
			return k
		}
	}
	switch nr {
	case 16:
		return genericKernel
	case 32:
		return genericKernel32
	}
	return genericFor(nr)
}

// aSource produces row panels of the left operand A, so that a convolution
// can feed patches straight into the packed layout without an im2col matrix.
type aSource interface {
	// packA copies rows [i0, i0+rows) and columns [p0, p0+kc) of A into
	// the row-major tile dst with row stride ld: dst[i*ld+p] = A[i0+i][p0+p].
	packA(dst []float32, ld, i0, rows, p0, kc int)
}

// denseA is a row-major matrix with row stride lda.
type denseA struct {
	a   []float32
	lda int
}

func (d denseA) packA(dst []float32, ld, i0, rows, p0, kc int) {
	for i := 0; i < rows; i++ {
		copy(dst[i*ld:i*ld+kc], d.a[(i0+i)*d.lda+p0:(i0+i)*d.lda+p0+kc])
	}
}

// Gemm computes C = A·B (+ C when accumulate) (+ bias broadcast over rows)
// where A is m x k row-major with row stride lda, B is the packed k x n
// weight and C is m x n row-major with row stride ldc. bias, when not nil,
// holds n values. One-row products (m == 1) stream the weights as a GEMV.
//
// The reference loop:
//
//	for i < m, j < n:
//		s := sum_{p<k} a[i*lda+p]*B[p][j]
//		if accumulate { s += c[i*ldc+j] }
//		if bias != nil { s += bias[j] }
//		c[i*ldc+j] = s
func Gemm(m, n, k int, a []float32, lda int, pb *PackedB, c []float32, ldc int, accumulate bool, bias []float32) {
	if pb == nil || pb.k != k || pb.n != n {
		panic("kernels: Gemm: packed B does not match k x n")
	}
	checkMatrix("Gemm", "a", m, k, a, lda)
	checkMatrix("Gemm", "c", m, n, c, ldc)
	if bias != nil && len(bias) < n {
		panic("kernels: Gemm: bias shorter than n")
	}
	gemmSource(m, n, k, denseA{a, lda}, pb, c, ldc, accumulate, bias, nil)
}

// parallelMinFlops is the smallest product worth splitting across
// goroutines: below it the start-up cost outweighs the gain.
const parallelMinFlops = 1 << 20

// gemmSource is Gemm over any A source; post, when not nil, is applied in
// place to the finished parts of C (runs of whole rows or row segments)
// while they are still in cache.
func gemmSource(m, n, k int, src aSource, pb *PackedB, c []float32, ldc int, accumulate bool, bias []float32, post func(y []float32)) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				s := float32(0)
				if accumulate {
					s = row[j]
				}
				if bias != nil {
					s += bias[j]
				}
				row[j] = s
			}
			if post != nil {
				post(row)
			}
		}
		return
	}
	kern := kernelForPanel(pb.nr)
	np := pb.panels()
	job := gemmJob{kern: kern, src: src, pb: pb, c: c, ldc: ldc, accumulate: accumulate, bias: bias, post: post}
	t := Threads()
	if t <= 1 || 2*m*n*k < parallelMinFlops {
		job.run(0, m, 0, np)
		return
	}
	// Split rows (in whole register tiles) or column panels, whichever
	// divides more evenly across t goroutines.
	tiles := (m + kern.mr - 1) / kern.mr
	rowLoad := float64((tiles+t-1)/t*kern.mr) / (float64(m) / float64(t))
	panelLoad := float64((np+t-1)/t) / (float64(np) / float64(t))
	var parts [][4]int // i0, i1, j0, j1
	switch {
	case tiles >= t && (rowLoad <= panelLoad || np < t):
		for w := 0; w < t; w++ {
			i0, i1 := w*tiles/t*kern.mr, min((w+1)*tiles/t*kern.mr, m)
			parts = append(parts, [4]int{i0, i1, 0, np})
		}
	case np >= t:
		for w := 0; w < t; w++ {
			parts = append(parts, [4]int{0, m, w * np / t, (w + 1) * np / t})
		}
	default:
		job.run(0, m, 0, np)
		return
	}
	var wg sync.WaitGroup
	for _, q := range parts[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); job.run(q[0], q[1], q[2], q[3]) }()
	}
	job.run(parts[0][0], parts[0][1], parts[0][2], parts[0][3])
	wg.Wait()
}

type gemmJob struct {
	kern       *microKernel
	src        aSource
	pb         *PackedB
	c          []float32
	ldc        int
	accumulate bool
	bias       []float32
	post       func(y []float32) // applied to the finished rows; nil: none
}

var aBufPool = sync.Pool{New: func() any { b := make([]float32, (kcBlock+tilePad)*16); return &b }}

// tilePad pads the row stride of the A tile so that its rows do not all fall
// in the same L1 cache sets.
const tilePad = 16

// run computes rows [m0, m1) of C over column panels [j0, j1).
func (g *gemmJob) run(m0, m1, j0, j1 int) {
	kern, pb := g.kern, g.pb
	k, n, nr := pb.k, pb.n, pb.nr
	kc := kcBlock // the packed B is blocked by kcBlock rows
	dense, isDense := g.src.(denseA)
	bufp := aBufPool.Get().(*[]float32)
	defer aBufPool.Put(bufp)
	if need := (kc + tilePad) * kern.mr; len(*bufp) < need {
		*bufp = make([]float32, need)
	}
	abuf := *bufp
	ncp := max(ncBlock/nr, 1)
	for jc := j0; jc < j1; jc += ncp {
		jend := min(jc+ncp, j1)
		for pc := 0; pc < k; pc += kc {
			kcur := min(kc, k-pc)
			load := g.accumulate || pc > 0
			var bias []float32
			if pc == 0 {
				bias = g.bias
			}
			for i := m0; i < m1; i += kern.mr {
				rows := min(kern.mr, m1-i)
				var ap []float32
				lda := kcur + tilePad
				if isDense && (rows == 1 || dense.lda%512 != 0) {
					// Read A in place; a row stride that is a multiple of 2 KiB
					// would put the tile's rows in the same L1 sets, so those
					// are copied to a padded tile instead.
					lda = dense.lda
					ap = dense.a[i*lda+pc : (i+rows-1)*lda+pc+kcur]
				} else {
					ap = abuf[:(rows-1)*lda+kcur]
					g.src.packA(ap, lda, i, rows, pc, kcur)
				}
				for j := jc; j < jend; j++ {
					nv := min(nr, n-j*nr)
					var bj []float32
					if bias != nil {
						bj = bias[j*nr : j*nr+nv]
					}
					kern.run(rows, kcur, ap, lda, pb.panel(j, pc), g.c[i*g.ldc+j*nr:], g.ldc, nv, load, bj)
				}
				if g.post != nil && pc+kcur == k {
					c0, c1 := jc*nr, min(jend*nr, n)
					if c0 == 0 && c1 == n && g.ldc == n {
						// Whole rows: one run of memory.
						c1, rows = rows*n, 1
					}
					for r := i; r < i+rows; r++ {
						row := g.c[r*g.ldc+c0 : r*g.ldc+c1]
						g.post(row)
					}
				}
			}
		}
	}
}

// kernGeneric is the portable micro-kernel; its contract is microKernel.run.
// It works on 4x4 register blocks of the tile, nr being a multiple of 4.
func kernGeneric(nr, rows, k int, a []float32, lda int, b, c []float32, ldc, nv int, load bool, bias []float32) {
	if len(b) < k*nr || nr%4 != 0 {
		panic("kernels: kernGeneric: bad panel")
	}
	var t [16]float32
	for i0 := 0; i0 < rows; i0 += 4 {
		ri := min(4, rows-i0)
		for j0 := 0; j0 < nv; j0 += 4 {
			if ri == 4 {
				block4x4(k, a[i0*lda:], lda, b[j0:], nr, &t)
			} else {
				block1x4(k, a[i0*lda:], lda, ri, b[j0:], nr, &t)
			}
			cj := min(4, nv-j0)
			for i := 0; i < ri; i++ {
				cr := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+cj]
				for j := range cr {
					s := t[i*4+j]
					if load {
						s += cr[j]
					}
					if bias != nil {
						s += bias[j0+j]
					}
					cr[j] = s
				}
			}
		}
	}
}

// block4x4 sets t to the 4x4 product of rows 0..3 of a (row stride lda)
// and columns 0..3 of b (row stride ldb).
func block4x4(k int, a []float32, lda int, b []float32, ldb int, t *[16]float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a0s, a1s, a2s, a3s := a[:k], a[lda:lda+k], a[2*lda:2*lda+k], a[3*lda:3*lda+k]
	for p := 0; p < k; p++ {
		bp := b[p*ldb : p*ldb+4 : p*ldb+4]
		a0, a1, a2, a3 := a0s[p], a1s[p], a2s[p], a3s[p]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	*t = [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
}

// block1x4 sets the first ri rows of t one row at a time (the tile's edge).
func block1x4(k int, a []float32, lda, ri int, b []float32, ldb int, t *[16]float32) {
	for i := 0; i < ri; i++ {
		var c0, c1, c2, c3 float32
		ai := a[i*lda : i*lda+k]
		for p, av := range ai {
			bp := b[p*ldb : p*ldb+4 : p*ldb+4]
			c0 += av * bp[0]
			c1 += av * bp[1]
			c2 += av * bp[2]
			c3 += av * bp[3]
		}
		t[i*4], t[i*4+1], t[i*4+2], t[i*4+3] = c0, c1, c2, c3
	}
}
