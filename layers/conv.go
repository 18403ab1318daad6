package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// Conv is keras.layers.Conv1D, Conv2D and Conv3D: output =
// activation(conv(input, kernel) + bias) over 1 to 3 spatial dimensions,
// with strides, dilation_rate, groups, padding "valid", "same" or (1-D)
// "causal", and data_format channels_last or channels_first. Weights:
// kernel (kernel_size..., input_channels/groups, filters), bias (filters,).
type Conv struct {
	BaseConv

	pack convPack
}

func init() {
	for rank, names := range map[int][]string{1: {"Conv1D", "Convolution1D"}, 2: {"Conv2D", "Convolution2D"}, 3: {"Conv3D", "Convolution3D"}} {
		for _, n := range names {
			Register(n, func(spec *kerasjson.Layer) (Layer, error) { return newConv(spec, rank) }, Supports{Inference: true, Training: true})
		}
	}
}

func newConv(spec *kerasjson.Layer, rank int) (Layer, error) {
	b, err := newBaseConv(spec, rank, plainConv)
	if err != nil {
		return nil, err
	}
	return &Conv{BaseConv: b}, nil
}

// problem returns the convolution computed for an input shape.
func (l *Conv) problem(shape []int) (convProblem, error) {
	sp, cin, err := l.inputAxes(shape)
	if err != nil {
		return convProblem{}, err
	}
	win, err := l.window(shape, sp)
	if err != nil {
		return convProblem{}, err
	}
	return convProblem{win: win, batch: max(shape[0], 1), cin: cin, cout: l.Filters, groups: l.Groups}, nil
}

// Build creates kernel and bias for the input's channel count.
func (l *Conv) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	p, err := l.problem(s)
	if err != nil {
		return nil, err
	}
	if err := l.buildVariables("kernel", l.kernelShape(p.cinG(), l.Filters), l.Filters, s); err != nil {
		return nil, err
	}
	return [][]int{l.outputShape(s[0], p.win.outSpatial(), l.Filters)}, nil
}

// Forward computes the convolution, bias and activation.
func (l *Conv) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	p, err := l.problem(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	p.batch = x.Shape[0]
	if err := l.checkChannels(2, p.cinG(), x.Shape); err != nil {
		return nil, nil, err
	}
	cf := l.args.channelsFirst
	outShape := l.outputShape(p.batch, p.win.outSpatial(), l.Filters)
	xl := toChannelsLast(x, cf)
	pk := l.pack.get(l.Kernel)
	if !ctx.Grad && !cf && p.useConvKernel() {
		// Inference: a clamp (relu, relu6, none) or another in-place
		// activation in the tiles' epilogue, every output written.
		if act, ok := fusedClamp(l.Activation); ok {
			zl := ctx.Alloc(p.rows() * p.cout)
			kernels.Conv2DClamp(p.kernelParams(), xl, pk.conv2D(&p), zl, l.biasData(), act)
			return []*runtime.Tensor{{Shape: outShape, Data: zl}}, nil, nil
		}
		if a := l.Activation; inPlace(a) {
			zl := ctx.Alloc(p.rows() * p.cout)
			post := func(y []float32) { a.forward(y, y, l.Filters) }
			kernels.Conv2DEpilogue(p.kernelParams(), xl, pk.conv2D(&p), zl, l.biasData(), post)
			return []*runtime.Tensor{{Shape: outShape, Data: zl}}, nil, nil
		}
	}
	zl := make([]float32, p.rows()*p.cout)
	p.forward(xl, pk, l.biasData(), zl)
	var out *convOutput
	if !cf && l.Activation.fromY {
		// The backward pass needs only y: apply the activation in place.
		l.Activation.forward(zl, zl, l.Filters)
		out = &convOutput{shape: outShape, act: l.Activation, z: zl, y: zl}
	} else {
		out = newConvOutput(zl, outShape, cf, l.Activation)
	}
	if !ctx.Grad {
		return []*runtime.Tensor{out.tensor()}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if gout[0] == nil {
			return nil, nil
		}
		if l.Base.Trainable && !ctx.NeedInputGrad(0) && !cf && p.useConvKernel() && l.Activation == activations["relu"] {
			// Only the weights' gradients: the relu's derivative and the
			// bias gradient are fused into the filter gradient's passes.
			dw := make([]float32, len(l.Kernel.Value.Data))
			var db []float32
			if l.Bias != nil {
				db = make([]float32, l.Filters)
			}
			kernels.Conv2DWeightGrads(p.kernelParams(), xl, gout[0].Data, out.y, dw, db)
			accumulateGrad(ctx, l.Kernel, dw)
			if db != nil {
				ctx.AccumulateGrad(l.Bias, &runtime.Tensor{Shape: []int{l.Filters}, Data: db})
			}
			return []*runtime.Tensor{nil}, nil
		}
		gzl := out.gradLast(gout[0].Data)
		if l.Base.Trainable {
			accumulateGrad(ctx, l.Kernel, p.backwardFilter(xl, gzl))
			l.accumulateBiasGrad(ctx, gzl, l.Filters)
		}
		if !ctx.NeedInputGrad(0) {
			return []*runtime.Tensor{nil}, nil
		}
		gx := p.backwardData(gzl, pk)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{out.tensor()}, back, nil
}

// foldInfo describes the layer for the inference graph's folding (fuse.go).
func (l *Conv) foldInfo() (kernel, bias *runtime.Variable, channels, axis, rank int, linear bool) {
	return l.Kernel, l.Bias, l.Filters, channelAxis(l.args), l.args.rank + 2, l.Activation == activations["linear"]
}

// actInKernel reports whether Forward computes act in the GEMM's epilogue:
// for the ungrouped 1-D and 2-D channels_last convolutions (fuse.go).
func (l *Conv) actInKernel(act *activation) bool {
	return !l.args.channelsFirst && l.Groups == 1 && l.args.rank <= 2 && inPlace(act)
}

// withWeights returns a copy of the layer with kernel, bias (nil: none) and
// act in place of its own (fuse.go).
func (l *Conv) withWeights(kernel, bias *runtime.Variable, act *activation) Layer {
	b := l.BaseConv
	b.Kernel, b.Bias, b.UseBias, b.Activation = kernel, bias, bias != nil, act
	return &Conv{BaseConv: b}
}

// channelAxis is the channel axis of a convolution's output.
func channelAxis(a windowArgs) int {
	if a.channelsFirst {
		return 1
	}
	return a.rank + 1
}

// withZeros returns a copy of the layer padding its input with zeros
// first (fuse.go).
func (l *Conv) withZeros(zeros [][2]int, channelsFirst bool) (Layer, bool) {
	a, ok := l.zerosArgs(zeros, channelsFirst)
	if !ok {
		return nil, false
	}
	b := l.BaseConv
	b.args = a
	return &Conv{BaseConv: b}, true
}
