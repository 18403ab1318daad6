package layers

import (
	"sync"

	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// convProblem is one grouped convolution over channels_last data: batch
// inputs of win.in positions and cin channels to win.out positions and cout
// channels, with a kernel of Keras layout (taps, cin/groups, cout). It is
// computed as a GEMM per group over the im2col matrix (rows = output
// positions, columns = taps x group input channels); 1-D and 2-D
// ungrouped convolutions use the implicit-GEMM kernel instead.
type convProblem struct {
	win                      window
	batch, cin, cout, groups int
}

func (p *convProblem) rows() int { return p.batch * p.win.outSize() }
func (p *convProblem) cinG() int { return p.cin / p.groups }
func (p *convProblem) coutG() int {
	return p.cout / p.groups
}
func (p *convProblem) kG() int { return p.win.taps() * p.cinG() }

// depthwise reports whether every group has one input channel: the
// Keras kernel (taps, 1, cout) is then a depthwise kernel (taps, cin,
// cout/cin) for the kernels.DepthwiseConv2D family.
func (p *convProblem) depthwise() bool {
	return p.groups > 1 && p.groups == p.cin && p.win.planar()
}

// useConvKernel reports whether kernels.Conv2D computes this problem.
func (p *convProblem) useConvKernel() bool { return p.groups == 1 && p.win.planar() }

func (p *convProblem) kernelParams() kernels.ConvParams {
	w := &p.win
	return kernels.ConvParams{
		Batch: p.batch, InH: w.in[1], InW: w.in[2], InC: p.cin,
		KH: w.k[1], KW: w.k[2], OutC: p.cout,
		StrideH: w.stride[1], StrideW: w.stride[2],
		DilationH: w.dil[1], DilationW: w.dil[2],
		PadTop: w.padBefore[1], PadLeft: w.padBefore[2],
		PadBottom: max((w.out[1]-1)*w.stride[1]+(w.k[1]-1)*w.dil[1]+1-w.in[1]-w.padBefore[1], 0),
		PadRight:  max((w.out[2]-1)*w.stride[2]+(w.k[2]-1)*w.dil[2]+1-w.in[2]-w.padBefore[2], 0),
	}
}

// im2col writes the columns [c0, c0+cg) of every input channel group's
// patch matrix: cols[r*rs + (t*cg+c)*cs] = x[n, in(o, t), c0+c] for row
// r = n*outSize + o, zero where the tap falls in the padding. rs, cs = kG,
// 1 gives the row-major matrix; 1, rows gives its transpose.
func (p *convProblem) im2col(x []float32, c0, cg int, tab []int32, cols []float32, rs, cs int) {
	taps, in, out := p.win.taps(), p.win.inSize(), p.win.outSize()
	for n := 0; n < p.batch; n++ {
		xb := x[n*in*p.cin:]
		for o := 0; o < out; o++ {
			r := n*out + o
			for t, i := range tab[o*taps : (o+1)*taps] {
				col := t * cg
				if i < 0 {
					for c := 0; c < cg; c++ {
						cols[r*rs+(col+c)*cs] = 0
					}
					continue
				}
				src := xb[int(i)*p.cin+c0 : int(i)*p.cin+c0+cg]
				if cs == 1 {
					copy(cols[r*rs+col:r*rs+col+cg], src)
					continue
				}
				for c, v := range src {
					cols[r*rs+(col+c)*cs] = v
				}
			}
		}
	}
}

// col2im adds the row-major patch matrix cols (rows x taps*cg) back into
// the input channels [c0, c0+cg) of dx: the adjoint of im2col.
func (p *convProblem) col2im(cols []float32, c0, cg int, tab []int32, dx []float32) {
	taps, in, out := p.win.taps(), p.win.inSize(), p.win.outSize()
	for n := 0; n < p.batch; n++ {
		db := dx[n*in*p.cin:]
		for o := 0; o < out; o++ {
			row := cols[(n*out+o)*taps*cg:]
			for t, i := range tab[o*taps : (o+1)*taps] {
				if i < 0 {
					continue
				}
				dst := db[int(i)*p.cin+c0 : int(i)*p.cin+c0+cg]
				for c, v := range row[t*cg : t*cg+cg] {
					dst[c] += v
				}
			}
		}
	}
}

// forward computes y (rows x cout) = conv(x, kernel) + bias.
func (p *convProblem) forward(x []float32, w *packedKernel, bias []float32, y []float32) {
	if p.depthwise() {
		kernels.DepthwiseConv2D(p.kernelParams(), p.coutG(), x, w.kernel, y, bias)
		return
	}
	if p.useConvKernel() {
		kernels.Conv2D(p.kernelParams(), x, w.conv2D(p), y, bias)
		return
	}
	m, kg, cg, fg := p.rows(), p.kG(), p.cinG(), p.coutG()
	packs := w.groupsB(p)
	if p.groups == 1 && p.win.identity() {
		kernels.Gemm(m, fg, kg, x, kg, packs[0], y, p.cout, false, bias)
		return
	}
	tab := p.win.tapTable()
	cols := make([]float32, m*kg)
	for g := 0; g < p.groups; g++ {
		p.im2col(x, g*cg, cg, tab, cols, kg, 1)
		var b []float32
		if bias != nil {
			b = bias[g*fg:]
		}
		kernels.Gemm(m, fg, kg, cols, kg, packs[g], y[g*fg:], p.cout, false, b)
	}
}

// backwardData returns dx (batch x in x cin) for the output gradient dy.
func (p *convProblem) backwardData(dy []float32, w *packedKernel) []float32 {
	dx := make([]float32, p.batch*p.win.inSize()*p.cin)
	if p.depthwise() {
		kernels.DepthwiseConv2DBackward(p.kernelParams(), p.coutG(), nil, w.kernel, dy, dx, nil)
		return dx
	}
	if p.useConvKernel() {
		kernels.Conv2DInputGrad(p.kernelParams(), dy, w.inputGrad(p), dx)
		return dx
	}
	m, kg, cg, fg := p.rows(), p.kG(), p.cinG(), p.coutG()
	packs := w.groupsBT(p)
	if p.groups == 1 && p.win.identity() {
		kernels.Gemm(m, kg, fg, dy, p.cout, packs[0], dx, kg, false, nil)
		return dx
	}
	tab := p.win.tapTable()
	cols := make([]float32, m*kg)
	for g := 0; g < p.groups; g++ {
		kernels.Gemm(m, kg, fg, dy[g*fg:], p.cout, packs[g], cols, kg, false, nil)
		p.col2im(cols, g*cg, cg, tab, dx)
	}
	return dx
}

// backwardFilter returns the kernel gradient (taps, cin/groups, cout) for
// input x and output gradient dy: per group, colsᵀ · dy.
func (p *convProblem) backwardFilter(x, dy []float32) []float32 {
	m, kg, cg, fg := p.rows(), p.kG(), p.cinG(), p.coutG()
	dw := make([]float32, kg*p.cout)
	if p.depthwise() {
		kernels.DepthwiseConv2DBackward(p.kernelParams(), p.coutG(), x, nil, dy, nil, dw)
		return dw
	}
	if p.useConvKernel() {
		kernels.Conv2DFilterGrad(p.kernelParams(), x, dy, dw)
		return dw
	}
	var tab []int32
	if !(p.groups == 1 && p.win.identity()) {
		tab = p.win.tapTable()
	}
	colsT := make([]float32, kg*m)
	for g := 0; g < p.groups; g++ {
		if tab == nil {
			transposeInto(colsT, x, m, kg)
		} else {
			p.im2col(x, g*cg, cg, tab, colsT, 1, m)
		}
		dyG := kernels.PackB(m, fg, dy[g*fg:], p.cout)
		kernels.Gemm(kg, fg, m, colsT, m, dyG, dw[g*fg:], p.cout, false, nil)
	}
	return dw
}

// transposeInto writes the transpose of the rows x cols matrix a into dst.
func transposeInto(dst, a []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		for c, v := range a[r*cols : (r+1)*cols] {
			dst[c*rows+r] = v
		}
	}
}

