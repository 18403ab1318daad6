package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// GRUCell is keras.layers.GRUCell: update gate z, reset gate r and
// candidate h~ (in that order in the kernels' columns), h' = z*h +
// (1-z)*h~. With reset_after (Keras 3's and tf.keras's default) the reset
// gate multiplies the recurrent projection, which has its own bias:
// bias (2, 3*units), row 0 for the input, row 1 for the recurrent
// projection. Without it (Keras 1 and Keras 2 before 2.1.5 had only this
// form) the reset gate multiplies h before the projection and bias is
// (3*units,).
type GRUCell struct {
	cellCore
	ResetAfter bool

	packedZR, packedZRT, packedH, packedHT runtime.Packed[*kernels.PackedB]
}

func init() {
	Register("GRU", func(spec *kerasjson.Layer) (Layer, error) {
		cell, err := newGRUCell(spec, "gru_cell")
		if err != nil {
			return nil, err
		}
		if cell.perStepDropout, err = tfKerasFusedDropout(spec.Config, &cell.cellCore, cell.ResetAfter); err != nil {
			return nil, err
		}
		return newRNNLayer(spec, cell)
	}, Supports{Inference: true, Training: true})
	registerCell("GRUCell", func(spec *kerasjson.Layer) (rnnCell, error) { return newGRUCell(spec, "") })
}

func newGRUCell(spec *kerasjson.Layer, name string) (*GRUCell, error) {
	c := &GRUCell{}
	if err := c.init(spec, "GRUCell", name, 3, 1, true); err != nil {
		return nil, err
	}
	if !spec.Config.Has("reset_after") {
		// Every Keras that has reset_after writes it; a configuration
		// without it comes from a Keras that computed reset_after=False.
		// Recording it keeps the weight conversions and a saved file right.
		spec.Config["reset_after"] = false
	}
	var err error
	if c.ResetAfter, err = spec.Config.Bool("reset_after", true); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *GRUCell) buildCell(frame []int) error {
	if err := c.buildKernels(frame); err != nil {
		return err
	}
	if c.UseBias {
		shape := []int{3 * c.Units}
		if c.ResetAfter {
			shape = []int{2, 3 * c.Units}
		}
		c.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(shape...), Trainable: true}
	}
	return nil
}

// inputBias is bias, or its input row with reset_after.
func (c *GRUCell) inputBias() []float32 {
	if c.Bias == nil {
		return nil
	}
	return c.Bias.Value.Data[:3*c.Units]
}

func (c *GRUCell) project(x []float32, rows int) []float32 {
	return c.projectWith(x, rows, c.inputBias())
}

func (c *GRUCell) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	var gb []float32
	if c.Bias != nil {
		gb = g.of(c.Bias)[:3*c.Units]
	}
	return c.projectBackWith(x, gp, rows, g, gb)
}

type gruCache struct {
	hPrev []float32
	hH    []float32 // h where r meets it (masked by recurrent_dropout)
	// zr: pre-activations of z and r (batch × 2u, stride 3u in zrh);
	// gates: z, r and h~ activated (batch × 3u); pre: the pre-activations
	// (batch × 3u); inner: the recurrent projection (batch × 3u, with
	// reset_after) or r*h (batch × u, without).
	pre, gates, inner []float32
}

func (c *GRUCell) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	return c.stepMasked(p, prev, batch, nil)
}

