package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Merge is the elementwise merging layer family of
// keras/src/layers/merging/base_merge.py (Add, Subtract, Multiply,
// Average, Maximum, Minimum). As in Keras, inputs of lower rank get size-1
// axes inserted after the batch axis until all ranks match, then NumPy
// broadcasting applies.
type Merge struct {
	Base
	op *mergeOp
}

// mergeOp is one elementwise merge. forward writes the merge of xs (all
// broadcast to len(y)) into y; backward writes dL/dxs[i] into gxs[i]
// (zeroed, same length as y).
type mergeOp struct {
	// arity is the exact number of inputs, or 0 for "one or more".
	arity    int
	forward  func(xs [][]float32, y []float32)
	backward func(xs [][]float32, y, gy []float32, gxs [][]float32)
}

// registerMerge registers an elementwise merge class.
func registerMerge(class string, op *mergeOp) {
	Register(class, func(spec *kerasjson.Layer) (Layer, error) {
		b, err := NewBase(spec)
		if err != nil {
			return nil, err
		}
		return &Merge{Base: b, op: op}, nil
	}, Supports{Inference: true, Training: true})
}

// mergeShapes expands shapes to one rank (size-1 axes after the batch
// axis) and returns the expanded shapes and their broadcast.
func mergeShapes(b *Base, op *mergeOp, in [][]int) ([][]int, []int, error) {
	if len(in) < 1 || op.arity > 0 && len(in) != op.arity {
		want := "at least 1"
		if op.arity > 0 {
			want = "exactly 2"
		}
		return nil, nil, ShapeError(b, "should be called on %s inputs, got %d: %s", want, len(in), shapesString(in))
	}
	rank := 0
	for _, s := range in {
		if len(s) < 1 {
			return nil, nil, ShapeError(b, "inputs need a batch axis, got %s", shapesString(in))
		}
		rank = max(rank, len(s))
	}
	expanded := make([][]int, len(in))
	for i, s := range in {
		e := []int{s[0]}
		for range rank - len(s) {
			e = append(e, 1)
		}
		expanded[i] = append(e, s[1:]...)
	}
	out := expanded[0]
	for _, e := range expanded[1:] {
		var ok bool
		if out, ok = broadcastShapes(out, e); !ok {
			return nil, nil, ShapeError(b, "inputs have incompatible shapes %s", shapesString(in))
		}
	}
	return expanded, out, nil
}

// Build checks that the inputs broadcast together and returns the merged
// shape.
func (l *Merge) Build(in [][]int) ([][]int, error) {
	_, out, err := mergeShapes(&l.Base, l.op, in)
	if err != nil {
		return nil, err
	}
	return [][]int{out}, nil
}

// Weights returns none.
func (l *Merge) Weights() []*runtime.Variable { return nil }

// Forward broadcasts the inputs and merges them.
func (l *Merge) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	shapes := make([][]int, len(in))
	for i, x := range in {
		shapes[i] = x.Shape
	}
	expanded, outShape, err := mergeShapes(&l.Base, l.op, shapes)
	if err != nil {
		return nil, nil, err
	}
	xs := make([][]float32, len(in))
	for i, x := range in {
		xs[i] = broadcastTo(x.Data, expanded[i], outShape)
	}
	y := runtime.NewTensor(outShape...)
	l.op.forward(xs, y.Data)
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gy := gout[0].Data
		gxs := make([][]float32, len(in))
		for i := range gxs {
			gxs[i] = make([]float32, len(y.Data))
		}
		l.op.backward(xs, y.Data, gy, gxs)
		gin := make([]*runtime.Tensor, len(in))
		for i, x := range in {
			gin[i] = &runtime.Tensor{Shape: copyShape(x.Shape), Data: unbroadcast(gxs[i], expanded[i], outShape)}
		}
		return gin, nil
	}, nil
}