// sumRows returns the column sums of the rows x n matrix a (a bias
// gradient). Four rows are added before each update of the sums, which
// keeps the loop from waiting on its own stores.
func sumRows(a []float32, n int) []float32 {
	s := make([]float32, n)
	if n == 0 {
		return s
	}
	rows := len(a) / n
	r := 0
	for ; r+4 <= rows; r += 4 {
		a0 := a[r*n : (r+1)*n]
		a1, a2, a3 := a[(r+1)*n:(r+2)*n], a[(r+2)*n:(r+3)*n], a[(r+3)*n:(r+4)*n]
		a1, a2, a3, s := a1[:len(a0)], a2[:len(a0)], a3[:len(a0)], s[:len(a0)]
		for j, v := range a0 {
			s[j] += (v + a1[j]) + (a2[j] + a3[j])
		}
	}
	for ; r < rows; r++ {
		for j, v := range a[r*n : (r+1)*n] {
			s[j] += v
		}
	}
	return s
}

// convPack caches a convolution kernel packed for runtime/kernels: the
// packed copies are made on first use after each change of the kernel
// variable (weight loading, a training step), never per call. Safe for
// concurrent use.
type convPack struct {
	cache runtime.Packed[*packedKernel]
}

// packedKernel holds the packed forms of one version of a kernel, each made
// on first use.
type packedKernel struct {
	kernel []float32

	c2dOnce, igOnce, bOnce, btOnce sync.Once
	c2d                            *kernels.PackedConv
	ig                             *kernels.PackedConvInputGrad
	b, bt                          []*kernels.PackedB
}

