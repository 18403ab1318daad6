package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/runtime"
)

// convLSTMCall runs a ConvLSTMCell for one call. The convolutions and the
// gates work on channels_last data: with data_format channels_first the
// frames and states are transposed on the way in and out (the input
// projection stays channels_last, it never leaves the cell).
//
// In training with dropout or recurrent_dropout it holds Keras's masks
// (ConvLSTMCell's dropout_mask_count = 4: one per gate i, f, c, o), drawn
// once per call and used at every step, each 0 or 1/(1-rate) at every
// element of a frame (dropout, on the inputs) or of h (recurrent_dropout,
// on the previous output); each gate then convolves its own masked copy
// with its quarter of the kernel. As in Keras, a rate of 0 or 1 drops
// nothing.
type convLSTMCall struct {
	*ConvLSTMCell
	batch   int
	in, rec [][]float32 // 4 channels_last masks of batch × frame (state) elements; nil when off

	inKernels, recKernels []*packedKernel // each gate's kernel quarter
}

// plain is the call without dropout.
func (c *ConvLSTMCell) plain() *convLSTMCall { return &convLSTMCall{ConvLSTMCell: c} }

// dropoutActive is Keras's 0 < rate < 1.
func dropoutActive(rate float64) bool { return rate > 0 && rate < 1 }

// forCall draws the call's dropout masks.
func (c *ConvLSTMCell) forCall(ctx *runtime.Context, batch int) (rnnCell, error) {
	if !dropoutActive(c.Dropout) && !dropoutActive(c.RecurrentDropout) {
		return c, nil
	}
	if ctx.Rand == nil {
		return nil, fmt.Errorf("training with dropout needs a random source (Context.Rand)")
	}
	var in, rec [][]float32
	if dropoutActive(c.Dropout) {
		in = dropoutMasks(ctx.Rand, 4, batch*runtime.ShapeSize(c.frame), c.Dropout)
	}
	if dropoutActive(c.RecurrentDropout) {
		rec = dropoutMasks(ctx.Rand, 4, batch*runtime.ShapeSize(c.stateShapes()[0]), c.RecurrentDropout)
	}
	return c.withMasks(batch, in, rec), nil
}

// withMasks returns the cell for one call with the given masks, in
// data_format layout.
func (c *ConvLSTMCell) withMasks(batch int, in, rec [][]float32) *convLSTMCall {
	d := &convLSTMCall{ConvLSTMCell: c, batch: batch}
	f := c.Filters
	for g := 0; g < 4; g++ {
		if in != nil {
			d.in = append(d.in, c.frameToLast(in[g], batch))
			d.inKernels = append(d.inKernels, &packedKernel{kernel: gateColumns(c.Kernel.Value.Data, len(c.Kernel.Value.Data)/(4*f), f, g)})
		}
		if rec != nil {
			d.rec = append(d.rec, c.stateToLast(rec[g], batch))
			d.recKernels = append(d.recKernels, &packedKernel{kernel: gateColumns(c.RecurrentKernel.Value.Data, len(c.RecurrentKernel.Value.Data)/(4*f), f, g)})
		}
	}
	return d
}

// forCall keeps the masks already drawn.
func (d *convLSTMCall) forCall(*runtime.Context, int) (rnnCell, error) { return d, nil }

// frameToLast and frameToFirst convert n frames between data_format and
// channels_last; stateToLast and stateToFirst do the same for states.
// They return x itself for channels_last.
func (c *ConvLSTMCell) frameToLast(x []float32, n int) []float32 {
	return c.transpose(x, n, c.channels, runtime.ShapeSize(c.spatial))
}

func (c *ConvLSTMCell) frameToFirst(x []float32, n int) []float32 {
	return c.transpose(x, n, runtime.ShapeSize(c.spatial), c.channels)
}

func (c *ConvLSTMCell) stateToLast(x []float32, n int) []float32 {
	return c.transpose(x, n, c.Filters, c.in.outSize())
}

func (c *ConvLSTMCell) stateToFirst(x []float32, n int) []float32 {
	return c.transpose(x, n, c.in.outSize(), c.Filters)
}

// transpose turns each of the n a × b blocks of x into b × a, when
// channels_first.
func (c *ConvLSTMCell) transpose(x []float32, n, a, b int) []float32 {
	if !c.args.channelsFirst {
		return x
	}
	out := make([]float32, len(x))
	for k := 0; k < n; k++ {
		transposeInto(out[k*a*b:(k+1)*a*b], x[k*a*b:(k+1)*a*b], a, b)
	}
	return out
}

// project is the input convolution plus bias of rows frames.
func (d *convLSTMCall) project(x []float32, rows int) []float32 {
	p := d.inProblem(rows)
	z := make([]float32, p.rows()*p.cout)
	if rows == 0 {
		return z
	}
	xl := d.frameToLast(x, rows)
	var bias []float32
	if d.Bias != nil {
		bias = d.Bias.Value.Data
	}
	if d.in == nil {
		p.forward(xl, d.pack.get(d.Kernel), bias, z)
		return z
	}
	p.cout = d.Filters
	gateConv(p, xl, d.in, d.inKernels, d.batch, runtime.ShapeSize(d.frame), z)
	if bias != nil {
		addBias(z, bias)
	}
	return z
}

