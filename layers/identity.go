package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Identity is keras.layers.Identity: returns its input unchanged.
type Identity struct{ Base }

func init() { Register("Identity", newIdentity, Supports{Inference: true, Training: true}) }

func newIdentity(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	return &Identity{Base: b}, nil
}

// Build returns the input shape.
func (l *Identity) Build(in [][]int) ([][]int, error) { return sameShape(&l.Base, in) }

// Weights returns none.
func (l *Identity) Weights() []*runtime.Variable { return nil }

// Forward passes the input through.
func (l *Identity) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return in[:1], identityBackward(ctx), nil
}