// stepMasked is step with recurrent_dropout's masks (one per gate z, r,
// h, on h where it meets the recurrent kernel; nil: none), as Keras's
// implementation=1.
func (c *GRUCell) stepMasked(p []float32, prev [][]float32, batch int, rec [][]float32) ([][]float32, any) {
	u, w := c.Units, 3*c.Units
	h := prev[0]
	pre := append([]float32(nil), p...)
	gates := make([]float32, batch*w)
	k := &gruCache{hPrev: h, hH: h, pre: pre, gates: gates}
	if c.ResetAfter {
		var inner []float32
		if rec == nil {
			inner = c.recurrent(h, batch)
		} else {
			inner = gateMatmul(h, rec, batch, batch, u, u, c.RecurrentKernel.Value.Data, w)
		}
		if c.Bias != nil {
			rb := c.Bias.Value.Data[w:]
			for b := 0; b < batch; b++ {
				for j, v := range rb {
					inner[b*w+j] += v
				}
			}
		}
		for b := 0; b < batch; b++ {
			for j := 0; j < 2*u; j++ {
				pre[b*w+j] += inner[b*w+j]
			}
		}
		applyGate(c.RecurrentActivation, pre, gates, batch, w, 0, u)
		applyGate(c.RecurrentActivation, pre, gates, batch, w, 1, u)
		for b := 0; b < batch; b++ {
			for j := 0; j < u; j++ {
				pre[b*w+2*u+j] += gates[b*w+u+j] * inner[b*w+2*u+j]
			}
		}
		k.inner = inner
	} else {
		var zr []float32
		if rec == nil {
			zr = c.matmulCols(h, batch, 0, 2*u, &c.packedZR)
		} else {
			zr = gateMatmul(h, rec[:2], batch, batch, u, u, c.RecurrentKernel.Value.Data, w)
			k.hH = masked(h, rec[2], batch, u)
		}
		for b := 0; b < batch; b++ {
			for j := 0; j < 2*u; j++ {
				pre[b*w+j] += zr[b*2*u+j]
			}
		}
		applyGate(c.RecurrentActivation, pre, gates, batch, w, 0, u)
		applyGate(c.RecurrentActivation, pre, gates, batch, w, 1, u)
		rh := make([]float32, batch*u)
		for b := 0; b < batch; b++ {
			for j := 0; j < u; j++ {
				rh[b*u+j] = gates[b*w+u+j] * k.hH[b*u+j]
			}
		}
		mh := c.matmulCols(rh, batch, 2*u, u, &c.packedH)
		for b := 0; b < batch; b++ {
			for j := 0; j < u; j++ {
				pre[b*w+2*u+j] += mh[b*u+j]
			}
		}
		k.inner = rh
	}
	applyGate(c.Activation, pre, gates, batch, w, 2, u)
	hNew := make([]float32, batch*u)
	for b := 0; b < batch; b++ {
		for j := 0; j < u; j++ {
			z := gates[b*w+j]
			hNew[b*u+j] = z*h[b*u+j] + (1-z)*gates[b*w+2*u+j]
		}
	}
	return [][]float32{hNew}, k
}

// matmulCols returns h·recurrent_kernel[:, col:col+n].
func (c *GRUCell) matmulCols(h []float32, batch, col, n int, p *runtime.Packed[*kernels.PackedB]) []float32 {
	u, w := c.Units, 3*c.Units
	out := make([]float32, batch*n)
	pb := p.Get(func() *kernels.PackedB { return kernels.PackB(u, n, c.RecurrentKernel.Value.Data[col:], w) }, c.RecurrentKernel)
	kernels.Gemm(batch, n, u, h, u, pb, out, n, false, nil)
	return out
}

// matmulColsBack adds g·recurrent_kernel[:, col:col+n]ᵀ to gh and
// aᵀ·g to those columns of the recurrent kernel's gradient.
func (c *GRUCell) matmulColsBack(a, gcols []float32, batch, col, n int, gh []float32, p *runtime.Packed[*kernels.PackedB], g *gradBuffers) {
	u, w := c.Units, 3*c.Units
	grk := g.of(c.RecurrentKernel)
	for b := 0; b < batch; b++ {
		gr := gcols[b*n : (b+1)*n]
		for i, av := range a[b*u : (b+1)*u] {
			d := grk[i*w+col : i*w+col+n]
			for j, v := range gr {
				d[j] += av * v
			}
		}
	}
	pt := p.Get(func() *kernels.PackedB { return kernels.PackBTrans(n, u, c.RecurrentKernel.Value.Data[col:], w) }, c.RecurrentKernel)
	kernels.Gemm(batch, u, n, gcols, n, pt, gh, u, true, nil)
}

