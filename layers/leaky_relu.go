package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// LeakyReLU is keras.layers.LeakyReLU: x for x > 0, else negative_slope*x
// (default 0.3; Keras 2's "alpha" is accepted too).
type LeakyReLU struct {
	Base
	NegativeSlope float64
	act           *activation
}

func init() { Register("LeakyReLU", newLeakyReLU, Supports{Inference: true, Training: true}) }

func newLeakyReLU(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &LeakyReLU{Base: b}
	def := 0.3
	if def, err = spec.Config.Float("alpha", def); err != nil {
		return nil, err
	}
	if l.NegativeSlope, err = spec.Config.Float("negative_slope", def); err != nil {
		return nil, err
	}
	if l.NegativeSlope < 0 {
		return nil, ShapeError(&l.Base, "negative_slope cannot be negative, got %v", l.NegativeSlope)
	}
	l.act = leakyReluActivation(l.NegativeSlope)
	return l, nil
}

// Build returns the input shape.
func (l *LeakyReLU) Build(in [][]int) ([][]int, error) { return sameShape(&l.Base, in) }

// Weights returns none.
func (l *LeakyReLU) Weights() []*runtime.Variable { return nil }

// Forward applies the activation.
func (l *LeakyReLU) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return activate(ctx, l.act, in[0])
}
