package kernels

// PackedB is the weight operand of Gemm, packed once into the layout the
// micro-kernel streams: the k rows are cut into blocks of kcBlock rows; within
// a block come the column panels, nr wide, each holding the block's rows of
// its nr columns contiguously (zero-padded past column n). So one block of
// rows for consecutive panels is one contiguous run of memory.
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

// panel returns the kcb*nr values of column panel j in the row block that
// starts at row p0 (a multiple of kcBlock), kcb = min(kcBlock, k-p0).
func (p *PackedB) panel(j, p0 int) []float32 {
	kcb := min(kcBlock, p.k-p0)
	off := p0*p.panels()*p.nr + j*kcb*p.nr
	return p.data[off : off+kcb*p.nr]
}

// rows returns rows [r0, r1) of column panel j; both must lie in one block
// of kcBlock rows.
func (p *PackedB) rows(j, r0, r1 int) []float32 {
	p0 := r0 / kcBlock * kcBlock
	kcb := min(kcBlock, p.k-p0)
	off := p0*p.panels()*p.nr + j*kcb*p.nr + (r0-p0)*p.nr
	return p.data[off : off+(r1-r0)*p.nr]
}

// at returns the offset of row r, column c in data.
func (p *PackedB) at(r, c int) int {
	p0 := r / kcBlock * kcBlock
	kcb := min(kcBlock, p.k-p0)
	return p0*p.panels()*p.nr + (c/p.nr)*kcb*p.nr + (r-p0)*p.nr + c%p.nr
}

// PackB packs the k x n row-major matrix b (row stride ldb) for Gemm, in the
// layout of the kernels in use at the time of the call. For a Keras Dense
// kernel of shape (in, out), k = in, n = out, ldb = out.
func PackB(k, n int, b []float32, ldb int) *PackedB {
	checkMatrix("PackB", "b", k, n, b, ldb)
	p := newPackedB(k, n)
	packBInto(p, b, ldb)
	return p
}

// packBInto fills p.data (of any prior content) with the k x n matrix b:
// per row block, per column panel, the block's rows of the panel's columns,
// zero past column n.
func packBInto(p *PackedB, b []float32, ldb int) {
	k, n, nr := p.k, p.n, p.nr
	for p0 := 0; p0 < k; p0 += kcBlock {
		kcb := min(kcBlock, k-p0)
		for j0 := 0; j0 < n; j0 += nr {
			w := min(nr, n-j0)
			o := p.at(p0, j0)
			dst := p.data[o : o+kcb*nr]
			for r := 0; r < kcb; r++ {
				d := dst[r*nr : (r+1)*nr]
				copy(d[:w], b[(p0+r)*ldb+j0:(p0+r)*ldb+j0+w])
				clear(d[w:])
			}
		}
	}
}

// PackBTrans packs the transpose of the n x k row-major matrix bt (row
// stride ldbt), so that Gemm computes A·btᵀ. For a weight stored as
// (out, in), k = in, n = out.
func PackBTrans(k, n int, bt []float32, ldbt int) *PackedB {
	checkMatrix("PackBTrans", "bt", n, k, bt, ldbt)
	p := newPackedB(k, n)
	nr := p.nr
	for p0 := 0; p0 < k; p0 += kcBlock {
		kcb := min(kcBlock, k-p0)
		for j0 := 0; j0 < n; j0 += nr {
			o := p.at(p0, j0)
			dst := p.data[o : o+kcb*nr]
			// Column c of the panel is row j0+c of bt: read it in order,
			// write it with stride nr.
			for c := 0; c < min(nr, n-j0); c++ {
				src := bt[(j0+c)*ldbt+p0 : (j0+c)*ldbt+p0+kcb]
				for r, v := range src {
					dst[r*nr+c] = v
				}
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
