package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// ConvLSTMCell is the cell of keras.layers.ConvLSTM1D, ConvLSTM2D and
// ConvLSTM3D: an LSTM whose input and recurrent transformations are
// convolutions. With x a (spatial..., channels) frame and h, c the
// (out spatial..., filters) states, z = conv(x, kernel; strides, padding,
// dilation_rate) + bias + conv(h, recurrent_kernel; stride 1, "same"),
// then at every position the LSTM gates i, f, c, o (in that order along
// the last axis of the kernels): c' = f*c + i*activation(z_c),
// h' = o*activation(c'). Weights: kernel (kernel_size..., channels,
// 4*filters), recurrent_kernel (kernel_size..., filters, 4*filters), bias
// (4*filters,). dropout and recurrent_dropout apply in training
// (convLSTMDropout). The convolutions run on the Conv layers' kernels
// (convProblem); the gates are LSTMCell's (lstmPointwise).
type ConvLSTMCell struct {
	Base
	Filters             int
	Activation          *activation
	RecurrentActivation *activation
	UseBias             bool
	UnitForgetBias      bool
	Dropout             float64
	RecurrentDropout    float64
	Kernel              *runtime.Variable
	RecurrentKernel     *runtime.Variable
	Bias                *runtime.Variable

	args          windowArgs
	frame         []int  // (spatial..., channels) the cell was built for
	in, rec       window // the input and recurrent convolutions' geometry
	pack, recPack convPack
}

func init() {
	for rank := 1; rank <= 3; rank++ {
		Register(fmt.Sprintf("ConvLSTM%dD", rank), func(spec *kerasjson.Layer) (Layer, error) {
			cell, err := newConvLSTMCell(spec, rank)
			if err != nil {
				return nil, err
			}
			return newRNNLayer(spec, cell)
		}, Supports{Inference: true, Training: true})
	}
}

func newConvLSTMCell(spec *kerasjson.Layer, rank int) (*ConvLSTMCell, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	b.Name, b.ClassName = "conv_lstm_cell", "ConvLSTMCell"
	c := &ConvLSTMCell{Base: b}
	cfg := spec.Config
	fail := func(err error) (*ConvLSTMCell, error) {
		return nil, fmt.Errorf("layer %s (%s): %w", spec.Name, spec.ClassName, err)
	}
	if c.Filters, err = cfg.Int("filters", 0); err != nil {
		return fail(err)
	}
	if c.Filters <= 0 {
		return fail(fmt.Errorf("filters must be positive, got %d", c.Filters))
	}
	if c.args, err = readWindowArgs(cfg, rank, "kernel_size", ones(rank), true); err != nil {
		return fail(err)
	}
	if c.args.padding == "causal" {
		return fail(fmt.Errorf("padding \"causal\" is not a ConvLSTM padding"))
	}
	if c.args.channelsFirst {
		return fail(fmt.Errorf("data_format channels_first is not supported (TensorFlow's CPU convolutions, which Keras runs it on, refuse it too)"))
	}
	for i := range c.args.strides {
		if c.args.strides[i] > 1 && c.args.dilation[i] > 1 {
			return fail(fmt.Errorf("strides %v > 1 are not compatible with dilation_rate %v > 1", c.args.strides, c.args.dilation))
		}
	}
	if c.Activation, err = readCellActivation(&c.Base, cfg, "activation", "tanh"); err != nil {
		return nil, err
	}
	if c.RecurrentActivation, err = readCellActivation(&c.Base, cfg, "recurrent_activation", "sigmoid"); err != nil {
		return nil, err
	}
	if c.UseBias, err = cfg.Bool("use_bias", true); err != nil {
		return fail(err)
	}
	if c.UnitForgetBias, err = cfg.Bool("unit_forget_bias", true); err != nil {
		return fail(err)
	}
	if c.Dropout, err = cfg.Float("dropout", 0); err != nil {
		return fail(err)
	}
	if c.RecurrentDropout, err = cfg.Float("recurrent_dropout", 0); err != nil {
		return fail(err)
	}
	return c, nil
}

// Weights returns kernel, recurrent_kernel and bias.
func (c *ConvLSTMCell) Weights() []*runtime.Variable {
	if c.Kernel == nil {
		return nil
	}
	if c.Bias == nil {
		return []*runtime.Variable{c.Kernel, c.RecurrentKernel}
	}
	return []*runtime.Variable{c.Kernel, c.RecurrentKernel, c.Bias}
}

// Build refuses to build the cell outside its layer.
func (c *ConvLSTMCell) Build([][]int) ([][]int, error) {
	return nil, ShapeError(&c.Base, "a recurrent cell runs inside its RNN layer")
}

