package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// ReLU is keras.layers.ReLU: keras.activations.relu with max_value
// (none by default), negative_slope and threshold.
type ReLU struct {
	Base
	MaxValue      float64 // -1 when there is none
	NegativeSlope float64
	Threshold     float64
	act           *activation
}

func init() { Register("ReLU", newReLU, Supports{Inference: true, Training: true}) }

func newReLU(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &ReLU{Base: b, MaxValue: -1}
	c := spec.Config
	if c.Has("max_value") {
		if l.MaxValue, err = c.Float("max_value", -1); err != nil {
			return nil, err
		}
		if l.MaxValue < 0 {
			return nil, ShapeError(&l.Base, "max_value cannot be negative, got %v", l.MaxValue)
		}
	}
	if l.NegativeSlope, err = c.Float("negative_slope", 0); err != nil {
		return nil, err
	}
	if l.Threshold, err = c.Float("threshold", 0); err != nil {
		return nil, err
	}
	if l.NegativeSlope < 0 || l.Threshold < 0 {
		return nil, ShapeError(&l.Base, "negative_slope and threshold cannot be negative, got %v and %v", l.NegativeSlope, l.Threshold)
	}
	l.act = reluActivation(l.NegativeSlope, l.MaxValue, l.Threshold)
	return l, nil
}

// Build returns the input shape.
func (l *ReLU) Build(in [][]int) ([][]int, error) { return sameShape(&l.Base, in) }

// Weights returns none.
func (l *ReLU) Weights() []*runtime.Variable { return nil }

// Forward applies the activation.
func (l *ReLU) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return activate(ctx, l.act, in[0])
}

// sameShape checks for one input and returns its shape as the output's.
func sameShape(b *Base, in [][]int) ([][]int, error) {
	s, err := single(b, in)
	if err != nil {
		return nil, err
	}
	return [][]int{copyShape(s)}, nil
}