func (c *GRUCell) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	return c.stepBackMasked(cache, gNext, batch, g, nil)
}

// stepBackMasked is stepMasked's backward pass.
func (c *GRUCell) stepBackMasked(cache any, gNext [][]float32, batch int, g *gradBuffers, rec [][]float32) ([]float32, [][]float32) {
	k := cache.(*gruCache)
	u, w := c.Units, 3*c.Units
	gh := gNext[0]
	ghPrev := make([]float32, batch*u)
	gGates := make([]float32, batch*w)
	for b := 0; b < batch; b++ {
		for j := 0; j < u; j++ {
			i := b*u + j
			z, hh := k.gates[b*w+j], k.gates[b*w+2*u+j]
			gGates[b*w+j] = gh[i] * (k.hPrev[i] - hh)
			gGates[b*w+2*u+j] = gh[i] * (1 - z)
			ghPrev[i] = gh[i] * z
		}
	}
	gp := make([]float32, batch*w)
	gateGrad(c.Activation, k.pre, k.gates, gGates, gp, batch, w, 2, u)
	if c.ResetAfter {
		gInner := make([]float32, batch*w)
		for b := 0; b < batch; b++ {
			for j := 0; j < u; j++ {
				d := gp[b*w+2*u+j]
				gGates[b*w+u+j] = d * k.inner[b*w+2*u+j]
				gInner[b*w+2*u+j] = d * k.gates[b*w+u+j]
			}
		}
		gateGrad(c.RecurrentActivation, k.pre, k.gates, gGates, gp, batch, w, 0, u)
		gateGrad(c.RecurrentActivation, k.pre, k.gates, gGates, gp, batch, w, 1, u)
		for b := 0; b < batch; b++ {
			copy(gInner[b*w:b*w+2*u], gp[b*w:b*w+2*u])
		}
		if c.Bias != nil {
			rb := g.of(c.Bias)[w:]
			for b := 0; b < batch; b++ {
				for j, v := range gInner[b*w : (b+1)*w] {
					rb[j] += v
				}
			}
		}
		if rec == nil {
			c.recurrentBack(k.hPrev, gInner, batch, ghPrev, g)
		} else {
			addTo(ghPrev, gateMatmulBack(k.hPrev, gInner, rec, batch, batch, u, u, c.RecurrentKernel.Value.Data, g.of(c.RecurrentKernel), w))
		}
		return gp, [][]float32{ghPrev}
	}
	gAz := make([]float32, batch*u)
	for b := 0; b < batch; b++ {
		copy(gAz[b*u:(b+1)*u], gp[b*w+2*u:(b+1)*w])
	}
	grh := make([]float32, batch*u)
	c.matmulColsBack(k.inner, gAz, batch, 2*u, u, grh, &c.packedHT, g)
	for i := range grh {
		b := i / u
		j := i % u
		gGates[b*w+u+j] = grh[i] * k.hH[i]
		d := grh[i] * k.gates[b*w+u+j]
		if rec != nil {
			d *= rec[2][i]
		}
		ghPrev[i] += d
	}
	gateGrad(c.RecurrentActivation, k.pre, k.gates, gGates, gp, batch, w, 0, u)
	gateGrad(c.RecurrentActivation, k.pre, k.gates, gGates, gp, batch, w, 1, u)
	gzr := make([]float32, batch*2*u)
	for b := 0; b < batch; b++ {
		copy(gzr[b*2*u:(b+1)*2*u], gp[b*w:b*w+2*u])
	}
	if rec == nil {
		c.matmulColsBack(k.hPrev, gzr, batch, 0, 2*u, ghPrev, &c.packedZRT, g)
	} else {
		addTo(ghPrev, gateMatmulBack(k.hPrev, gzr, rec[:2], batch, batch, u, u, c.RecurrentKernel.Value.Data, g.of(c.RecurrentKernel), w))
	}
	return gp, [][]float32{ghPrev}
}
