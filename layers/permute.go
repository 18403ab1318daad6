package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Permute is keras.layers.Permute: reorders the non-batch axes; dims is a
// permutation of 1..rank-1.
type Permute struct {
	Base
	Dims []int
}

func init() { Register("Permute", newPermute, Supports{Inference: true, Training: true}) }

func newPermute(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Permute{Base: b}
	if l.Dims, err = spec.Config.Ints("dims", 0, nil); err != nil {
		return nil, err
	}
	seen := make([]bool, len(l.Dims)+1)
	for _, d := range l.Dims {
		if d < 1 || d > len(l.Dims) || seen[d] {
			return nil, ShapeError(&l.Base, "dims %v must be a permutation of 1..%d", l.Dims, len(l.Dims))
		}
		seen[d] = true
	}
	return l, nil
}

func (l *Permute) perm() []int { return append([]int{0}, l.Dims...) }

// Build returns the permuted shape.
func (l *Permute) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) != len(l.Dims)+1 {
		return nil, ShapeError(&l.Base, "expects rank %d, got %s", len(l.Dims)+1, runtime.FormatShape(s))
	}
	out := make([]int, len(s))
	for i, p := range l.perm() {
		out[i] = s[p]
	}
	return [][]int{out}, nil
}

// Weights returns none.
func (l *Permute) Weights() []*runtime.Variable { return nil }

// Forward transposes.
func (l *Permute) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() != len(l.Dims)+1 {
		return nil, nil, ShapeError(&l.Base, "expects rank %d, got %s", len(l.Dims)+1, runtime.FormatShape(x.Shape))
	}
	perm := l.perm()
	data, shape := permuteAxes(x.Data, x.Shape, perm)
	y := &runtime.Tensor{Shape: shape, Data: data}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gd, _ := permuteAxes(g[0].Data, shape, inversePerm(perm))
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gd}}, nil
	}, nil
}
