package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// UnitNormalization is keras.layers.UnitNormalization: each sample is
// scaled to unit L2 norm over axis (an integer or a list), as
// keras.ops.normalize(epsilon=1e-12) does: x * min(rsqrt(sum(x²)), 1e12).
type UnitNormalization struct {
	Base
	Axes []int
}

// unitNormEpsilon is the norm floor UnitNormalization passes to
// keras.ops.normalize.
const unitNormEpsilon = 1e-12

func init() {
	Register("UnitNormalization", newUnitNormalization, Supports{Inference: true, Training: true})
}

func newUnitNormalization(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &UnitNormalization{Base: b}
	if l.Axes, err = spec.Config.Ints("axis", 0, []int{-1}); err != nil {
		return nil, err
	}
	return l, nil
}

// Build checks the axes and returns the input shape.
func (l *UnitNormalization) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if _, _, err := normAxes(&l.Base, l.Axes, s); err != nil {
		return nil, err
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns none.
func (l *UnitNormalization) Weights() []*runtime.Variable { return nil }

// Forward divides each row by its L2 norm.
func (l *UnitNormalization) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	axes, shape, err := normAxes(&l.Base, l.Axes, x.Shape)
	if err != nil {
		return nil, nil, err
	}
	perm := reduceLastPerm(x.Rank(), axes)
	xp, ps := permuteAxes(x.Data, x.Shape, perm)
	rowLen := max(runtime.ShapeSize(shape), 1)
	yp, inv := l2NormalizeRows(xp, rowLen, unitNormEpsilon)
	inverse := inversePerm(perm)
	yd, _ := permuteAxes(yp, ps, inverse)
	y := &runtime.Tensor{Shape: copyShape(x.Shape), Data: yd}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g, _ := permuteAxes(gout[0].Data, x.Shape, perm)
		g = append([]float32(nil), g...)
		l2NormalizeRowsGrad(yp, inv, g, rowLen)
		gd, _ := permuteAxes(g, ps, inverse)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gd}}, nil
	}, nil
}
