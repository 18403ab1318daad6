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
	Base
	UseBias    bool
	Activation *activation
	Kernel     *runtime.Variable
	Bias       *runtime.Variable

	dw depthwiseArgs
}

// depthwiseArgs is the configuration shared by the depthwise and separable
// convolutions.
type depthwiseArgs struct {
	args       windowArgs
	multiplier int
}

func init() {
	for rank := 1; rank <= 2; rank++ {
		Register(fmt.Sprintf("DepthwiseConv%dD", rank), func(spec *kerasjson.Layer) (Layer, error) { return newDepthwiseConv(spec, rank) }, Supports{Inference: true, Training: true})
	}
}

func readDepthwiseArgs(c kerasjson.Config, rank int) (depthwiseArgs, error) {
	var a depthwiseArgs
	var err error
	if a.multiplier, err = c.Int("depth_multiplier", 1); err != nil {
		return a, err
	}
	if a.multiplier <= 0 {
		return a, fmt.Errorf("depth_multiplier must be positive, got %d", a.multiplier)
	}
	if a.args, err = readWindowArgs(c, rank, "kernel_size", ones(rank), true); err != nil {
		return a, err
	}
	if a.args.padding == "causal" {
		return a, fmt.Errorf("padding %q is not valid for a depthwise convolution", a.args.padding)
	}
	return a, nil
}

func newDepthwiseConv(spec *kerasjson.Layer, rank int) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &DepthwiseConv{Base: b}
	c := spec.Config
	if l.dw, err = readDepthwiseArgs(c, rank); err == nil {
		if l.UseBias, err = c.Bool("use_bias", true); err == nil {
			var act *kerasjson.Object
			if act, err = c.Object("activation"); err == nil {
				l.Activation, err = lookupActivation(act)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", &l.Base, err)
	}
	return l, nil
}

// depthwiseProblem is one depthwise convolution over channels_last data.
type depthwiseProblem struct {
	win             window
	batch, cin, mul int
}

// problem returns the window and channel count for an input shape.
func (a *depthwiseArgs) problem(b *Base, shape []int) (depthwiseProblem, error) {
	sp, cin, ok := spatialAxes(shape, a.args.rank, a.args.channelsFirst)
	if !ok {
		return depthwiseProblem{}, ShapeError(b, "expects input of rank %d, got %s", a.args.rank+2, runtime.FormatShape(shape))
	}
	if cin <= 0 {
		return depthwiseProblem{}, ShapeError(b, "input channels must be known, got input %s", runtime.FormatShape(shape))
	}
	win, err := newWindow(a.args, sp)
	if err != nil {
		return depthwiseProblem{}, ShapeError(b, "input %s: %v", runtime.FormatShape(shape), err)
	}
	return depthwiseProblem{win: win, batch: max(shape[0], 1), cin: cin, mul: a.multiplier}, nil
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
	p, err := l.dw.problem(&l.Base, s)
	if err != nil {
		return nil, err
	}
	kshape := append(append([]int(nil), l.dw.args.kernel...), p.cin, p.mul)
	if l.Kernel == nil {
		l.Kernel = &runtime.Variable{Name: "kernel", Value: runtime.NewTensor(kshape...), Trainable: true}
		if l.UseBias {
			l.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(p.cout()), Trainable: true}
		}
	} else if !windowShapeEqual(l.Kernel.Value.Shape, kshape) {
		return nil, ShapeError(&l.Base, "built with kernel %s, called on input %s", runtime.FormatShape(l.Kernel.Value.Shape), runtime.FormatShape(s))
	}
	return [][]int{joinAxes(s[0], p.win.outSpatial(), p.cout(), l.dw.args.channelsFirst)}, nil
}

// Weights returns kernel and bias.
func (l *DepthwiseConv) Weights() []*runtime.Variable {
	if l.Bias == nil {
		return []*runtime.Variable{l.Kernel}
	}
	return []*runtime.Variable{l.Kernel, l.Bias}
}

// Forward computes the depthwise convolution, bias and activation.
func (l *DepthwiseConv) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	p, err := l.dw.problem(&l.Base, x.Shape)
	if err != nil {
		return nil, nil, err
	}
	p.batch = x.Shape[0]
	if ks := l.Kernel.Value.Shape; ks[len(ks)-2] != p.cin {
		return nil, nil, ShapeError(&l.Base, "built for %d input channels, got input %s", ks[len(ks)-2], runtime.FormatShape(x.Shape))
	}
	cf := l.dw.args.channelsFirst
	outShape := joinAxes(p.batch, p.win.outSpatial(), p.cout(), cf)
	var bias []float32
	if l.Bias != nil {
		bias = l.Bias.Value.Data
	}
	xl, w := toChannelsLast(x, cf), l.Kernel.Value.Data
	zl := make([]float32, p.batch*p.win.outSize()*p.cout())
	if c, ok := fusedClamp(l.Activation); ok && !ctx.Grad && !cf {
		p.forward(xl, w, bias, zl, c)
		return []*runtime.Tensor{{Shape: outShape, Data: zl}}, nil, nil
	}
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
			ctx.AccumulateGrad(l.Kernel, &runtime.Tensor{Shape: copyShape(l.Kernel.Value.Shape), Data: gw})
			if l.Bias != nil {
				ctx.AccumulateGrad(l.Bias, &runtime.Tensor{Shape: []int{p.cout()}, Data: sumRows(gzl, p.cout())})
			}
		}
		if gx == nil {
			return []*runtime.Tensor{nil}, nil
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{out.tensor()}, back, nil
}
