package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Concatenate is keras.layers.Concatenate: joins its inputs along axis
// (default -1; negative counts from the end, 0 is the batch axis).
type Concatenate struct {
	Base
	Axis int
}

func init() { Register("Concatenate", newConcatenate, Supports{Inference: true, Training: true}) }

func newConcatenate(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Concatenate{Base: b}
	if l.Axis, err = spec.Config.Int("axis", -1); err != nil {
		return nil, err
	}
	return l, nil
}

// concatShape checks the shapes agree except along the axis and returns
// the normalized axis and the output shape.
func (l *Concatenate) concatShape(in [][]int) (int, []int, error) {
	if len(in) < 1 {
		return 0, nil, ShapeError(&l.Base, "should be called on at least 1 input")
	}
	rank := len(in[0])
	axis, ok := normalizeAxis(l.Axis, rank)
	if !ok {
		return 0, nil, ShapeError(&l.Base, "axis %d out of range for inputs %s", l.Axis, shapesString(in))
	}
	out := copyShape(in[0])
	for _, s := range in[1:] {
		if len(s) != rank {
			return 0, nil, ShapeError(&l.Base, "inputs must have one rank, got %s", shapesString(in))
		}
		for i, d := range s {
			switch {
			case i == axis:
				if out[i] < 0 || d < 0 {
					out[i] = -1
				} else {
					out[i] += d
				}
			case out[i] < 0:
				out[i] = d
			case d >= 0 && d != out[i]:
				return 0, nil, ShapeError(&l.Base, "requires inputs with matching shapes except for the concatenation axis %d, got %s", l.Axis, shapesString(in))
			}
		}
	}
	return axis, out, nil
}

// Build returns the concatenated shape.
func (l *Concatenate) Build(in [][]int) ([][]int, error) {
	_, out, err := l.concatShape(in)
	if err != nil {
		return nil, err
	}
	return [][]int{out}, nil
}

// Weights returns none.
func (l *Concatenate) Weights() []*runtime.Variable { return nil }

// Forward copies each input's blocks into place.
func (l *Concatenate) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	shapes := make([][]int, len(in))
	for i, x := range in {
		shapes[i] = x.Shape
	}
	axis, outShape, err := l.concatShape(shapes)
	if err != nil {
		return nil, nil, err
	}
	outer := runtime.ShapeSize(outShape[:axis])
	inner := runtime.ShapeSize(outShape[axis+1:])
	rowLen := outShape[axis] * inner
	y := runtime.NewTensor(outShape...)
	// offsets[i] is where input i's block starts in an output row.
	offsets := make([]int, len(in))
	off := 0
	for i, x := range in {
		offsets[i] = off
		n := x.Shape[axis] * inner
		for o := 0; o < outer; o++ {
			copy(y.Data[o*rowLen+off:o*rowLen+off+n], x.Data[o*n:(o+1)*n])
		}
		off += n
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g := gout[0].Data
		gin := make([]*runtime.Tensor, len(in))
		for i, x := range in {
			gx := runtime.NewTensor(x.Shape...)
			n := x.Shape[axis] * inner
			for o := 0; o < outer; o++ {
				copy(gx.Data[o*n:(o+1)*n], g[o*rowLen+offsets[i]:o*rowLen+offsets[i]+n])
			}
			gin[i] = gx
		}
		return gin, nil
	}, nil
}
