package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// lstmGateDropout runs an LSTMCell for one training call the way Keras
// runs implementation=1, which Keras 3 forces whenever recurrent_dropout
// is set: four masks per dropout, one per gate i, f, c, o, drawn once per
// call and used at every step; gate g sees x*in[g] through its columns of
// kernel and h*rec[g] through its columns of recurrent_kernel.
type lstmGateDropout struct {
	*LSTMCell
	batch   int
	in, rec [][]float32 // 4 masks of batch × features (units); nil when off
}

// forCall draws the call's dropout masks: per gate with implementation=1
// or recurrent_dropout, else one input mask (rnnDropout).
func (c *LSTMCell) forCall(ctx *runtime.Context, batch int) (rnnCell, error) {
	inOn, recOn := dropoutActive(c.Dropout), dropoutActive(c.RecurrentDropout)
	if !(inOn && c.implementation == 1) && c.RecurrentDropout == 0 {
		return c.dropoutCall(c, ctx, batch)
	}
	if !inOn && !recOn {
		return c, nil
	}
	if ctx.Rand == nil {
		return nil, fmt.Errorf("training with dropout needs a random source (Context.Rand)")
	}
	d := &lstmGateDropout{LSTMCell: c, batch: batch}
	if inOn {
		d.in = dropoutMasks(ctx.Rand, 4, batch*c.frameShape()[0], c.Dropout)
	}
	if recOn {
		d.rec = dropoutMasks(ctx.Rand, 4, batch*c.Units, c.RecurrentDropout)
	}
	return d, nil
}

// forCall keeps the masks already drawn.
func (d *lstmGateDropout) forCall(*runtime.Context, int) (rnnCell, error) { return d, nil }

// gateMatmul returns, for each gate g of the masks, (x*m_g)·w[:, g*u:(g+1)*u]
// in columns g*u..(g+1)*u of a rows × gates*u result, for x of rows × k
// (batch samples, the masks the same at every step) and w of k rows of
// stride ldw.
func gateMatmul(x []float32, masks [][]float32, batch, rows, k, u int, w []float32, ldw int) []float32 {
	gates := len(masks)
	out := make([]float32, rows*gates*u)
	for g, m := range masks {
		pb := kernels.PackB(k, u, w[g*u:], ldw)
		kernels.Gemm(rows, u, k, masked(x, m, batch, k), k, pb, out[g*u:], gates*u, false, nil)
	}
	return out
}

// gateMatmulBack is gateMatmul's backward pass for the output gradient gz:
// it adds each gate's weight gradient to gw (laid out as w) and returns
// dL/dx.
func gateMatmulBack(x, gz []float32, masks [][]float32, batch, rows, k, u int, w, gw []float32, ldw int) []float32 {
	gates := len(masks)
	gx := make([]float32, rows*k)
	for g, m := range masks {
		xm := masked(x, m, batch, k)
		gzg := make([]float32, rows*u)
		for r := 0; r < rows; r++ {
			copy(gzg[r*u:(r+1)*u], gz[r*gates*u+g*u:r*gates*u+(g+1)*u])
		}
		gwg := make([]float32, k*u)
		addATB(gwg, xm, gzg, rows, k, u)
		for i := 0; i < k; i++ {
			addTo(gw[i*ldw+g*u:i*ldw+(g+1)*u], gwg[i*u:(i+1)*u])
		}
		pt := kernels.PackBTrans(u, k, w[g*u:], ldw)
		gxg := make([]float32, rows*k)
		kernels.Gemm(rows, k, u, gzg, u, pt, gxg, k, false, nil)
		addTo(gx, masked(gxg, m, batch, k))
	}
	return gx
}

func (d *lstmGateDropout) project(x []float32, rows int) []float32 {
	if d.in == nil || rows == 0 {
		return d.LSTMCell.project(x, rows)
	}
	k := d.frameShape()[0]
	z := gateMatmul(x, d.in, d.batch, rows, k, d.Units, d.Kernel.Value.Data, 4*d.Units)
	if d.Bias != nil {
		addBias(z, d.Bias.Value.Data)
	}
	return z
}

