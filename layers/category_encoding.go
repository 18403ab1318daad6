package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// CategoryEncoding is keras.layers.CategoryEncoding: encodes integer
// inputs in [0, num_tokens) as "multi_hot" (default; Keras 2's "binary"),
// "one_hot" or "count" vectors. count_weights and sparse outputs are not
// supported.
type CategoryEncoding struct {
	Base
	NumTokens  int
	OutputMode string
}

func init() {
	Register("CategoryEncoding", newCategoryEncoding, Supports{Inference: true, Training: true})
}

func newCategoryEncoding(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &CategoryEncoding{Base: b}
	c := spec.Config
	if l.NumTokens, err = c.Int("num_tokens", 0); err != nil {
		return nil, err
	}
	if l.NumTokens < 1 {
		return nil, ShapeError(&l.Base, "num_tokens must be >= 1, got %d", l.NumTokens)
	}
	if l.OutputMode, err = c.String("output_mode", "multi_hot"); err != nil {
		return nil, err
	}
	if l.OutputMode == "binary" {
		l.OutputMode = "multi_hot"
	}
	if l.OutputMode == "int" || !categoricalModes[l.OutputMode] {
		return nil, ShapeError(&l.Base, "unknown output_mode %q", l.OutputMode)
	}
	if sparse, err := c.Bool("sparse", false); err != nil {
		return nil, err
	} else if sparse {
		return nil, ShapeError(&l.Base, "sparse=True is not supported")
	}
	return l, nil
}

// Build returns the encoded shape.
func (l *CategoryEncoding) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	return [][]int{encodedShape(s, l.OutputMode, l.NumTokens)}, nil
}

// Weights returns none.
func (l *CategoryEncoding) Weights() []*runtime.Variable { return nil }

// Forward encodes the inputs.
func (l *CategoryEncoding) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	y, err := encodeCategorical(integerValues(x.Data), x.Shape, l.OutputMode, l.NumTokens)
	if err != nil {
		return nil, nil, ShapeError(&l.Base, "%v", err)
	}
	return []*runtime.Tensor{y}, constantBackward(ctx), nil
}
