package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// Dense is keras.layers.Dense: output = activation(dot(input, kernel) + bias)
// over the last axis. Weights: kernel (input_dim, units), bias (units,).
type Dense struct {
	Base
	Units      int
	UseBias    bool
	Activation *activation
	Kernel     *runtime.Variable
	Bias       *runtime.Variable
	// packed is the kernel in the GEMM core's layout, repacked only when
	// the kernel changes.
	packed runtime.Packed[*kernels.PackedB]
	// packedT is the kernel's transpose, for the input gradient.
	packedT runtime.Packed[*kernels.PackedB]
}

func init() { Register("Dense", newDense, Supports{Inference: true, Training: true}) }

func newDense(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Dense{Base: b}
	c := spec.Config
	if l.Units, err = c.Int("units", 0); err != nil {
		return nil, err
	}
	if l.Units <= 0 {
		return nil, ShapeError(&l.Base, "units must be positive, got %d", l.Units)
	}
	if l.UseBias, err = c.Bool("use_bias", true); err != nil {
		return nil, err
	}
	act, err := c.Object("activation")
	if err != nil {
		return nil, err
	}
	if l.Activation, err = lookupActivation(act); err != nil {
		return nil, err
	}
	return l, nil
}

// Build creates kernel and bias from the input's last dimension.
func (l *Dense) Build(in [][]int) ([][]int, error) {
	if len(in) != 1 || len(in[0]) < 2 {
		return nil, ShapeError(&l.Base, "expects one input of rank >= 2, got %v", shapesString(in))
	}
	s := in[0]
	d := s[len(s)-1]
	if d <= 0 {
		return nil, ShapeError(&l.Base, "input's last dimension must be known, got %s", runtime.FormatShape(s))
	}
	if l.Kernel == nil {
		l.Kernel = &runtime.Variable{Name: "kernel", Value: runtime.NewTensor(d, l.Units), Trainable: true}
		if l.UseBias {
			l.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(l.Units), Trainable: true}
		}
	} else if l.Kernel.Value.Shape[0] != d {
		return nil, ShapeError(&l.Base, "built for input dimension %d, called on %s", l.Kernel.Value.Shape[0], runtime.FormatShape(s))
	}
	if err := l.Activation.checkAxis(l.Units); err != nil {
		return nil, ShapeError(&l.Base, "%v", err)
	}
	out := append(append([]int(nil), s[:len(s)-1]...), l.Activation.outDim(l.Units))
	return [][]int{out}, nil
}

// Weights returns kernel and bias.
func (l *Dense) Weights() []*runtime.Variable {
	if l.Bias == nil {
		return []*runtime.Variable{l.Kernel}
	}
	return []*runtime.Variable{l.Kernel, l.Bias}
}

// Forward computes the affine map and activation.
func (l *Dense) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return l.forward(ctx, in, l.Activation)
}

// forward computes the affine map followed by act (linear for the logits
// of ForwardLogits).
func (l *Dense) forward(ctx *runtime.Context, in []*runtime.Tensor, act *activation) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	d := l.Kernel.Value.Shape[0]
	if x.Rank() < 2 || x.Shape[x.Rank()-1] != d {
		return nil, nil, ShapeError(&l.Base, "expects last dimension %d, got input %s", d, runtime.FormatShape(x.Shape))
	}
	rows := x.Size() / d
	shape := append(append([]int(nil), x.Shape[:x.Rank()-1]...), l.Units)
	z := runtime.NewTensor(shape...)
	var bias []float32
	if l.Bias != nil {
		bias = l.Bias.Value.Data
	}
	pb := l.packed.Get(func() *kernels.PackedB { return kernels.PackB(d, l.Units, l.Kernel.Value.Data, l.Units) }, l.Kernel)
	kernels.Gemm(rows, l.Units, d, x.Data, d, pb, z.Data, l.Units, false, bias)
	if err := act.checkAxis(l.Units); err != nil {
		return nil, nil, ShapeError(&l.Base, "%v", err)
	}
	y := &runtime.Tensor{Shape: append(shape[:len(shape)-1:len(shape)-1], act.outDim(l.Units)), Data: act.apply(z.Data, l.Units)}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gz := activationGrad(act, z.Data, y.Data, gout[0].Data, l.Units)
		if l.Base.Trainable {
			// dL/dkernel = xᵀ · gz.
			gk := runtime.NewTensor(d, l.Units)
			xt := make([]float32, len(x.Data))
			transposeInto(xt, x.Data, rows, d)
			kernels.Gemm(d, l.Units, rows, xt, rows, kernels.PackB(rows, l.Units, gz, l.Units), gk.Data, l.Units, false, nil)
			ctx.AccumulateGrad(l.Kernel, gk)
			if l.Bias != nil {
				gb := runtime.NewTensor(l.Units)
				for r := 0; r < rows; r++ {
					for j, g := range gz[r*l.Units : (r+1)*l.Units] {
						gb.Data[j] += g
					}
				}
				ctx.AccumulateGrad(l.Bias, gb)
			}
		}
		if !ctx.NeedInputGrad(0) {
			return []*runtime.Tensor{nil}, nil
		}
		gx := &runtime.Tensor{Shape: append([]int(nil), x.Shape...), Data: make([]float32, x.Size())}
		// dL/dx = gz · kernelᵀ.
		pt := l.packedT.Get(func() *kernels.PackedB { return kernels.PackBTrans(l.Units, d, l.Kernel.Value.Data, l.Units) }, l.Kernel)
		kernels.Gemm(rows, d, l.Units, gz, l.Units, pt, gx.Data, d, false, nil)
		return []*runtime.Tensor{gx}, nil
	}
	return []*runtime.Tensor{y}, back, nil
}

// activationGrad returns dL/dz for y = act(z).
func activationGrad(a *activation, z, y, gy []float32, axisLen int) []float32 {
	if a.name == "linear" {
		return gy
	}
	gz := make([]float32, len(z))
	if len(z) > 0 && axisLen > 0 {
		a.backward(z, y, gy, gz, axisLen)
	}
	return gz
}
