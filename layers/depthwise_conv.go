package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// DepthwiseConv is keras.layers.DepthwiseConv1D and DepthwiseConv2D: each
// input channel c is convolved with its own depth_multiplier filters,
// giving output channel c*depth_multiplier+m. Weights: kernel
// (kernel_size..., input_channels, depth_multiplier), bias
// (input_channels*depth_multiplier,).
type DepthwiseConv struct {
	BaseConv
}

func init() {
	for rank := 1; rank <= 2; rank++ {
		Register(fmt.Sprintf("DepthwiseConv%dD", rank), func(spec *kerasjson.Layer) (Layer, error) { return newDepthwiseConv(spec, rank) }, Supports{Inference: true, Training: true})
	}
}

func newDepthwiseConv(spec *kerasjson.Layer, rank int) (Layer, error) {
	b, err := newBaseConv(spec, rank, depthwiseConv)
	if err != nil {
		return nil, err
	}
	return &DepthwiseConv{BaseConv: b}, nil
}

// depthwiseProblem is one depthwise convolution over channels_last data.
type depthwiseProblem struct {
	win             window
	batch, cin, mul int
}

// depthwiseProblem returns the depthwise convolution over an input shape
// (DepthwiseConv, and SeparableConv's first step).
func (l *BaseConv) depthwiseProblem(shape []int) (depthwiseProblem, error) {
	sp, cin, err := l.inputAxes(shape)
	if err != nil {
		return depthwiseProblem{}, err
	}
	win, err := l.window(shape, sp)
	if err != nil {
		return depthwiseProblem{}, err
	}
	return depthwiseProblem{win: win, batch: max(shape[0], 1), cin: cin, mul: l.DepthMultiplier}, nil
}

// forwardDepthwise is depthwiseProblem for a Forward input, checked against
// the kernel built.
func (l *BaseConv) forwardDepthwise(shape []int) (depthwiseProblem, error) {
	p, err := l.depthwiseProblem(shape)
	if err != nil {
		return p, err
	}
	p.batch = shape[0]
	return p, l.checkChannels(2, p.cin, shape)
}

func (p *depthwiseProblem) cout() int { return p.cin * p.mul }

// params returns the problem for runtime/kernels (1-D and 2-D windows are
// planar).
func (p *depthwiseProblem) params() kernels.ConvParams {
	return (&convProblem{win: p.win, batch: p.batch, cin: p.cin, cout: p.cout(), groups: 1}).kernelParams()
}

// forward computes y (batch x out x cin*mul) from x and the kernel (taps,
// cin, mul), clamped to act.
func (p *depthwiseProblem) forward(x, w, bias, y []float32, act kernels.Clamp) {
	kernels.DepthwiseConv2DClamp(p.params(), p.mul, x, w, y, bias, act)
}

// backward returns the input gradient (nil unless needInput) and the
// kernel gradient for the output gradient dy.
func (p *depthwiseProblem) backward(x, w, dy []float32, needInput bool) (dx, dw []float32) {
	dw = make([]float32, p.win.taps()*p.cout())
	if needInput {
		dx = make([]float32, len(x))
	}
	kernels.DepthwiseConv2DBackward(p.params(), p.mul, x, w, dy, dx, dw)
	return dx, dw
}

// fusedClamp returns the kernel clamp that computes act, when there is one
// that gives the same values (NaN included).
func fusedClamp(act *activation) (kernels.Clamp, bool) {
	if act == activations["linear"] {
		return kernels.NoClamp, true
	}
	if act != nil && act.clamp != nil {
		return *act.clamp, true
	}
	return kernels.Clamp{}, false
}

// Build creates kernel and bias for the input's channel count.
func (l *DepthwiseConv) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	p, err := l.depthwiseProblem(s)
	if err != nil {
		return nil, err
	}
	if err := l.buildVariables("kernel", l.kernelShape(p.cin, p.mul), p.cout(), s); err != nil {
		return nil, err
	}
	return [][]int{l.outputShape(s[0], p.win.outSpatial(), p.cout())}, nil
}

// Forward computes the depthwise convolution, bias and activation.
func (l *DepthwiseConv) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	p, err := l.forwardDepthwise(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	cf := l.args.channelsFirst
	outShape := l.outputShape(p.batch, p.win.outSpatial(), p.cout())
	bias := l.biasData()
	xl, w := toChannelsLast(x, cf), l.Kernel.Value.Data
	if c, ok := fusedClamp(l.Activation); ok && !ctx.Grad && !cf {
		zl := ctx.Alloc(p.batch * p.win.outSize() * p.cout()) // every output written
		p.forward(xl, w, bias, zl, c)
		return []*runtime.Tensor{{Shape: outShape, Data: zl}}, nil, nil
	}
	zl := make([]float32, p.batch*p.win.outSize()*p.cout())
	p.forward(xl, w, bias, zl, kernels.NoClamp)
	out := newConvOutput(zl, outShape, cf, l.Activation)
	if !ctx.Grad {
		return []*runtime.Tensor{out.tensor()}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if gout[0] == nil {
			return nil, nil
		}
		gzl := out.gradLast(gout[0].Data)
		gx, gw := p.backward(xl, w, gzl, ctx.NeedInputGrad(0))
		if l.Base.Trainable {
			accumulateGrad(ctx, l.Kernel, gw)
			l.accumulateBiasGrad(ctx, gzl, p.cout())
		}
		if gx == nil {
			return []*runtime.Tensor{nil}, nil
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{out.tensor()}, back, nil
}

// foldInfo describes the layer for the inference graph's folding
// (fuse.go).
func (l *DepthwiseConv) foldInfo() (kernel, bias *runtime.Variable, channels, axis, rank int, linear bool) {
	ks := l.Kernel.Value.Shape
	return l.Kernel, l.Bias, ks[len(ks)-2] * ks[len(ks)-1], channelAxis(l.args), l.args.rank + 2, l.Activation == activations["linear"]
}

// actInKernel reports whether Forward computes act in the kernel's store:
// a clamp, for channels_last (fuse.go).
func (l *DepthwiseConv) actInKernel(act *activation) bool {
	_, ok := fusedClamp(act)
	return ok && !l.args.channelsFirst
}

// withWeights returns a copy of the layer with kernel, bias (nil: none) and
// act in place of its own (fuse.go).
func (l *DepthwiseConv) withWeights(kernel, bias *runtime.Variable, act *activation) Layer {
	b := l.BaseConv
	b.Kernel, b.Bias, b.UseBias, b.Activation = kernel, bias, bias != nil, act
	return &DepthwiseConv{BaseConv: b}
}

// withZeros returns a copy of the layer padding its input with zeros
// first (fuse.go).
func (l *DepthwiseConv) withZeros(zeros [][2]int, channelsFirst bool) (Layer, bool) {
	a, ok := l.zerosArgs(zeros, channelsFirst)
	if !ok {
		return nil, false
	}
	b := l.BaseConv
	b.args = a
	return &DepthwiseConv{BaseConv: b}, true
}
