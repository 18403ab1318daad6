package kernels

// PackedB is the weight operand of Gemm, packed once into the panel layout
// of the micro-kernel: column panels nr wide, each holding all k rows of its
// nr columns contiguously (k*nr values, zero-padded past column n).
type PackedB struct {
	k, n, nr int
	data     []float32
}

// K returns the number of rows of the packed matrix (the inner dimension).
func (p *PackedB) K() int { return p.k }

// N returns the number of columns of the packed matrix (the output width).
func (p *PackedB) N() int { return p.n }

// panels returns the number of column panels.
func (p *PackedB) panels() int { return (p.n + p.nr - 1) / p.nr }

// panel returns the k*nr values of column panel j starting at row p0.
func (p *PackedB) panel(j, p0 int) []float32 {
	off := j*p.k*p.nr + p0*p.nr
	return p.data[off : (j+1)*p.k*p.nr]
}

// PackB packs the k x n row-major matrix b (row stride ldb) for Gemm, in the
// layout of the kernels in use at the time of the call. For a Keras Dense
// kernel of shape (in, out), k = in, n = out, ldb = out.
func PackB(k, n int, b []float32, ldb int) *PackedB {
	checkMatrix("PackB", "b", k, n, b, ldb)
	p := newPackedB(k, n)
	for j := 0; j < p.panels(); j++ {
		dst := p.data[j*k*p.nr : (j+1)*k*p.nr]
		j0 := j * p.nr
		w := min(p.nr, n-j0)
		for r := 0; r < k; r++ {
			copy(dst[r*p.nr:r*p.nr+w], b[r*ldb+j0:r*ldb+j0+w])
		}
	}
	return p
}

// PackBTrans packs the transpose of the n x k row-major matrix bt (row
// stride ldbt), so that Gemm computes A·btᵀ. For a weight stored as
// (out, in), k = in, n = out.
func PackBTrans(k, n int, bt []float32, ldbt int) *PackedB {
	checkMatrix("PackBTrans", "bt", n, k, bt, ldbt)
	p := newPackedB(k, n)
	if k == 0 {
		return p
	}
	for j := 0; j < p.panels(); j++ {
		dst := p.data[j*k*p.nr : (j+1)*k*p.nr]
		j0 := j * p.nr
		w := min(p.nr, n-j0)
		for c := 0; c < w; c++ {
			row := bt[(j0+c)*ldbt : (j0+c)*ldbt+k]
			for r, v := range row {
				dst[r*p.nr+c] = v
			}
		}
	}
	return p
}

func newPackedB(k, n int) *PackedB {
	nr := kernelFor(active).nr
	p := &PackedB{k: k, n: n, nr: nr}
	p.data = make([]float32, p.panels()*k*nr)
	return p
}

// checkMatrix panics when the rows x cols matrix x with row stride ld does
// not fit in its slice: that is programmer misuse, not bad input.
func checkMatrix(fn, name string, rows, cols int, x []float32, ld int) {
	if rows < 0 || cols < 0 {
		panic("kernels: " + fn + ": negative dimension")
	}
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic("kernels: " + fn + ": leading dimension of " + name + " smaller than its width")
	}
	if len(x) < (rows-1)*ld+cols {
		panic("kernels: " + fn + ": " + name + " is too short for its dimensions")
	}
}
