package layers

import (
	"sort"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Discretization is keras.layers.Discretization: the bin of each input
// among bin_boundaries (bins[i-1] <= x < bins[i], as tf Bucketize), output
// as "int" (default) or encoded ("one_hot", "multi_hot", "count") over
// len(bin_boundaries)+1 bins. Boundaries must be in the config (Keras
// stores adapted ones there).
type Discretization struct {
	Base
	BinBoundaries []float64
	OutputMode    string
}

func init() { Register("Discretization", newDiscretization, Supports{Inference: true, Training: true}) }

func newDiscretization(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Discretization{Base: b}
	c := spec.Config
	list, ok := c["bin_boundaries"].([]any)
	if !ok {
		return nil, ShapeError(&l.Base, "config has no bin_boundaries (the layer was never adapted)")
	}
	for _, e := range list {
		f, err := kerasjson.Config{"v": e}.Float("v", 0)
		if err != nil {
			return nil, ShapeError(&l.Base, "bin_boundaries: %v", err)
		}
		l.BinBoundaries = append(l.BinBoundaries, f)
	}
	if l.OutputMode, err = c.String("output_mode", "int"); err != nil {
		return nil, err
	}
	if !categoricalModes[l.OutputMode] {
		return nil, ShapeError(&l.Base, "unknown output_mode %q", l.OutputMode)
	}
	if sparse, err := c.Bool("sparse", false); err != nil {
		return nil, err
	} else if sparse {
		return nil, ShapeError(&l.Base, "sparse=True is not supported")
	}
	return l, nil
}

// Build returns the output shape.
func (l *Discretization) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	return [][]int{encodedShape(s, l.OutputMode, len(l.BinBoundaries)+1)}, nil
}

// Weights returns none.
func (l *Discretization) Weights() []*runtime.Variable { return nil }

// Forward buckets and encodes the inputs.
func (l *Discretization) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	idx := make([]int, len(x.Data))
	for i, v := range x.Data {
		// The number of boundaries <= v; Bucketize keeps boundaries as
		// float32.
		idx[i] = sort.Search(len(l.BinBoundaries), func(j int) bool { return v < float32(l.BinBoundaries[j]) })
	}
	y, err := encodeCategorical(idx, x.Shape, l.OutputMode, len(l.BinBoundaries)+1)
	if err != nil {
		return nil, nil, ShapeError(&l.Base, "%v", err)
	}
	return []*runtime.Tensor{y}, constantBackward(ctx), nil
}
