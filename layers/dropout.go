package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Dropout is keras.layers.Dropout: identity at inference; in training it
// zeroes inputs with probability rate and scales the rest by 1/(1-rate).
type Dropout struct {
	Base
	Rate       float64
	NoiseShape []int
}

func init() { Register("Dropout", newDropout, Supports{Inference: true, Training: true}) }

func newDropout(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Dropout{Base: b}
	if l.Rate, err = spec.Config.Float("rate", 0); err != nil {
		return nil, err
	}
	if l.Rate < 0 || l.Rate >= 1 {
		return nil, ShapeError(&l.Base, "rate must be in [0, 1), got %v", l.Rate)
	}
	if shape, ok, err := spec.Config.Shape("noise_shape"); err != nil {
		return nil, err
	} else if ok {
		l.NoiseShape = shape
	}
	return l, nil
}

// Build returns the input shape.
func (l *Dropout) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns none.
func (l *Dropout) Weights() []*runtime.Variable { return nil }

// Forward drops units in training and passes through otherwise.
func (l *Dropout) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if !ctx.Training || l.Rate == 0 {
		return in, identityBackward(ctx), nil
	}
	if l.NoiseShape != nil {
		return nil, nil, ShapeError(&l.Base, "training with noise_shape is not supported yet")
	}
	if ctx.Rand == nil {
		return nil, nil, ShapeError(&l.Base, "training needs a random source (Context.Rand)")
	}
	scale := float32(1 / (1 - l.Rate))
	mask := make([]float32, x.Size())
	y := &runtime.Tensor{Shape: copyShape(x.Shape), Data: make([]float32, x.Size())}
	for i, v := range x.Data {
		if ctx.Rand.Float64() >= l.Rate {
			mask[i] = scale
			y.Data[i] = v * scale
		}
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := &runtime.Tensor{Shape: copyShape(x.Shape), Data: make([]float32, x.Size())}
		for i, m := range mask {
			gx.Data[i] = g[0].Data[i] * m
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