// Forward refuses to run the cell outside its layer.
func (c *ConvLSTMCell) Forward(*runtime.Context, []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return nil, nil, ShapeError(&c.Base, "a recurrent cell runs inside its RNN layer")
}

// buildCell creates the kernels for (spatial..., channels) frames.
func (c *ConvLSTMCell) buildCell(frame []int) error {
	rank := c.args.rank
	if len(frame) != rank+1 {
		return ShapeError(&c.Base, "expects (batch, time, %d spatial dimensions, channels) sequences, got steps of shape %s", rank, runtime.FormatShape(frame))
	}
	in, err := newWindow(c.args, frame[:rank])
	if err != nil {
		return ShapeError(&c.Base, "steps of shape %s: %v", runtime.FormatShape(frame), err)
	}
	// The recurrent convolution keeps the state's size: stride 1, "same",
	// no dilation (Keras's recurrent_conv).
	recArgs := windowArgs{rank: rank, kernel: c.args.kernel, strides: ones(rank), dilation: ones(rank), padding: "same"}
	rec, err := newWindow(recArgs, in.outSpatial())
	if err != nil {
		return ShapeError(&c.Base, "%v", err)
	}
	c.frame, c.in, c.rec = append([]int(nil), frame...), in, rec
	f4 := 4 * c.Filters
	c.Kernel = &runtime.Variable{Name: "kernel", Value: runtime.NewTensor(append(append([]int(nil), c.args.kernel...), frame[rank], f4)...), Trainable: true}
	c.RecurrentKernel = &runtime.Variable{Name: "recurrent_kernel", Value: runtime.NewTensor(append(append([]int(nil), c.args.kernel...), c.Filters, f4)...), Trainable: true}
	if c.UseBias {
		c.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(f4), Trainable: true}
		if c.UnitForgetBias {
			for i := c.Filters; i < 2*c.Filters; i++ {
				c.Bias.Value.Data[i] = 1
			}
		}
	}
	return nil
}

func (c *ConvLSTMCell) frameShape() []int { return c.frame }

func (c *ConvLSTMCell) stateShapes() [][]int {
	s := append(c.in.outSpatial(), c.Filters)
	return [][]int{s, append([]int(nil), s...)}
}

func (c *ConvLSTMCell) outputState() int { return 0 }

// inProblem and recProblem are the two convolutions over n frames.
func (c *ConvLSTMCell) inProblem(n int) *convProblem {
	return &convProblem{win: c.in, batch: n, cin: c.frame[len(c.frame)-1], cout: 4 * c.Filters, groups: 1}
}

func (c *ConvLSTMCell) recProblem(n int) *convProblem {
	return &convProblem{win: c.rec, batch: n, cin: c.Filters, cout: 4 * c.Filters, groups: 1}
}

// project is the input convolution plus bias of rows frames.
func (c *ConvLSTMCell) project(x []float32, rows int) []float32 {
	p := c.inProblem(rows)
	y := make([]float32, p.rows()*p.cout)
	if rows == 0 {
		return y
	}
	var bias []float32
	if c.Bias != nil {
		bias = c.Bias.Value.Data
	}
	p.forward(x, c.pack.get(c.Kernel), bias, y)
	return y
}

func (c *ConvLSTMCell) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	p := c.inProblem(rows)
	if rows == 0 {
		return make([]float32, len(x))
	}
	addTo(g.of(c.Kernel), p.backwardFilter(x, gp))
	if c.Bias != nil {
		addTo(g.of(c.Bias), sumRows(gp, p.cout))
	}
	return p.backwardData(gp, c.pack.get(c.Kernel))
}

func addTo(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

func (c *ConvLSTMCell) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	rp := c.recProblem(batch)
	z := make([]float32, rp.rows()*rp.cout)
	rp.forward(prev[0], c.recPack.get(c.RecurrentKernel), nil, z)
	for i, v := range p {
		z[i] += v
	}
	h, k := lstmPointwise(c.Activation, c.RecurrentActivation, z, prev[1], rp.rows(), c.Filters)
	k.hPrev = prev[0]
	return [][]float32{h, append([]float32(nil), k.cNew...)}, k
}

func (c *ConvLSTMCell) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	k := cache.(*lstmCache)
	rp := c.recProblem(batch)
	gz, gcPrev := lstmPointwiseBack(c.Activation, c.RecurrentActivation, k, gNext[0], gNext[1], rp.rows(), c.Filters)
	addTo(g.of(c.RecurrentKernel), rp.backwardFilter(k.hPrev, gz))
	ghPrev := rp.backwardData(gz, c.recPack.get(c.RecurrentKernel))
	return gz, [][]float32{ghPrev, gcPrev}
}

// checkTraining accepts every configuration: dropout and
// recurrent_dropout run in training (conv_lstm_dropout.go).
func (c *ConvLSTMCell) checkTraining() error { return nil }
