package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Softmax is keras.layers.Softmax: softmax over axis (an integer or a list
// of axes, default -1). Masks are not supported yet.
type Softmax struct {
	Base
	Axes []int
}

func init() { Register("Softmax", newSoftmax, Supports{Inference: true, Training: true}) }

func newSoftmax(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Softmax{Base: b}
	if l.Axes, err = spec.Config.Ints("axis", 0, []int{-1}); err != nil {
		return nil, err
	}
	return l, nil
}

// Build checks the axes and returns the input shape.
func (l *Softmax) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if _, err := l.perm(len(s)); err != nil {
		return nil, err
	}
	return [][]int{copyShape(s)}, nil
}

// perm returns the permutation moving the softmax axes last, in order.
func (l *Softmax) perm(rank int) ([]int, error) {
	chosen := make([]bool, rank)
	var last []int
	for _, a := range l.Axes {
		n, ok := normalizeAxis(a, rank)
		if !ok || chosen[n] {
			return nil, ShapeError(&l.Base, "axis %v invalid for rank %d", l.Axes, rank)
		}
		chosen[n] = true
		last = append(last, n)
	}
	var perm []int
	for i := 0; i < rank; i++ {
		if !chosen[i] {
			perm = append(perm, i)
		}
	}
	return append(perm, last...), nil
}

// Weights returns none.
func (l *Softmax) Weights() []*runtime.Variable { return nil }

// Forward applies softmax over the chosen axes.
func (l *Softmax) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	perm, err := l.perm(x.Rank())
	if err != nil {
		return nil, nil, err
	}
	return activateAxes(ctx, activations["softmax"], x, perm, len(l.Axes))
}

// activateAxes applies a row activation over the last n axes of x
// permuted by perm (flattened into one row), and permutes back.
func activateAxes(ctx *runtime.Context, a *activation, x *runtime.Tensor, perm []int, n int) ([]*runtime.Tensor, runtime.Backward, error) {
	xp, ps := permuteAxes(x.Data, x.Shape, perm)
	row := runtime.ShapeSize(ps[len(ps)-n:])
	yp := make([]float32, len(xp))
	if row > 0 {
		a.forward(xp, yp, row)
	}
	inv := inversePerm(perm)
	yd, _ := permuteAxes(yp, ps, inv)
	y := &runtime.Tensor{Shape: copyShape(x.Shape), Data: yd}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gp, _ := permuteAxes(gout[0].Data, x.Shape, perm)
		gx := make([]float32, len(gp))
		if row > 0 {
			a.backward(xp, yp, gp, gx, row)
		}
		gd, _ := permuteAxes(gx, ps, inv)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gd}}, nil
	}, nil
}
