package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// RMSNormalization is keras.layers.RMSNormalization (Keras 3.9+):
// x * rsqrt(mean(x²) + epsilon) * scale over axis (an integer or a list;
// epsilon defaults to 1e-6). Weight: scale, of the shape of those axes.
type RMSNormalization struct {
	Base
	Axes    []int
	Epsilon float64
	Scale   *runtime.Variable
}

func init() {
	Register("RMSNormalization", newRMSNormalization, Supports{Inference: true, Training: true})
}

func newRMSNormalization(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &RMSNormalization{Base: b}
	if l.Axes, err = spec.Config.Ints("axis", 0, []int{-1}); err != nil {
		return nil, err
	}
	if l.Epsilon, err = spec.Config.Float("epsilon", 1e-6); err != nil {
		return nil, err
	}
	return l, nil
}

// Build creates scale.
func (l *RMSNormalization) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	_, shape, err := normAxes(&l.Base, l.Axes, s)
	if err != nil {
		return nil, err
	}
	if l.Scale == nil {
		t := runtime.NewTensor(shape...)
		for i := range t.Data {
			t.Data[i] = 1
		}
		l.Scale = &runtime.Variable{Name: "scale", Value: t, Trainable: true}
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns scale.
func (l *RMSNormalization) Weights() []*runtime.Variable { return []*runtime.Variable{l.Scale} }

// Forward scales each row by its inverse root mean square.
func (l *RMSNormalization) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	axes, shape, err := normAxes(&l.Base, l.Axes, x.Shape)
	if err != nil {
		return nil, nil, err
	}
	if !equalShapes(l.Scale.Value.Shape, shape) {
		return nil, nil, ShapeError(&l.Base, "built for %s, called on %s", runtime.FormatShape(l.Scale.Value.Shape), runtime.FormatShape(x.Shape))
	}
	perm := reduceLastPerm(x.Rank(), axes)
	xp, ps := permuteAxes(x.Data, x.Shape, perm)
	rowLen := max(runtime.ShapeSize(shape), 1)
	byPos := func(_, i int) int { return i }
	inv := invStd(rowMeanSquares(xp, rowLen), l.Epsilon)
	yp, xhat := normalizeRows(xp, rowLen, make([]float64, len(inv)), inv, l.Scale.Value.Data, nil, byPos)
	inverse := inversePerm(perm)
	yd, _ := permuteAxes(yp, ps, inverse)
	y := &runtime.Tensor{Shape: copyShape(x.Shape), Data: yd}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g, _ := permuteAxes(gout[0].Data, x.Shape, perm)
		var dScale []float32
		if l.Base.Trainable {
			dScale = make([]float32, rowLen)
		}
		gh := affineGrads(g, xhat, rowLen, l.Scale.Value.Data, byPos, dScale, nil)
		gx := scaledRowsGrad(gh, xp, rowLen, nil, inv)
		if dScale != nil {
			ctx.AccumulateGrad(l.Scale, &runtime.Tensor{Shape: copyShape(shape), Data: dScale})
		}
		gd, _ := permuteAxes(gx, ps, inverse)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gd}}, nil
	}, nil
}
