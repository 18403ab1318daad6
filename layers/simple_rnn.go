package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// SimpleRNNCell is keras.layers.SimpleRNNCell: h' = activation(x·kernel +
// bias + h·recurrent_kernel). Weights: kernel (input_dim, units),
// recurrent_kernel (units, units), bias (units,).
type SimpleRNNCell struct {
	cellCore
}

func init() {
	Register("SimpleRNN", func(spec *kerasjson.Layer) (Layer, error) {
		cell, err := newSimpleRNNCell(spec, "simple_rnn_cell")
		if err != nil {
			return nil, err
		}
		return newRNNLayer(spec, cell)
	}, Supports{Inference: true, Training: true})
	registerCell("SimpleRNNCell", func(spec *kerasjson.Layer) (rnnCell, error) { return newSimpleRNNCell(spec, "") })
}

func newSimpleRNNCell(spec *kerasjson.Layer, name string) (*SimpleRNNCell, error) {
	c := &SimpleRNNCell{}
	if err := c.init(spec, "SimpleRNNCell", name, 1, 1, false); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *SimpleRNNCell) buildCell(frame []int) error {
	if err := c.buildKernels(frame); err != nil {
		return err
	}
	if c.UseBias {
		c.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(c.Units), Trainable: true}
	}
	return nil
}

func (c *SimpleRNNCell) project(x []float32, rows int) []float32 {
	var bias []float32
	if c.Bias != nil {
		bias = c.Bias.Value.Data
	}
	return c.projectWith(x, rows, bias)
}

func (c *SimpleRNNCell) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	var gb []float32
	if c.Bias != nil {
		gb = g.of(c.Bias)
	}
	return c.projectBackWith(x, gp, rows, g, gb)
}

type simpleRNNCache struct{ hPrev, z, h []float32 }

func (c *SimpleRNNCell) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	z := c.recurrent(prev[0], batch)
	for i, v := range p {
		z[i] += v
	}
	h := make([]float32, len(z))
	c.Activation.forward(z, h, c.Units)
	return [][]float32{append([]float32(nil), h...)}, &simpleRNNCache{hPrev: prev[0], z: z, h: h}
}

func (c *SimpleRNNCell) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	k := cache.(*simpleRNNCache)
	gz := make([]float32, len(k.z))
	c.Activation.backward(k.z, k.h, gNext[0], gz, c.Units)
	gh := make([]float32, batch*c.Units)
	c.recurrentBack(k.hPrev, gz, batch, gh, g)
	return gz, [][]float32{gh}
}
