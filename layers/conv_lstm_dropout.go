package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/runtime"
)

// convLSTMDropout is a ConvLSTMCell for one training call with dropout or
// recurrent_dropout, as Keras's ConvLSTMCell runs it: four masks per
// dropout (one per gate i, f, c, o; dropout_mask_count = 4), drawn once
// per call and used at every step, each 0 or 1/(1-rate) at every element
// of a frame (dropout, on the inputs) or of h (recurrent_dropout, on the
// previous output). Each gate then convolves its own masked copy with its
// quarter of the kernel. As in Keras, a rate of 0 or 1 drops nothing.
type convLSTMDropout struct {
	*ConvLSTMCell
	batch   int
	in, rec [][]float32 // 4 masks of batch × frame (state) elements; nil when off

	inKernels, recKernels []*packedKernel // each gate's kernel quarter
}

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

// withMasks returns the cell for one call with the given masks.
func (c *ConvLSTMCell) withMasks(batch int, in, rec [][]float32) *convLSTMDropout {
	d := &convLSTMDropout{ConvLSTMCell: c, batch: batch, in: in, rec: rec}
	f := c.Filters
	for g := 0; g < 4; g++ {
		if in != nil {
			d.inKernels = append(d.inKernels, &packedKernel{kernel: gateColumns(c.Kernel.Value.Data, len(c.Kernel.Value.Data)/(4*f), f, g)})
		}
		if rec != nil {
			d.recKernels = append(d.recKernels, &packedKernel{kernel: gateColumns(c.RecurrentKernel.Value.Data, len(c.RecurrentKernel.Value.Data)/(4*f), f, g)})
		}
	}
	return d
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

// masked returns x * m for x holding batch samples of steps × size
// elements and m one mask of batch × size, the same at every step.
func masked(x, m []float32, batch, size int) []float32 {
	out := make([]float32, len(x))
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

func (d *convLSTMDropout) project(x []float32, rows int) []float32 {
	if d.in == nil || rows == 0 {
		return d.ConvLSTMCell.project(x, rows)
	}
	p := d.inProblem(rows)
	p.cout = d.Filters
	z := make([]float32, p.rows()*4*d.Filters)
	gateConv(p, x, d.in, d.inKernels, d.batch, runtime.ShapeSize(d.frame), z)
	if d.Bias != nil {
		addBias(z, d.Bias.Value.Data)
	}
	return z
}

func (d *convLSTMDropout) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	if d.in == nil || rows == 0 {
		return d.ConvLSTMCell.projectBack(x, gp, rows, g)
	}
	p := d.inProblem(rows)
	p.cout = d.Filters
	if d.Bias != nil {
		addTo(g.of(d.Bias), sumRows(gp, 4*d.Filters))
	}
	return gateConvBack(p, x, gp, d.in, d.inKernels, d.batch, runtime.ShapeSize(d.frame), g.of(d.Kernel))
}

func (d *convLSTMDropout) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	if d.rec == nil {
		return d.ConvLSTMCell.step(p, prev, batch)
	}
	rp := d.recProblem(batch)
	rp.cout = d.Filters
	z := append([]float32(nil), p...)
	gateConv(rp, prev[0], d.rec, d.recKernels, batch, runtime.ShapeSize(d.stateShapes()[0]), z)
	h, k := lstmPointwise(d.Activation, d.RecurrentActivation, z, prev[1], rp.rows(), d.Filters)
	k.hPrev = prev[0]
	return [][]float32{h, append([]float32(nil), k.cNew...)}, k
}

func (d *convLSTMDropout) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	if d.rec == nil {
		return d.ConvLSTMCell.stepBack(cache, gNext, batch, g)
	}
	k := cache.(*lstmCache)
	rp := d.recProblem(batch)
	rp.cout = d.Filters
	gz, gcPrev := lstmPointwiseBack(d.Activation, d.RecurrentActivation, k, gNext[0], gNext[1], rp.rows(), d.Filters)
	ghPrev := gateConvBack(rp, k.hPrev, gz, d.rec, d.recKernels, batch, runtime.ShapeSize(d.stateShapes()[0]), g.of(d.RecurrentKernel))
	return gz, [][]float32{ghPrev, gcPrev}
}

// forCall keeps the masks already drawn.
func (d *convLSTMDropout) forCall(*runtime.Context, int) (rnnCell, error) { return d, nil }