func (d *convLSTMCall) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	if rows == 0 {
		return make([]float32, len(x))
	}
	p := d.inProblem(rows)
	xl := d.frameToLast(x, rows)
	if d.Bias != nil {
		addTo(g.of(d.Bias), sumRows(gp, p.cout))
	}
	var gx []float32
	if d.in == nil {
		addTo(g.of(d.Kernel), p.backwardFilter(xl, gp))
		gx = p.backwardData(gp, d.pack.get(d.Kernel))
	} else {
		p.cout = d.Filters
		gx = gateConvBack(p, xl, gp, d.in, d.inKernels, d.batch, runtime.ShapeSize(d.frame), g.of(d.Kernel))
	}
	return d.frameToFirst(gx, rows)
}

func (d *convLSTMCall) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	rp := d.recProblem(batch)
	hl, cl := d.stateToLast(prev[0], batch), d.stateToLast(prev[1], batch)
	z := make([]float32, rp.rows()*rp.cout)
	if d.rec == nil {
		rp.forward(hl, d.recPack.get(d.RecurrentKernel), nil, z)
	} else {
		rp.cout = d.Filters
		gateConv(rp, hl, d.rec, d.recKernels, batch, runtime.ShapeSize(d.stateShapes()[0]), z)
	}
	for i, v := range p {
		z[i] += v
	}
	h, k := lstmPointwise(d.Activation, d.RecurrentActivation, z, cl, rp.rows(), d.Filters)
	k.hPrev = hl
	cNew := d.stateToFirst(k.cNew, batch)
	if !d.args.channelsFirst {
		cNew = append([]float32(nil), cNew...)
	}
	return [][]float32{d.stateToFirst(h, batch), cNew}, k
}

func (d *convLSTMCall) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	k := cache.(*lstmCache)
	rp := d.recProblem(batch)
	gh, gc := d.stateToLast(gNext[0], batch), d.stateToLast(gNext[1], batch)
	gz, gcPrev := lstmPointwiseBack(d.Activation, d.RecurrentActivation, k, gh, gc, rp.rows(), d.Filters)
	var ghPrev []float32
	if d.rec == nil {
		addTo(g.of(d.RecurrentKernel), rp.backwardFilter(k.hPrev, gz))
		ghPrev = rp.backwardData(gz, d.recPack.get(d.RecurrentKernel))
	} else {
		rp.cout = d.Filters
		ghPrev = gateConvBack(rp, k.hPrev, gz, d.rec, d.recKernels, batch, runtime.ShapeSize(d.stateShapes()[0]), g.of(d.RecurrentKernel))
	}
	return gz, [][]float32{d.stateToFirst(ghPrev, batch), d.stateToFirst(gcPrev, batch)}
}

// dropoutMasks draws count masks of n elements, each 0 with probability
// rate and 1/(1-rate) otherwise (keras.random.dropout of ones).
func dropoutMasks(r *rand.Rand, count, n int, rate float64) [][]float32 {
	keep := float32(1 / (1 - rate))
	out := make([][]float32, count)
	for i := range out {
		m := make([]float32, n)
		for j := range m {
			if r.Float64() >= rate {
				m[j] = keep
			}
		}
		out[i] = m
	}
	return out
}

// gateColumns copies the columns g*f..(g+1)*f of a rows × 4f matrix.
func gateColumns(a []float32, rows, f, g int) []float32 {
	out := make([]float32, rows*f)
	for r := 0; r < rows; r++ {
		copy(out[r*f:(r+1)*f], a[r*4*f+g*f:r*4*f+(g+1)*f])
	}
	return out
}

// addGateColumns adds src (rows × f) to the columns g*f..(g+1)*f of dst
// (rows × 4f).
func addGateColumns(dst, src []float32, rows, f, g int) {
	for r := 0; r < rows; r++ {
		d := dst[r*4*f+g*f : r*4*f+(g+1)*f]
		for j, v := range src[r*f : (r+1)*f] {
			d[j] += v
		}
	}
}

func addTo(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// masked returns x * m for x holding batch samples of steps × size
// elements and m one mask of batch × size, the same at every step, or a
// mask of x's size.
func masked(x, m []float32, batch, size int) []float32 {
	out := make([]float32, len(x))
	if len(m) == len(x) {
		for i, v := range x {
			out[i] = v * m[i]
		}
		return out
	}
	steps := len(x) / max(batch*size, 1)
	for b := 0; b < batch; b++ {
		mb := m[b*size : (b+1)*size]
		for t := 0; t < steps; t++ {
			o := (b*steps + t) * size
			for j, v := range x[o : o+size] {
				out[o+j] = v * mb[j]
			}
		}
	}
	return out
}

// gateConv computes, for each gate, conv(x*mask_g, kernel_g) into its
// columns of z (p.rows() × 4f); p's cout is f.
func gateConv(p *convProblem, x []float32, masks [][]float32, ks []*packedKernel, batch, size int, z []float32) {
	f := p.cout
	y := make([]float32, p.rows()*f)
	for g := 0; g < 4; g++ {
		clear(y)
		p.forward(masked(x, masks[g], batch, size), ks[g], nil, y)
		addGateColumns(z, y, p.rows(), f, g)
	}
}

// gateConvBack is gateConv's backward pass: it adds each gate's kernel
// gradient to gk's columns and returns dL/dx.
func gateConvBack(p *convProblem, x, gz []float32, masks [][]float32, ks []*packedKernel, batch, size int, gk []float32) []float32 {
	f := p.cout
	gx := make([]float32, len(x))
	for g := 0; g < 4; g++ {
		gzg := gateColumns(gz, p.rows(), f, g)
		addGateColumns(gk, p.backwardFilter(masked(x, masks[g], batch, size), gzg), len(gk)/(4*f), f, g)
		gxg := masked(p.backwardData(gzg, ks[g]), masks[g], batch, size)
		for i, v := range gxg {
			gx[i] += v
		}
	}
	return gx
}
