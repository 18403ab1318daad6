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
	BaseConv
	OutputPadding []int // nil: Keras's default

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
	b, err := newBaseConv(spec, rank, transposeConv)
	if err != nil {
		return nil, err
	}
	l := &ConvTranspose{BaseConv: b}
	r := &argReader{b: &l.Base, c: spec.Config}
	l.OutputPadding = r.Ints("output_padding", rank, nil)
	for i, op := range l.OutputPadding {
		r.check(op >= 0 && op < l.args.strides[i], "output_padding", "%v must be non-negative and smaller than strides %v", l.OutputPadding, l.args.strides)
	}
	if r.err != nil {
		return nil, r.err
	}
	return l, nil
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
	sp, cin, err := l.inputAxes(shape)
	if err != nil {
		return convProblem{}, nil, err
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
	if err := l.buildVariables("kernel", l.kernelShape(l.Filters, p.cout), l.Filters, s); err != nil {
		return nil, err
	}
	return [][]int{l.outputShape(s[0], outSp, l.Filters)}, nil
}

// Forward computes the transposed convolution, bias and activation.
func (l *ConvTranspose) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	p, outSp, err := l.problem(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	p.batch = x.Shape[0]
	if err := l.checkChannels(1, p.cout, x.Shape); err != nil {
		return nil, nil, err
	}
	cf := l.args.channelsFirst
	outShape := l.outputShape(p.batch, outSp, l.Filters)
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
			accumulateGrad(ctx, l.Kernel, p.backwardFilter(gzl, xl))
			l.accumulateBiasGrad(ctx, gzl, l.Filters)
		}
		gx := make([]float32, p.rows()*p.cout)
		p.forward(gzl, pk, nil, gx)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{out.tensor()}, back, nil
}
