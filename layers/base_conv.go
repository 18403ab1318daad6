package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// BaseConv is what the convolution layers share, as Keras's BaseConv and
// its depthwise, separable and transposed variants
// (keras/src/layers/convolutional/base_*conv*.py): the configuration
// (rank, filters, kernel_size, strides, padding, data_format,
// dilation_rate, groups, depth_multiplier, activation, use_bias), the split
// of an input shape into spatial axes and channels, the output shape, and
// the kernel and bias variables. The initializer, regularizer and
// constraint arguments are not read here: the weights come from the file,
// and train reads the regularizers from the config itself.
type BaseConv struct {
	Base
	Filters         int // output channels; 0 for DepthwiseConv (input channels x DepthMultiplier)
	Groups          int // 1 but for Conv
	DepthMultiplier int // DepthwiseConv and SeparableConv; 0 for the others
	UseBias         bool
	Activation      *activation
	Kernel          *runtime.Variable // SeparableConv: depthwise_kernel
	Bias            *runtime.Variable

	args windowArgs
}

// convKind says which arguments a convolution class takes.
type convKind int

const (
	plainConv     convKind = iota // Conv1D/2D/3D: groups, causal padding at rank 1, lora_rank
	transposeConv                 // Conv*Transpose (output_padding is its own)
	depthwiseConv                 // DepthwiseConv1D/2D: depth_multiplier, no filters
	separableConv                 // SeparableConv1D/2D: filters and depth_multiplier
)

// newBaseConv reads the shared configuration of a convolution of the
// given rank. A malformed argument gives a *ConfigError; a valid one that
// kerasrun cannot run (lora_rank, an unknown activation) an ordinary error
// naming the layer.
func newBaseConv(spec *kerasjson.Layer, rank int, kind convKind) (BaseConv, error) {
	b, err := NewBase(spec)
	if err != nil {
		return BaseConv{}, err
	}
	l := BaseConv{Base: b, Groups: 1}
	r := &argReader{b: &l.Base, c: spec.Config}
	if kind != depthwiseConv {
		l.Filters = r.Int("filters", 0)
		r.check(l.Filters > 0, "filters", "must be positive, got %d", l.Filters)
	}
	if kind == plainConv {
		l.Groups = r.Int("groups", 1)
		r.check(l.Groups > 0 && l.Filters%l.Groups == 0, "groups", "%d must be positive and divide filters %d", l.Groups, l.Filters)
	}
	if kind == depthwiseConv || kind == separableConv {
		l.DepthMultiplier = r.Int("depth_multiplier", 1)
		r.check(l.DepthMultiplier > 0, "depth_multiplier", "must be positive, got %d", l.DepthMultiplier)
	}
	if r.err != nil {
		return l, r.err
	}
	l.args = r.windowArgs(rank, "kernel_size", ones(rank), true, kind == plainConv && rank == 1)
	l.UseBias = r.Bool("use_bias", true)
	act, err := r.activation("activation")
	if r.err != nil {
		return l, r.err
	}
	if err != nil {
		return l, fmt.Errorf("layer %s: %w", &l.Base, err)
	}
	l.Activation = act
	if kind == plainConv {
		if n, err := spec.Config.Int("lora_rank", 0); err != nil || n != 0 {
			return l, fmt.Errorf("layer %s: lora_rank is not supported", &l.Base)
		}
	}
	return l, nil
}

// inputAxes splits an input shape into its spatial dimensions and its
// (known) channel count.
func (l *BaseConv) inputAxes(shape []int) (spatial []int, channels int, err error) {
	sp, cin, ok := spatialAxes(shape, l.args.rank, l.args.channelsFirst)
	if !ok {
		return nil, 0, ShapeError(&l.Base, "expects input of rank %d, got %s", l.args.rank+2, runtime.FormatShape(shape))
	}
	if cin <= 0 || cin%l.Groups != 0 {
		if l.Groups != 1 {
			return nil, 0, ShapeError(&l.Base, "input channels %d must be known and divisible by groups %d (input %s)", cin, l.Groups, runtime.FormatShape(shape))
		}
		return nil, 0, ShapeError(&l.Base, "input channels must be known, got input %s", runtime.FormatShape(shape))
	}
	return sp, cin, nil
}

// window returns the forward window over an input shape's spatial axes.
func (l *BaseConv) window(shape, spatial []int) (window, error) {
	win, err := newWindow(l.args, spatial)
	if err != nil {
		return win, ShapeError(&l.Base, "input %s: %v", runtime.FormatShape(shape), err)
	}
	return win, nil
}

// outputShape joins batch, spatial dimensions and channels in the layer's
// data format.
func (l *BaseConv) outputShape(batch int, spatial []int, channels int) []int {
	return joinAxes(batch, spatial, channels, l.args.channelsFirst)
}

// buildVariables creates the kernel (named name, of shape kshape) and a
// bias of biasLen, or checks that the kernel built before has that shape;
// input is the input shape, for the error.
func (l *BaseConv) buildVariables(name string, kshape []int, biasLen int, input []int) error {
	if l.Kernel == nil {
		l.Kernel = &runtime.Variable{Name: name, Value: runtime.NewTensor(kshape...), Trainable: true}
		if l.UseBias {
			l.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(biasLen), Trainable: true}
		}
		return nil
	}
	if !equalShapes(l.Kernel.Value.Shape, kshape) {
		return ShapeError(&l.Base, "built with %s %s, called on input %s", name, runtime.FormatShape(l.Kernel.Value.Shape), runtime.FormatShape(input))
	}
	return nil
}

// checkChannels checks, in Forward, that the kernel axis fromEnd (counted
// from the end) holds n, the input channels (per group) of input x.
func (l *BaseConv) checkChannels(fromEnd, n int, x []int) error {
	if ks := l.Kernel.Value.Shape; ks[len(ks)-fromEnd] != n {
		perGroup := ""
		if l.Groups > 1 {
			perGroup = " per group"
		}
		return ShapeError(&l.Base, "built for %d input channels%s, got input %s", ks[len(ks)-fromEnd], perGroup, runtime.FormatShape(x))
	}
	return nil
}

// kernelShape is kernel_size followed by dims.
func (l *BaseConv) kernelShape(dims ...int) []int {
	return append(append([]int(nil), l.args.kernel...), dims...)
}

// Weights returns kernel and bias.
func (l *BaseConv) Weights() []*runtime.Variable {
	if l.Bias == nil {
		return []*runtime.Variable{l.Kernel}
	}
	return []*runtime.Variable{l.Kernel, l.Bias}
}

// biasData is the bias's values, nil without a bias.
func (l *BaseConv) biasData() []float32 {
	if l.Bias == nil {
		return nil
	}
	return l.Bias.Value.Data
}

// accumulateBiasGrad adds the bias gradient, the column sums of gz (rows of
// n channels), when there is a bias.
func (l *BaseConv) accumulateBiasGrad(ctx *runtime.Context, gz []float32, n int) {
	if l.Bias != nil {
		ctx.AccumulateGrad(l.Bias, &runtime.Tensor{Shape: []int{n}, Data: sumRows(gz, n)})
	}
}

// accumulateGrad adds g, of v's shape, to v's gradient.
func accumulateGrad(ctx *runtime.Context, v *runtime.Variable, g []float32) {
	ctx.AccumulateGrad(v, &runtime.Tensor{Shape: copyShape(v.Value.Shape), Data: g})
}
