package layers

import (
	"fmt"

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
	Base
	Filters    int
	Groups     int
	UseBias    bool
	Activation *activation
	Kernel     *runtime.Variable
	Bias       *runtime.Variable

	args windowArgs
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
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Conv{Base: b}
	if err := l.readConfig(spec.Config, rank); err != nil {
		return nil, fmt.Errorf("layer %s: %w", &l.Base, err)
	}
	return l, nil
}

func (l *Conv) readConfig(c kerasjson.Config, rank int) error {
	var err error
	if l.Filters, err = c.Int("filters", 0); err != nil {
		return err
	}
	if l.Filters <= 0 {
		return fmt.Errorf("filters must be positive, got %d", l.Filters)
	}
	if l.Groups, err = c.Int("groups", 1); err != nil {
		return err
	}
	if l.Groups <= 0 || l.Filters%l.Groups != 0 {
		return fmt.Errorf("groups %d must be positive and divide filters %d", l.Groups, l.Filters)
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
	if r, err := c.Int("lora_rank", 0); err != nil || r != 0 {
		return fmt.Errorf("lora_rank is not supported")
	}
	l.args, err = readWindowArgs(c, rank, "kernel_size", ones(rank), true)
	return err
}

// problem returns the convolution computed for an input shape.
func (l *Conv) problem(shape []int) (convProblem, error) {
	sp, cin, ok := spatialAxes(shape, l.args.rank, l.args.channelsFirst)
	if !ok {
		return convProblem{}, ShapeError(&l.Base, "expects input of rank %d, got %s", l.args.rank+2, runtime.FormatShape(shape))
	}
	if cin <= 0 || cin%l.Groups != 0 {
		return convProblem{}, ShapeError(&l.Base, "input channels %d must be known and divisible by groups %d (input %s)", cin, l.Groups, runtime.FormatShape(shape))
	}
	win, err := newWindow(l.args, sp)
	if err != nil {
		return convProblem{}, ShapeError(&l.Base, "input %s: %v", runtime.FormatShape(shape), err)
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
	kshape := append(append([]int(nil), l.args.kernel...), p.cinG(), l.Filters)
	if l.Kernel == nil {
		l.Kernel = &runtime.Variable{Name: "kernel", Value: runtime.NewTensor(kshape...), Trainable: true}
		if l.UseBias {
			l.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(l.Filters), Trainable: true}
		}
	} else if !windowShapeEqual(l.Kernel.Value.Shape, kshape) {
		return nil, ShapeError(&l.Base, "built with kernel %s, called on input %s", runtime.FormatShape(l.Kernel.Value.Shape), runtime.FormatShape(s))
	}
	return [][]int{joinAxes(s[0], p.win.outSpatial(), l.Filters, l.args.channelsFirst)}, nil
}

// Weights returns kernel and bias.
func (l *Conv) Weights() []*runtime.Variable {
	if l.Bias == nil {
		return []*runtime.Variable{l.Kernel}
	}
	return []*runtime.Variable{l.Kernel, l.Bias}
}

// Forward computes the convolution, bias and activation.
func (l *Conv) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	p, err := l.problem(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	p.batch = x.Shape[0]
	if p.cinG() != l.Kernel.Value.Shape[l.args.rank] {
		return nil, nil, ShapeError(&l.Base, "built for %d input channels per group, got input %s", l.Kernel.Value.Shape[l.args.rank], runtime.FormatShape(x.Shape))
	}
	cf := l.args.channelsFirst
	outShape := joinAxes(p.batch, p.win.outSpatial(), l.Filters, cf)
	var bias []float32
	if l.Bias != nil {
		bias = l.Bias.Value.Data
	}
	xl := toChannelsLast(x, cf)
	pk := l.pack.get(l.Kernel)
	zl := make([]float32, p.rows()*p.cout)
	p.forward(xl, pk, bias, zl)
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
			ctx.AccumulateGrad(l.Kernel, &runtime.Tensor{Shape: copyShape(l.Kernel.Value.Shape), Data: dw})
			if db != nil {
				ctx.AccumulateGrad(l.Bias, &runtime.Tensor{Shape: []int{l.Filters}, Data: db})
			}
			return []*runtime.Tensor{nil}, nil
		}
		gzl := out.gradLast(gout[0].Data)
		if l.Base.Trainable {
			ctx.AccumulateGrad(l.Kernel, &runtime.Tensor{Shape: copyShape(l.Kernel.Value.Shape), Data: p.backwardFilter(xl, gzl)})
			if l.Bias != nil {
				ctx.AccumulateGrad(l.Bias, &runtime.Tensor{Shape: []int{l.Filters}, Data: sumRows(gzl, l.Filters)})
			}
		}
		if !ctx.NeedInputGrad(0) {
			return []*runtime.Tensor{nil}, nil
		}
		gx := p.backwardData(gzl, pk)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{out.tensor()}, back, nil
}

func windowShapeEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
