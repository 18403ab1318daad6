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
	Base
	Filters         int
	UseBias         bool
	Activation      *activation
	DepthwiseKernel *runtime.Variable
	PointwiseKernel *runtime.Variable
	Bias            *runtime.Variable

	dw   depthwiseArgs
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
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &SeparableConv{Base: b}
	if err := l.readConfig(spec.Config, rank); err != nil {
		return nil, fmt.Errorf("layer %s: %w", &l.Base, err)
	}
	return l, nil
}

func (l *SeparableConv) readConfig(c kerasjson.Config, rank int) error {
	var err error
	if l.Filters, err = c.Int("filters", 0); err != nil {
		return err
	}
	if l.Filters <= 0 {
		return fmt.Errorf("filters must be positive, got %d", l.Filters)
	}
	if l.dw, err = readDepthwiseArgs(c, rank); err != nil {
		return err
	}
	if l.UseBias, err = c.Bool("use_bias", true); err != nil {
		return err
	}
	act, err := c.Object("activation")
	if err != nil {
		return err
	}
	l.Activation, err = lookupActivation(act)
	return err
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
	p, err := l.dw.problem(&l.Base, s)
	if err != nil {
		return nil, err
	}
	rank := l.dw.args.rank
	dshape := append(append([]int(nil), l.dw.args.kernel...), p.cin, p.mul)
	pshape := append(ones(rank), p.cout(), l.Filters)
	if l.DepthwiseKernel == nil {
		l.DepthwiseKernel = &runtime.Variable{Name: "depthwise_kernel", Value: runtime.NewTensor(dshape...), Trainable: true}
		l.PointwiseKernel = &runtime.Variable{Name: "pointwise_kernel", Value: runtime.NewTensor(pshape...), Trainable: true}
		if l.UseBias {
			l.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(l.Filters), Trainable: true}
		}
	} else if !windowShapeEqual(l.DepthwiseKernel.Value.Shape, dshape) {
		return nil, ShapeError(&l.Base, "built with depthwise kernel %s, called on input %s", runtime.FormatShape(l.DepthwiseKernel.Value.Shape), runtime.FormatShape(s))
	}
	return [][]int{joinAxes(s[0], p.win.outSpatial(), l.Filters, l.dw.args.channelsFirst)}, nil
}

// Weights returns depthwise_kernel, pointwise_kernel and bias.
func (l *SeparableConv) Weights() []*runtime.Variable {
	w := []*runtime.Variable{l.DepthwiseKernel, l.PointwiseKernel}
	if l.Bias != nil {
		w = append(w, l.Bias)
	}
	return w
}

// Forward computes the depthwise and pointwise convolutions, bias and
// activation.
func (l *SeparableConv) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	p, err := l.dw.problem(&l.Base, x.Shape)
	if err != nil {
		return nil, nil, err
	}
	p.batch = x.Shape[0]
	if ks := l.DepthwiseKernel.Value.Shape; ks[len(ks)-2] != p.cin {
		return nil, nil, ShapeError(&l.Base, "built for %d input channels, got input %s", ks[len(ks)-2], runtime.FormatShape(x.Shape))
	}
	pw := l.pointwise(&p)
	cf := l.dw.args.channelsFirst
	outShape := joinAxes(p.batch, p.win.outSpatial(), l.Filters, cf)
	var bias []float32
	if l.Bias != nil {
		bias = l.Bias.Value.Data
	}
	xl, dk := toChannelsLast(x, cf), l.DepthwiseKernel.Value.Data
	mid := make([]float32, p.batch*p.win.outSize()*p.cout())
	p.forward(xl, dk, nil, mid, kernels.NoClamp)
	pk := l.pack.get(l.PointwiseKernel)
	zl := make([]float32, pw.rows()*l.Filters)
	pw.forward(mid, pk, bias, zl)
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
			ctx.AccumulateGrad(l.DepthwiseKernel, &runtime.Tensor{Shape: copyShape(l.DepthwiseKernel.Value.Shape), Data: gdk})
			ctx.AccumulateGrad(l.PointwiseKernel, &runtime.Tensor{Shape: copyShape(l.PointwiseKernel.Value.Shape), Data: pw.backwardFilter(mid, gzl)})
			if l.Bias != nil {
				ctx.AccumulateGrad(l.Bias, &runtime.Tensor{Shape: []int{l.Filters}, Data: sumRows(gzl, l.Filters)})
			}
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{out.tensor()}, back, nil
}
