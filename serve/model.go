package serve

import (
	"fmt"
	"strconv"

	"github.com/kerasrun/kerasrun"
)

// modelVersion is one loaded, serving version of a model.
type modelVersion struct {
	name            string
	version         int64
	model           *kerasrun.Model
	inputs, outputs []kerasrun.TensorInfo
	path, sig       string
	batcher         *batcher
}

func (mv *modelVersion) versionLabel() string { return strconv.FormatInt(mv.version, 10) }

// inputIndex returns the position of a named input, or -1.
func (mv *modelVersion) inputIndex(name string) int {
	for i, in := range mv.inputs {
		if in.Name == name {
			return i
		}
	}
	return -1
}

func (mv *modelVersion) inputNames() []string {
	names := make([]string, len(mv.inputs))
	for i, in := range mv.inputs {
		names[i] = in.Name
	}
	return names
}

func (mv *modelVersion) outputNames() []string {
	names := make([]string, len(mv.outputs))
	for i, o := range mv.outputs {
		names[i] = o.Name
	}
	return names
}

// checkInputs compares request tensors (in the model's input order) with
// the model's input shapes: rank, every known dimension, one batch size of
// 1..maxBatch rows for all inputs.
func (mv *modelVersion) checkInputs(xs []*kerasrun.Tensor, maxBatch int) error {
	if len(xs) != len(mv.inputs) {
		return badRequest("model %q takes %d input(s) %v, the request has %d", mv.name, len(mv.inputs), mv.inputNames(), len(xs))
	}
	rows := -1
	for i, x := range xs {
		in := mv.inputs[i]
		if x == nil {
			return badRequest("model %q: input %q is missing", mv.name, in.Name)
		}
		if len(x.Shape) != len(in.Shape) {
			return badRequest("model %q: input %q has shape %v, the model takes %v (rank %d)", mv.name, in.Name, x.Shape, shapeText(in.Shape), len(in.Shape))
		}
		for d, want := range in.Shape {
			if d > 0 && want >= 0 && x.Shape[d] != want {
				return badRequest("model %q: input %q has shape %v, the model takes %v", mv.name, in.Name, x.Shape, shapeText(in.Shape))
			}
		}
		if x.Shape[0] < 1 {
			return badRequest("model %q: input %q has a batch of %d rows", mv.name, in.Name, x.Shape[0])
		}
		if rows >= 0 && x.Shape[0] != rows {
			return badRequest("model %q: inputs have different batch sizes (%d and %d rows)", mv.name, rows, x.Shape[0])
		}
		rows = x.Shape[0]
	}
	if rows > maxBatch {
		return badRequest("model %q: a request of %d rows is above the max batch size %d", mv.name, rows, maxBatch)
	}
	return nil
}

// shapeText writes a model shape with None for unknown dimensions, as Keras
// prints it.
func shapeText(shape []int) string {
	s := "("
	for i, d := range shape {
		if i > 0 {
			s += ", "
		}
		if d < 0 {
			s += "None"
		} else {
			s += strconv.Itoa(d)
		}
	}
	return s + ")"
}

// warm runs one zero row through the model when every dimension but the
// batch is known.
func (mv *modelVersion) warm() error {
	xs := make([]*kerasrun.Tensor, len(mv.inputs))
	for i, in := range mv.inputs {
		shape := append([]int{1}, in.Shape[1:]...)
		n := 1
		for _, d := range shape {
			if d < 0 {
				return nil
			}
			n *= d
		}
		x, err := kerasrun.NewTensor(shape, make([]float32, n))
		if err != nil {
			return err
		}
		xs[i] = x
	}
	out, err := mv.model.Predict(xs...)
	if err != nil {
		return err
	}
	if len(out) != len(mv.outputs) {
		return fmt.Errorf("the model returned %d outputs, it declares %d", len(out), len(mv.outputs))
	}
	return nil
}

// int64Shape widens a shape for the wire.
func int64Shape(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, d := range shape {
		out[i] = int64(d)
	}
	return out
}
