package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// ELU is keras.layers.ELU: x for x > 0, else alpha*(exp(x)-1).
type ELU struct {
	Base
	Alpha float64
	act   *activation
}

func init() { Register("ELU", newELU, Supports{Inference: true, Training: true}) }

func newELU(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &ELU{Base: b}
	if l.Alpha, err = spec.Config.Float("alpha", 1); err != nil {
		return nil, err
	}
	l.act = eluActivation(l.Alpha)
	return l, nil
}

// Build returns the input shape.
func (l *ELU) Build(in [][]int) ([][]int, error) { return sameShape(&l.Base, in) }

// Weights returns none.
func (l *ELU) Weights() []*runtime.Variable { return nil }

// Forward applies the activation.
func (l *ELU) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return activate(ctx, l.act, in[0])
}
