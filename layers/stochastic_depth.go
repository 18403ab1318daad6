package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// StochasticDepth is keras.applications.convnext's StochasticDepth
// (ConvNeXt with drop_path_rate > 0): the identity at inference; in
// training each sample's residual path is dropped with probability
// drop_path_rate and kept ones are scaled by 1/(1-drop_path_rate). The
// draw uses Context.Rand, not Keras's generator.
type StochasticDepth struct {
	Base
	DropPathRate float64
}

func init() {
	Register("StochasticDepth", newStochasticDepth, Supports{Inference: true, Training: true})
}

func newStochasticDepth(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &StochasticDepth{Base: b}
	if l.DropPathRate, err = spec.Config.Float("drop_path_rate", 0); err != nil {
		return nil, err
	}
	if l.DropPathRate < 0 || l.DropPathRate >= 1 {
		return nil, ShapeError(&l.Base, "drop_path_rate must be in [0, 1), got %v", l.DropPathRate)
	}
	return l, nil
}

// Build returns the input shape.
func (l *StochasticDepth) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns none.
func (l *StochasticDepth) Weights() []*runtime.Variable { return nil }

// Forward drops whole samples in training.
func (l *StochasticDepth) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if !ctx.Training || l.DropPathRate == 0 {
		return in, identityBackward(ctx), nil
	}
	if ctx.Rand == nil {
		return nil, nil, ShapeError(&l.Base, "training needs a random source (Context.Rand)")
	}
	n := 1
	if x.Rank() > 0 {
		n = x.Shape[0]
	}
	per := x.Size() / max(n, 1)
	keep := make([]float32, n)
	for i := range keep {
		if ctx.Rand.Float64() >= l.DropPathRate {
			keep[i] = float32(1 / (1 - l.DropPathRate))
		}
	}
	scaled := func(d []float32) *runtime.Tensor {
		t := &runtime.Tensor{Shape: copyShape(x.Shape), Data: make([]float32, len(d))}
		for i, v := range d {
			t.Data[i] = v * keep[i/per]
		}
		return t
	}
	y := scaled(x.Data)
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		return []*runtime.Tensor{scaled(g[0].Data)}, nil
	}, nil
}
