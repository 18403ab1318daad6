package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// ConvLSTMCell is the cell of keras.layers.ConvLSTM1D, ConvLSTM2D and
// ConvLSTM3D: an LSTM whose input and recurrent transformations are
// convolutions. With x a (spatial..., channels) frame and h, c the
// (out spatial..., filters) states (channels first with data_format
// channels_first), z = conv(x, kernel; strides, padding,
// dilation_rate) + bias + conv(h, recurrent_kernel; stride 1, "same"),
// then at every position the LSTM gates i, f, c, o (in that order along
// the last axis of the kernels): c' = f*c + i*activation(z_c),
// h' = o*activation(c'). Weights: kernel (kernel_size..., channels,
// 4*filters), recurrent_kernel (kernel_size..., filters, 4*filters), bias
// (4*filters,). dropout and recurrent_dropout apply in training
// (convLSTMCall). The convolutions run on the Conv layers' kernels
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
	frame         []int  // the frame shape the cell was built for, in data_format
	spatial       []int  // the frame's spatial dimensions
	channels      int    // the frame's channels
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
	spatial, channels, ok := spatialAxes(append([]int{1}, frame...), rank, c.args.channelsFirst)
	if !ok {
		return ShapeError(&c.Base, "expects (batch, time, %d spatial dimensions and channels) sequences, got steps of shape %s", rank, runtime.FormatShape(frame))
	}
	in, err := newWindow(c.args, spatial)
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
	c.frame, c.spatial, c.channels, c.in, c.rec = append([]int(nil), frame...), append([]int(nil), spatial...), channels, in, rec
	f4 := 4 * c.Filters
	c.Kernel = &runtime.Variable{Name: "kernel", Value: runtime.NewTensor(append(append([]int(nil), c.args.kernel...), channels, f4)...), Trainable: true}
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
	s := joinAxes(0, c.in.outSpatial(), c.Filters, c.args.channelsFirst)[1:]
	return [][]int{s, append([]int(nil), s...)}
}

func (c *ConvLSTMCell) outputState() int { return 0 }

// inProblem and recProblem are the two convolutions over n frames.
func (c *ConvLSTMCell) inProblem(n int) *convProblem {
	return &convProblem{win: c.in, batch: n, cin: c.channels, cout: 4 * c.Filters, groups: 1}
}

func (c *ConvLSTMCell) recProblem(n int) *convProblem {
	return &convProblem{win: c.rec, batch: n, cin: c.Filters, cout: 4 * c.Filters, groups: 1}
}

// The rnnCell steps run the cell without dropout (convLSTMCall).
func (c *ConvLSTMCell) project(x []float32, rows int) []float32 { return c.plain().project(x, rows) }

func (c *ConvLSTMCell) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	return c.plain().projectBack(x, gp, rows, g)
}

func (c *ConvLSTMCell) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	return c.plain().step(p, prev, batch)
}

func (c *ConvLSTMCell) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	return c.plain().stepBack(cache, gNext, batch, g)
}
