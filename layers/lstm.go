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
		if cell.perStepDropout, err = tfKerasFusedDropout(spec.Config, &cell.cellCore, true); err != nil {
			return nil, err
		}
		return newRNNLayer(spec, cell)
	}, Supports{Inference: true, Training: true})
	registerCell("LSTMCell", func(spec *kerasjson.Layer) (rnnCell, error) { return newLSTMCell(spec, "") })
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
	z, gates     []float32 // pre-activations and activated gates (n × 4u)
	cNew, actC   []float32 // c' and activation(c')
}

func (c *LSTMCell) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	z := c.recurrent(prev[0], batch)
	for i, v := range p {
		z[i] += v
	}
	h, k := lstmPointwise(c.Activation, c.RecurrentActivation, z, prev[1], batch, c.Units)
	k.hPrev = prev[0]
	return [][]float32{h, append([]float32(nil), k.cNew...)}, k
}

func (c *LSTMCell) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	k := cache.(*lstmCache)
	gz, gcPrev := lstmPointwiseBack(c.Activation, c.RecurrentActivation, k, gNext[0], gNext[1], batch, c.Units)
	ghPrev := make([]float32, batch*c.Units)
	c.recurrentBack(k.hPrev, gz, batch, ghPrev, g)
	return gz, [][]float32{ghPrev, gcPrev}
}

// lstmPointwise is the LSTM step after the input and recurrent
// transformations, over n rows of u units (a batch of LSTMCell, every
// position of a ConvLSTM's feature map): from z = x·W + h·U + b (n × 4u,
// gates i, f, c, o) and the previous carry, h' = o*act(c'), c' = f*c +
// i*act(z_c). The cache holds what lstmPointwiseBack needs (hPrev is the
// caller's to set).
func lstmPointwise(act, recAct *activation, z, cPrev []float32, n, u int) ([]float32, *lstmCache) {
	w := 4 * u
	gates := make([]float32, len(z))
	for g := 0; g < 4; g++ {
		a := recAct
		if g == 2 {
			a = act
		}
		applyGate(a, z, gates, n, w, g, u)
	}
	cNew := make([]float32, n*u)
	for b := 0; b < n; b++ {
		gr := gates[b*w : (b+1)*w]
		for j := 0; j < u; j++ {
			cNew[b*u+j] = gr[u+j]*cPrev[b*u+j] + gr[j]*gr[2*u+j]
		}
	}
	actC := make([]float32, len(cNew))
	act.forward(cNew, actC, u)
	h := make([]float32, n*u)
	for b := 0; b < n; b++ {
		for j := 0; j < u; j++ {
			h[b*u+j] = gates[b*w+3*u+j] * actC[b*u+j]
		}
	}
	return h, &lstmCache{cPrev: cPrev, z: z, gates: gates, cNew: cNew, actC: actC}
}

// lstmPointwiseBack maps the gradients of h' and c' to those of z and of
// the previous carry.
func lstmPointwiseBack(act, recAct *activation, k *lstmCache, gh, gc []float32, n, u int) (gz, gcPrev []float32) {
	w := 4 * u
	gGates := make([]float32, n*w)
	gActC := make([]float32, n*u)
	for b := 0; b < n; b++ {
		for j := 0; j < u; j++ {
			gGates[b*w+3*u+j] = gh[b*u+j] * k.actC[b*u+j]
			gActC[b*u+j] = gh[b*u+j] * k.gates[b*w+3*u+j]
		}
	}
	gcTotal := make([]float32, n*u)
	act.backward(k.cNew, k.actC, gActC, gcTotal, u)
	gcPrev = make([]float32, n*u)
	for i := range gcTotal {
		gcTotal[i] += gc[i]
	}
	for b := 0; b < n; b++ {
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
	gz = make([]float32, n*w)
	for gi := 0; gi < 4; gi++ {
		a := recAct
		if gi == 2 {
			a = act
		}
		gateGrad(a, k.z, k.gates, gGates, gz, n, w, gi, u)
	}
	return gz, gcPrev
}