func (d *lstmGateDropout) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	if d.in == nil || rows == 0 {
		return d.LSTMCell.projectBack(x, gp, rows, g)
	}
	if d.Bias != nil {
		addTo(g.of(d.Bias), sumRows(gp, 4*d.Units))
	}
	k := d.frameShape()[0]
	return gateMatmulBack(x, gp, d.in, d.batch, rows, k, d.Units, d.Kernel.Value.Data, g.of(d.Kernel), 4*d.Units)
}

func (d *lstmGateDropout) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	if d.rec == nil {
		return d.LSTMCell.step(p, prev, batch)
	}
	u := d.Units
	z := gateMatmul(prev[0], d.rec, batch, batch, u, u, d.RecurrentKernel.Value.Data, 4*u)
	for i, v := range p {
		z[i] += v
	}
	h, k := lstmPointwise(d.Activation, d.RecurrentActivation, z, prev[1], batch, u)
	k.hPrev = prev[0]
	return [][]float32{h, append([]float32(nil), k.cNew...)}, k
}

func (d *lstmGateDropout) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	if d.rec == nil {
		return d.LSTMCell.stepBack(cache, gNext, batch, g)
	}
	k := cache.(*lstmCache)
	u := d.Units
	gz, gcPrev := lstmPointwiseBack(d.Activation, d.RecurrentActivation, k, gNext[0], gNext[1], batch, u)
	ghPrev := gateMatmulBack(k.hPrev, gz, d.rec, batch, batch, u, u, d.RecurrentKernel.Value.Data, g.of(d.RecurrentKernel), 4*u)
	return gz, [][]float32{ghPrev, gcPrev}
}

// gruGateDropout runs a GRUCell for one training call the way Keras runs
// implementation=1, which Keras 3 forces whenever recurrent_dropout is
// set: three masks per dropout, one per gate z, r, h; gate g sees x*in[g]
// through its columns of kernel and h*rec[g] through its columns of
// recurrent_kernel, while the blend z*h + (1-z)*h~ reads h unmasked.
type gruGateDropout struct {
	*GRUCell
	batch   int
	in, rec [][]float32 // 3 masks of batch × features (units); nil when off
}

// forCall draws the call's dropout masks: per gate with implementation=1
// or recurrent_dropout, else one input mask (rnnDropout).
func (c *GRUCell) forCall(ctx *runtime.Context, batch int) (rnnCell, error) {
	inOn, recOn := dropoutActive(c.Dropout), dropoutActive(c.RecurrentDropout)
	if !(inOn && c.implementation == 1) && c.RecurrentDropout == 0 {
		return c.dropoutCall(c, ctx, batch)
	}
	if !inOn && !recOn {
		return c, nil
	}
	if ctx.Rand == nil {
		return nil, fmt.Errorf("training with dropout needs a random source (Context.Rand)")
	}
	d := &gruGateDropout{GRUCell: c, batch: batch}
	if inOn {
		d.in = dropoutMasks(ctx.Rand, 3, batch*c.frameShape()[0], c.Dropout)
	}
	if recOn {
		d.rec = dropoutMasks(ctx.Rand, 3, batch*c.Units, c.RecurrentDropout)
	}
	return d, nil
}

// forCall keeps the masks already drawn.
func (d *gruGateDropout) forCall(*runtime.Context, int) (rnnCell, error) { return d, nil }

func (d *gruGateDropout) project(x []float32, rows int) []float32 {
	if d.in == nil || rows == 0 {
		return d.GRUCell.project(x, rows)
	}
	z := gateMatmul(x, d.in, d.batch, rows, d.frameShape()[0], d.Units, d.Kernel.Value.Data, 3*d.Units)
	if b := d.inputBias(); b != nil {
		addBias(z, b)
	}
	return z
}

func (d *gruGateDropout) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	if d.in == nil || rows == 0 {
		return d.GRUCell.projectBack(x, gp, rows, g)
	}
	if d.Bias != nil {
		addTo(g.of(d.Bias)[:3*d.Units], sumRows(gp, 3*d.Units))
	}
	return gateMatmulBack(x, gp, d.in, d.batch, rows, d.frameShape()[0], d.Units, d.Kernel.Value.Data, g.of(d.Kernel), 3*d.Units)
}

func (d *gruGateDropout) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	return d.stepMasked(p, prev, batch, d.rec)
}

func (d *gruGateDropout) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	return d.stepBackMasked(cache, gNext, batch, g, d.rec)
}
