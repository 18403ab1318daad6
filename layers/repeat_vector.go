package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// RepeatVector is keras.layers.RepeatVector: (batch, features) ->
// (batch, n, features).
type RepeatVector struct {
	Base
	N int
}

func init() { Register("RepeatVector", newRepeatVector, Supports{Inference: true, Training: true}) }

func newRepeatVector(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &RepeatVector{Base: b}
	if l.N, err = spec.Config.Int("n", 0); err != nil {
		return nil, err
	}
	if l.N <= 0 {
		return nil, ShapeError(&l.Base, "n must be positive, got %d", l.N)
	}
	return l, nil
}

// Build returns (batch, n, features).
func (l *RepeatVector) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) != 2 {
		return nil, ShapeError(&l.Base, "expects rank 2, got %s", runtime.FormatShape(s))
	}
	return [][]int{{s[0], l.N, s[1]}}, nil
}

// Weights returns none.
func (l *RepeatVector) Weights() []*runtime.Variable { return nil }

// Forward repeats each sample n times.
func (l *RepeatVector) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() != 2 {
		return nil, nil, ShapeError(&l.Base, "expects rank 2, got %s", runtime.FormatShape(x.Shape))
	}
	x3 := &runtime.Tensor{Shape: []int{x.Shape[0], 1, x.Shape[1]}, Data: x.Data}
	out, back, err := gatherForward(ctx, x3, [][]int{identityMap(x.Shape[0]), make([]int, l.N), identityMap(x.Shape[1])})
	if back == nil || err != nil {
		return out, nil, err
	}
	return out, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx, err := back(g)
		if err != nil {
			return nil, err
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gx[0].Data}}, nil
	}, nil
}
