package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// LSTMCell is keras.layers.LSTMCell: gates i, f, c, o (in that order in
// the kernel's columns), c' = f*c + i*activation(z_c), h' = o*activation(c').
// Weights: kernel (input_dim, 4*units), recurrent_kernel (units, 4*units),
// bias (4*units,).
type LSTMCell struct {
	cellCore
	UnitForgetBias bool
}

func init() {
	Register("LSTM", func(spec *kerasjson.Layer) (Layer, error) {
		cell, err := newLSTMCell(spec, "lstm_cell")
		if err != nil {
			return nil, err
		}
		return newRNNLayer(spec, cell)
	}, Supports{Inference: true, Training: true})
	rnnCellFactories["LSTMCell"] = func(spec *kerasjson.Layer) (rnnCell, error) { return newLSTMCell(spec, "") }
}

func newLSTMCell(spec *kerasjson.Layer, name string) (*LSTMCell, error) {
	c := &LSTMCell{}
	if err := c.init(spec, "LSTMCell", name, 4, 2, true); err != nil {
		return nil, err
	}
	var err error
	if c.UnitForgetBias, err = spec.Config.Bool("unit_forget_bias", true); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *LSTMCell) buildCell(frame []int) error {
	if err := c.buildKernels(frame); err != nil {
		return err
	}
	if c.UseBias {
		c.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(4 * c.Units), Trainable: true}
		if c.UnitForgetBias {
			// Keras's initializer: zeros, then ones for the forget gate.
			for i := c.Units; i < 2*c.Units; i++ {
				c.Bias.Value.Data[i] = 1
			}
		}
	}
	return nil
}

func (c *LSTMCell) project(x []float32, rows int) []float32 {
	var bias []float32
	if c.Bias != nil {
		bias = c.Bias.Value.Data
	}
	return c.projectWith(x, rows, bias)
}

func (c *LSTMCell) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	var gb []float32
	if c.Bias != nil {
		gb = g.of(c.Bias)
	}
	return c.projectBackWith(x, gp, rows, g, gb)
}

type lstmCache struct {
	hPrev, cPrev []float32
	z, gates     []float32 // pre-activations and activated gates (batch × 4u)
	cNew, actC   []float32 // c' and activation(c')
}

func (c *LSTMCell) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	u, w := c.Units, 4*c.Units
	z := c.recurrent(prev[0], batch)
	for i, v := range p {
		z[i] += v
	}
	gates := make([]float32, len(z))
	for g := 0; g < 4; g++ {
		act := c.RecurrentActivation
		if g == 2 {
			act = c.Activation
		}
		applyGate(act, z, gates, batch, w, g, u)
	}
	cNew := make([]float32, batch*u)
	for b := 0; b < batch; b++ {
		gr := gates[b*w : (b+1)*w]
		for j := 0; j < u; j++ {
			cNew[b*u+j] = gr[u+j]*prev[1][b*u+j] + gr[j]*gr[2*u+j]
		}
	}
	actC := make([]float32, len(cNew))
	c.Activation.forward(cNew, actC, u)
	h := make([]float32, batch*u)
	for b := 0; b < batch; b++ {
		for j := 0; j < u; j++ {
			h[b*u+j] = gates[b*w+3*u+j] * actC[b*u+j]
		}
	}
	cache := &lstmCache{hPrev: prev[0], cPrev: prev[1], z: z, gates: gates, cNew: cNew, actC: actC}
	return [][]float32{h, append([]float32(nil), cNew...)}, cache
}

func (c *LSTMCell) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	k := cache.(*lstmCache)
	u, w := c.Units, 4*c.Units
	gh, gc := gNext[0], gNext[1]
	gGates := make([]float32, batch*w)
	gActC := make([]float32, batch*u)
	for b := 0; b < batch; b++ {
		for j := 0; j < u; j++ {
			gGates[b*w+3*u+j] = gh[b*u+j] * k.actC[b*u+j]
			gActC[b*u+j] = gh[b*u+j] * k.gates[b*w+3*u+j]
		}
	}
	gcTotal := make([]float32, batch*u)
	c.Activation.backward(k.cNew, k.actC, gActC, gcTotal, u)
	gcPrev := make([]float32, batch*u)
	for i := range gcTotal {
		gcTotal[i] += gc[i]
	}
	for b := 0; b < batch; b++ {
		gr := k.gates[b*w : (b+1)*w]
		gg := gGates[b*w : (b+1)*w]
		for j := 0; j < u; j++ {
			d := gcTotal[b*u+j]
			gg[u+j] = d * k.cPrev[b*u+j]
			gcPrev[b*u+j] = d * gr[u+j]
			gg[j] = d * gr[2*u+j]
			gg[2*u+j] = d * gr[j]
		}
	}
	gz := make([]float32, batch*w)
	for gi := 0; gi < 4; gi++ {
		act := c.RecurrentActivation
		if gi == 2 {
			act = c.Activation
		}
		gateGrad(act, k.z, k.gates, gGates, gz, batch, w, gi, u)
	}
	ghPrev := make([]float32, batch*u)
	c.recurrentBack(k.hPrev, gz, batch, ghPrev, g)
	return gz, [][]float32{ghPrev, gcPrev}
}
