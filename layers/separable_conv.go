package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// SeparableConv is keras.layers.SeparableConv1D and SeparableConv2D: a
// depthwise convolution (depth_multiplier filters per input channel, no
// bias) followed by a pointwise 1x1 convolution to filters channels, bias
// and activation. Weights: depthwise_kernel (kernel_size..., input_channels,
// depth_multiplier), pointwise_kernel (1..., input_channels*depth_multiplier,
// filters), bias (filters,).
type SeparableConv struct {
	BaseConv        // Kernel is the depthwise_kernel
	PointwiseKernel *runtime.Variable

	pack convPack
}

func init() {
	for rank := 1; rank <= 2; rank++ {
		for _, n := range []string{fmt.Sprintf("SeparableConv%dD", rank), fmt.Sprintf("SeparableConvolution%dD", rank)} {
			Register(n, func(spec *kerasjson.Layer) (Layer, error) { return newSeparableConv(spec, rank) }, Supports{Inference: true, Training: true})
		}
	}
}

func newSeparableConv(spec *kerasjson.Layer, rank int) (Layer, error) {
	b, err := newBaseConv(spec, rank, separableConv)
	if err != nil {
		return nil, err
	}
	return &SeparableConv{BaseConv: b}, nil
}

// pointwise returns the 1x1 convolution over the depthwise output.
func (l *SeparableConv) pointwise(p *depthwiseProblem) convProblem {
	w := window{rank: p.win.rank, in: p.win.out, out: p.win.out}
	for d := 0; d < 3; d++ {
		w.k[d], w.stride[d], w.dil[d] = 1, 1, 1
	}
	return convProblem{win: w, batch: p.batch, cin: p.cout(), cout: l.Filters, groups: 1}
}

// Build creates the two kernels and the bias for the input's channel count.
func (l *SeparableConv) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	p, err := l.depthwiseProblem(s)
	if err != nil {
		return nil, err
	}
	built := l.Kernel != nil
	if err := l.buildVariables("depthwise_kernel", l.kernelShape(p.cin, p.mul), l.Filters, s); err != nil {
		return nil, err
	}
	if !built {
		pshape := append(ones(l.args.rank), p.cout(), l.Filters)
		l.PointwiseKernel = &runtime.Variable{Name: "pointwise_kernel", Value: runtime.NewTensor(pshape...), Trainable: true}
	}
	return [][]int{l.outputShape(s[0], p.win.outSpatial(), l.Filters)}, nil
}

// Weights returns depthwise_kernel, pointwise_kernel and bias.
func (l *SeparableConv) Weights() []*runtime.Variable {
	w := []*runtime.Variable{l.Kernel, l.PointwiseKernel}
	if l.Bias != nil {
		w = append(w, l.Bias)
	}
	return w
}

// Forward computes the depthwise and pointwise convolutions, bias and
// activation.
func (l *SeparableConv) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	p, err := l.forwardDepthwise(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	pw := l.pointwise(&p)
	cf := l.args.channelsFirst
	outShape := l.outputShape(p.batch, p.win.outSpatial(), l.Filters)
	xl, dk := toChannelsLast(x, cf), l.Kernel.Value.Data
	mid := make([]float32, p.batch*p.win.outSize()*p.cout())
	p.forward(xl, dk, nil, mid, kernels.NoClamp)
	pk := l.pack.get(l.PointwiseKernel)
	zl := make([]float32, pw.rows()*l.Filters)
	pw.forward(mid, pk, l.biasData(), zl)
	out := newConvOutput(zl, outShape, cf, l.Activation)
	if !ctx.Grad {
		return []*runtime.Tensor{out.tensor()}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if gout[0] == nil {
			return nil, nil
		}
		gzl := out.gradLast(gout[0].Data)
		gmid := pw.backwardData(gzl, pk)
		gx, gdk := p.backward(xl, dk, gmid, true)
		if l.Base.Trainable {
			accumulateGrad(ctx, l.Kernel, gdk)
			accumulateGrad(ctx, l.PointwiseKernel, pw.backwardFilter(mid, gzl))
			l.accumulateBiasGrad(ctx, gzl, l.Filters)
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{out.tensor()}, back, nil
}
