package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// InputLayer is keras.layers.InputLayer: a model input of a declared shape
// (batch_shape, with -1 for None).
type InputLayer struct {
	Base
	BatchShape []int
}

func init() { Register("InputLayer", newInputLayer, Supports{Inference: true, Training: true}) }

func newInputLayer(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	shape, ok, err := spec.Config.Shape("batch_shape")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ShapeError(&b, "has no batch_shape")
	}
	return &InputLayer{Base: b, BatchShape: shape}, nil
}

// Build returns the declared shape.
func (l *InputLayer) Build(in [][]int) ([][]int, error) { return [][]int{copyShape(l.BatchShape)}, nil }

// Weights returns none.
func (l *InputLayer) Weights() []*runtime.Variable { return nil }

// Forward passes its input through.
func (l *InputLayer) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return in, identityBackward(ctx), nil
}

func identityBackward(ctx *runtime.Context) runtime.Backward {
	if !ctx.Grad {
		return nil
	}
	return func(g []*runtime.Tensor) ([]*runtime.Tensor, error) { return g, nil }
}
