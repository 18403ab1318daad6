package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Rescaling is keras.layers.Rescaling: x * scale + offset, where scale
// and offset are numbers or per-channel lists (broadcast over the last
// axis, NumPy rules).
type Rescaling struct {
	Base
	Scale, Offset []float32
}

func init() { Register("Rescaling", newRescaling, Supports{Inference: true, Training: true}) }

// configFloats reads a number or a list of numbers.
func configFloats(c kerasjson.Config, key string, def float64) ([]float32, error) {
	if list, ok := c[key].([]any); ok {
		out := make([]float32, len(list))
		for i, e := range list {
			f, err := kerasjson.Config{"v": e}.Float("v", 0)
			if err != nil {
				return nil, err
			}
			out[i] = float32(f)
		}
		return out, nil
	}
	f, err := c.Float(key, def)
	if err != nil {
		return nil, err
	}
	return []float32{float32(f)}, nil
}

func newRescaling(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Rescaling{Base: b}
	if !spec.Config.Has("scale") {
		return nil, ShapeError(&l.Base, "config has no scale")
	}
	if l.Scale, err = configFloats(spec.Config, "scale", 1); err != nil {
		return nil, err
	}
	if l.Offset, err = configFloats(spec.Config, "offset", 0); err != nil {
		return nil, err
	}
	return l, nil
}

// channelValue returns v broadcast along the last axis for element i.
func channelValue(v []float32, i, last int) float32 {
	if len(v) == 1 {
		return v[0]
	}
	return v[i%last]
}

// Build checks per-channel lists against the last axis.
func (l *Rescaling) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if err := l.check(s); err != nil {
		return nil, err
	}
	return [][]int{copyShape(s)}, nil
}

func (l *Rescaling) check(s []int) error {
	for _, v := range [][]float32{l.Scale, l.Offset} {
		if len(v) > 1 && (len(s) == 0 || s[len(s)-1] >= 0 && s[len(s)-1] != len(v)) {
			return ShapeError(&l.Base, "%d per-channel values do not fit input %s", len(v), runtime.FormatShape(s))
		}
	}
	return nil
}

// Weights returns none.
func (l *Rescaling) Weights() []*runtime.Variable { return nil }

// Forward scales and shifts.
func (l *Rescaling) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if err := l.check(x.Shape); err != nil {
		return nil, nil, err
	}
	last := 1
	if x.Rank() > 0 {
		last = x.Shape[x.Rank()-1]
	}
	y := runtime.NewTensor(x.Shape...)
	for i, v := range x.Data {
		y.Data[i] = v*channelValue(l.Scale, i, last) + channelValue(l.Offset, i, last)
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		for i, v := range g[0].Data {
			gx.Data[i] = v * channelValue(l.Scale, i, last)
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
