package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// ConvTranspose is keras.layers.Conv1DTranspose, Conv2DTranspose and
// Conv3DTranspose: the adjoint of a convolution (the input gradient of a
// Conv with the same kernel), with strides, dilation_rate, padding "valid"
// or "same", output_padding and either data_format. Weights: kernel
// (kernel_size..., filters, input_channels), bias (filters,).
type ConvTranspose struct {
	Base
	Filters       int
	UseBias       bool
	OutputPadding []int // nil: Keras's default
	Activation    *activation
	Kernel        *runtime.Variable
	Bias          *runtime.Variable

	args windowArgs
	pack convPack
}

func init() {
	for rank := 1; rank <= 3; rank++ {
		for _, n := range []string{fmt.Sprintf("Conv%dDTranspose", rank), fmt.Sprintf("Convolution%dDTranspose", rank)} {
			Register(n, func(spec *kerasjson.Layer) (Layer, error) { return newConvTranspose(spec, rank) }, Supports{Inference: true, Training: true})
		}
	}
}

func newConvTranspose(spec *kerasjson.Layer, rank int) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &ConvTranspose{Base: b}
	if err := l.readConfig(spec.Config, rank); err != nil {
		return nil, fmt.Errorf("layer %s: %w", &l.Base, err)
	}
	return l, nil
}

func (l *ConvTranspose) readConfig(c kerasjson.Config, rank int) error {
	var err error
	if l.Filters, err = c.Int("filters", 0); err != nil {
		return err
	}
	if l.Filters <= 0 {
		return fmt.Errorf("filters must be positive, got %d", l.Filters)
	}
	if l.UseBias, err = c.Bool("use_bias", true); err != nil {
		return err
	}
	act, err := c.Object("activation")
	if err != nil {
		return err
	}
	if l.Activation, err = lookupActivation(act); err != nil {
		return err
	}
	if l.args, err = readWindowArgs(c, rank, "kernel_size", ones(rank), true); err != nil {
		return err
	}
	if l.args.padding == "causal" {
		return fmt.Errorf("padding %q is not valid for a transposed convolution", l.args.padding)
	}
	if l.OutputPadding, err = c.Ints("output_padding", rank, nil); err != nil {
		return err
	}
	for i, op := range l.OutputPadding {
		if op < 0 || op >= l.args.strides[i] {
			return fmt.Errorf("output_padding %v must be non-negative and smaller than strides %v", l.OutputPadding, l.args.strides)
		}
	}
	return nil
}

// outputSize is Keras's transposed-convolution output length for one
// dimension (keras/src/backend/common/backend_utils.py,
// _get_output_shape_given_tf_padding); -1 when the input is unknown.
func (l *ConvTranspose) outputSize(i, in int) int {
	if in < 0 {
		return -1
	}
	k, s := l.args.kernel[i], l.args.strides[i]
	span := (k-1)*l.args.dilation[i] + 1
	if l.args.padding == "valid" {
		op := max(span, s) - span
		if l.OutputPadding != nil {
			op = l.OutputPadding[i]
		}
		return (in-1)*s + span + op
	}
	if l.OutputPadding == nil {
		return in * s
	}
	return (in-1)*s + span%2 + l.OutputPadding[i]
}