// get returns the packed forms of the kernel variable's current values.
func (c *convPack) get(v *runtime.Variable) *packedKernel {
	return c.cache.Get(func() *packedKernel { return &packedKernel{kernel: v.Value.Data} }, v)
}

// conv2D returns the kernel packed for kernels.Conv2D.
func (k *packedKernel) conv2D(p *convProblem) *kernels.PackedConv {
	k.c2dOnce.Do(func() { k.c2d = kernels.PackConv(p.win.k[1], p.win.k[2], p.cin, p.cout, k.kernel) })
	return k.c2d
}

// inputGrad returns the kernel packed for kernels.Conv2DInputGrad.
func (k *packedKernel) inputGrad(p *convProblem) *kernels.PackedConvInputGrad {
	k.igOnce.Do(func() { k.ig = kernels.PackConvInputGrad(p.win.k[1], p.win.k[2], p.cin, p.cout, k.kernel) })
	return k.ig
}

// groupsB returns, per group, the kG x coutG kernel matrix packed as B.
func (k *packedKernel) groupsB(p *convProblem) []*kernels.PackedB {
	k.bOnce.Do(func() {
		fg := p.coutG()
		for g := 0; g < p.groups; g++ {
			k.b = append(k.b, kernels.PackB(p.kG(), fg, k.kernel[g*fg:], p.cout))
		}
	})
	return k.b
}

// groupsBT returns, per group, the transposed kernel matrix (coutG x kG)
// packed as B, for the input gradient.
func (k *packedKernel) groupsBT(p *convProblem) []*kernels.PackedB {
	k.btOnce.Do(func() {
		fg := p.coutG()
		for g := 0; g < p.groups; g++ {
			k.bt = append(k.bt, kernels.PackBTrans(fg, p.kG(), k.kernel[g*fg:], p.cout))
		}
	})
	return k.bt
}
