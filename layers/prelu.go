package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// PReLU is keras.layers.PReLU: relu(x) - alpha * relu(-x) with a learned
// alpha of the input's shape without the batch axis, size 1 along
// shared_axes. Weight: alpha.
type PReLU struct {
	Base
	SharedAxes []int
	Alpha      *runtime.Variable
}

func init() { Register("PReLU", newPReLU, Supports{Inference: true, Training: true}) }

func newPReLU(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &PReLU{Base: b}
	if l.SharedAxes, err = spec.Config.Ints("shared_axes", 0, nil); err != nil {
		return nil, err
	}
	return l, nil
}

// Build creates alpha.
func (l *PReLU) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) < 2 {
		return nil, ShapeError(&l.Base, "expects rank >= 2, got %s", runtime.FormatShape(s))
	}
	shape := copyShape(s[1:])
	for _, a := range l.SharedAxes {
		if a < 1 || a >= len(s) {
			return nil, ShapeError(&l.Base, "shared_axes %v invalid for input %s", l.SharedAxes, runtime.FormatShape(s))
		}
		shape[a-1] = 1
	}
	for _, d := range shape {
		if d < 0 {
			return nil, ShapeError(&l.Base, "needs known dimensions outside shared_axes, got %s", runtime.FormatShape(s))
		}
	}
	if l.Alpha == nil {
		l.Alpha = &runtime.Variable{Name: "alpha", Value: runtime.NewTensor(shape...), Trainable: true}
	} else if !equalShapes(l.Alpha.Value.Shape, shape) {
		return nil, ShapeError(&l.Base, "built for alpha %s, called on %s", runtime.FormatShape(l.Alpha.Value.Shape), runtime.FormatShape(s))
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns alpha.
func (l *PReLU) Weights() []*runtime.Variable { return []*runtime.Variable{l.Alpha} }

// Forward applies the parametric ReLU.
func (l *PReLU) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	as := append([]int{1}, l.Alpha.Value.Shape...)
	if x.Rank() != len(as) {
		return nil, nil, ShapeError(&l.Base, "expects rank %d, got %s", len(as), runtime.FormatShape(x.Shape))
	}
	if _, ok := broadcastShapes(as, x.Shape); !ok {
		return nil, nil, ShapeError(&l.Base, "alpha %s does not fit input %s", runtime.FormatShape(l.Alpha.Value.Shape), runtime.FormatShape(x.Shape))
	}
	alpha := broadcastTo(l.Alpha.Value.Data, as, x.Shape)
	y := runtime.NewTensor(x.Shape...)
	for i, v := range x.Data {
		if v > 0 {
			y.Data[i] = v
		} else {
			y.Data[i] = alpha[i] * v
		}
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g := gout[0].Data
		gx := runtime.NewTensor(x.Shape...)
		ga := make([]float32, len(g))
		for i, v := range x.Data {
			switch {
			case v > 0:
				gx.Data[i] = g[i]
			case v < 0: // relu's gradient is 0 at 0, so neither term passes there
				gx.Data[i] = g[i] * alpha[i]
				ga[i] = g[i] * v
			}
		}
		if l.Base.Trainable {
			ctx.AccumulateGrad(l.Alpha, &runtime.Tensor{Shape: copyShape(l.Alpha.Value.Shape), Data: unbroadcast(ga, as, x.Shape)})
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