// problem returns the forward convolution whose adjoint this layer is: it
// maps the layer's output (filters channels) to its input (cin channels),
// with TensorFlow's padding for that direction.
func (l *ConvTranspose) problem(shape []int) (convProblem, []int, error) {
	sp, cin, ok := spatialAxes(shape, l.args.rank, l.args.channelsFirst)
	if !ok {
		return convProblem{}, nil, ShapeError(&l.Base, "expects input of rank %d, got %s", l.args.rank+2, runtime.FormatShape(shape))
	}
	if cin <= 0 {
		return convProblem{}, nil, ShapeError(&l.Base, "input channels must be known, got input %s", runtime.FormatShape(shape))
	}
	w := window{rank: l.args.rank}
	outSp := make([]int, l.args.rank)
	for d := 0; d < 3; d++ {
		w.in[d], w.out[d], w.k[d], w.stride[d], w.dil[d] = 1, 1, 1, 1, 1
	}
	for i := 0; i < l.args.rank; i++ {
		d := 3 - l.args.rank + i
		if sp[i] == 0 {
			return convProblem{}, nil, ShapeError(&l.Base, "input %s has a zero dimension", runtime.FormatShape(shape))
		}
		outSp[i] = l.outputSize(i, sp[i])
		w.in[d], w.out[d] = outSp[i], sp[i]
		w.k[d], w.stride[d], w.dil[d] = l.args.kernel[i], l.args.strides[i], l.args.dilation[i]
		if sp[i] > 0 && l.args.padding == "same" {
			span := (w.k[d]-1)*w.dil[d] + 1
			w.padBefore[d] = max((sp[i]-1)*w.stride[d]+span-outSp[i], 0) / 2
		}
	}
	return convProblem{win: w, batch: max(shape[0], 1), cin: l.Filters, cout: cin, groups: 1}, outSp, nil
}

// Build creates kernel and bias for the input's channel count.
func (l *ConvTranspose) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	p, outSp, err := l.problem(s)
	if err != nil {
		return nil, err
	}
	kshape := append(append([]int(nil), l.args.kernel...), l.Filters, p.cout)
	if l.Kernel == nil {
		l.Kernel = &runtime.Variable{Name: "kernel", Value: runtime.NewTensor(kshape...), Trainable: true}
		if l.UseBias {
			l.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(l.Filters), Trainable: true}
		}
	} else if !windowShapeEqual(l.Kernel.Value.Shape, kshape) {
		return nil, ShapeError(&l.Base, "built with kernel %s, called on input %s", runtime.FormatShape(l.Kernel.Value.Shape), runtime.FormatShape(s))
	}
	return [][]int{joinAxes(s[0], outSp, l.Filters, l.args.channelsFirst)}, nil
}

// Weights returns kernel and bias.
func (l *ConvTranspose) Weights() []*runtime.Variable {
	if l.Bias == nil {
		return []*runtime.Variable{l.Kernel}
	}
	return []*runtime.Variable{l.Kernel, l.Bias}
}

// Forward computes the transposed convolution, bias and activation.
func (l *ConvTranspose) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	p, outSp, err := l.problem(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	p.batch = x.Shape[0]
	if ks := l.Kernel.Value.Shape; ks[len(ks)-1] != p.cout {
		return nil, nil, ShapeError(&l.Base, "built for %d input channels, got input %s", ks[len(ks)-1], runtime.FormatShape(x.Shape))
	}
	cf := l.args.channelsFirst
	outShape := joinAxes(p.batch, outSp, l.Filters, cf)
	xl := toChannelsLast(x, cf)
	pk := l.pack.get(l.Kernel)
	zl := p.backwardData(xl, pk)
	if l.Bias != nil {
		addBias(zl, l.Bias.Value.Data)
	}
	out := newConvOutput(zl, outShape, cf, l.Activation)
	if !ctx.Grad {
		return []*runtime.Tensor{out.tensor()}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if gout[0] == nil {
			return nil, nil
		}
		gzl := out.gradLast(gout[0].Data)
		if l.Base.Trainable {
			ctx.AccumulateGrad(l.Kernel, &runtime.Tensor{Shape: copyShape(l.Kernel.Value.Shape), Data: p.backwardFilter(gzl, xl)})
			if l.Bias != nil {
				ctx.AccumulateGrad(l.Bias, &runtime.Tensor{Shape: []int{l.Filters}, Data: sumRows(gzl, l.Filters)})
			}
		}
		gx := make([]float32, p.rows()*p.cout)
		p.forward(gzl, pk, nil, gx)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{out.tensor()}, back, nil
}
