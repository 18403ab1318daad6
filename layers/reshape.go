package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Reshape is keras.layers.Reshape: each sample takes target_shape, in
// which one dimension may be -1 (inferred).
type Reshape struct {
	Base
	TargetShape []int
}

func init() { Register("Reshape", newReshape, Supports{Inference: true, Training: true}) }

func newReshape(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Reshape{Base: b}
	if l.TargetShape, err = spec.Config.Ints("target_shape", 0, nil); err != nil {
		return nil, err
	}
	if l.TargetShape == nil {
		return nil, ShapeError(&l.Base, "config has no target_shape")
	}
	unknown := 0
	for _, d := range l.TargetShape {
		switch {
		case d == -1:
			unknown++
		case d < 0:
			return nil, ShapeError(&l.Base, "invalid target_shape %v", l.TargetShape)
		}
	}
	if unknown > 1 {
		return nil, ShapeError(&l.Base, "target_shape %v has more than one -1", l.TargetShape)
	}
	return l, nil
}

// resolve returns the per-sample shape for an input of per-sample size n
// (-1 when unknown).
func (l *Reshape) resolve(n int) ([]int, error) {
	out := copyShape(l.TargetShape)
	known, hole := 1, -1
	for i, d := range out {
		if d == -1 {
			hole = i
		} else {
			known *= d
		}
	}
	if n < 0 {
		return out, nil
	}
	if hole >= 0 {
		if known == 0 || n%known != 0 {
			return nil, ShapeError(&l.Base, "cannot reshape %d values per sample to %v", n, l.TargetShape)
		}
		out[hole] = n / known
	} else if known != n {
		return nil, ShapeError(&l.Base, "cannot reshape %d values per sample to %v", n, l.TargetShape)
	}
	return out, nil
}

// Build returns (batch, target_shape).
func (l *Reshape) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) < 1 {
		return nil, ShapeError(&l.Base, "needs a batch axis")
	}
	n := 1
	for _, d := range s[1:] {
		if d < 0 {
			n = -1
			break
		}
		n *= d
	}
	out, err := l.resolve(n)
	if err != nil {
		return nil, err
	}
	return [][]int{append([]int{s[0]}, out...)}, nil
}

// Weights returns none.
func (l *Reshape) Weights() []*runtime.Variable { return nil }

// Forward reshapes without copying.
func (l *Reshape) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() < 1 {
		return nil, nil, ShapeError(&l.Base, "needs a batch axis")
	}
	out, err := l.resolve(runtime.ShapeSize(x.Shape[1:]))
	if err != nil {
		return nil, nil, err
	}
	y := &runtime.Tensor{Shape: append([]int{x.Shape[0]}, out...), Data: x.Data}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: g[0].Data}}, nil
	}, nil
}
