package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// ThresholdedReLU is Keras 2's keras.layers.ThresholdedReLU (removed in
// Keras 3): x for x > theta, else 0 (theta defaults to 1).
type ThresholdedReLU struct {
	Base
	Theta float64
	act   *activation
}

func init() {
	Register("ThresholdedReLU", newThresholdedReLU, Supports{Inference: true, Training: true})
}

func newThresholdedReLU(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &ThresholdedReLU{Base: b}
	if l.Theta, err = spec.Config.Float("theta", 1); err != nil {
		return nil, err
	}
	if l.Theta < 0 {
		return nil, ShapeError(&l.Base, "theta cannot be negative, got %v", l.Theta)
	}
	theta := l.Theta
	l.act = elementwise("thresholded_relu", func(x float64) float64 { return x * step(x > theta) },
		func(x, _ float64) float64 { return step(x > theta) })
	return l, nil
}

// Build returns the input shape.
func (l *ThresholdedReLU) Build(in [][]int) ([][]int, error) { return sameShape(&l.Base, in) }

// Weights returns none.
func (l *ThresholdedReLU) Weights() []*runtime.Variable { return nil }

// Forward applies the activation.
func (l *ThresholdedReLU) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return activate(ctx, l.act, in[0])
}
