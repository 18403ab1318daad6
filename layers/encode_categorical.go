package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/runtime"
)

// Shared by CategoryEncoding, Discretization and IntegerLookup: Keras's
// numerical_utils.encode_categorical_inputs. Their outputs are piecewise
// constant in the inputs, so their input gradient is zero.

// categoricalModes are the output modes encodeCategorical accepts.
var categoricalModes = map[string]bool{"int": true, "one_hot": true, "multi_hot": true, "count": true}

// encodedShape returns the output shape for an input shape.
func encodedShape(s []int, mode string, depth int) []int {
	switch mode {
	case "int":
		return copyShape(s)
	case "one_hot":
		if len(s) > 1 && s[len(s)-1] == 1 {
			s = s[:len(s)-1]
		}
		return append(copyShape(s), depth)
	}
	// multi_hot and count reduce the last axis (a rank-1 input is one
	// sample).
	if len(s) == 0 {
		return []int{depth}
	}
	return append(copyShape(s[:len(s)-1]), depth)
}

// encodeCategorical encodes integer indices idx (laid out as shape).
func encodeCategorical(idx []int, shape []int, mode string, depth int) (*runtime.Tensor, error) {
	out := runtime.NewTensor(encodedShape(shape, mode, depth)...)
	switch mode {
	case "int":
		for i, k := range idx {
			out.Data[i] = float32(k)
		}
	case "one_hot":
		// tf.one_hot gives an all-zero row for an index out of range.
		for i, k := range idx {
			if k >= 0 && k < depth {
				out.Data[i*depth+k] = 1
			}
		}
	case "multi_hot", "count":
		if len(shape) > 2 {
			return nil, fmt.Errorf("output_mode %q takes inputs of rank <= 2, got %s", mode, runtime.FormatShape(shape))
		}
		row := max(len(idx), 1)
		if len(shape) == 2 {
			row = shape[1]
		}
		for i, k := range idx {
			if k < 0 || k >= depth {
				return nil, fmt.Errorf("value %d is out of range [0, %d)", k, depth)
			}
			p := (i/row)*depth + k
			if mode == "count" {
				out.Data[p]++
			} else {
				out.Data[p] = 1
			}
		}
	default:
		return nil, fmt.Errorf("unsupported output_mode %q", mode)
	}
	return out, nil
}

// integerValues truncates float32 inputs to integers as a cast to int
// does.
func integerValues(x []float32) []int {
	idx := make([]int, len(x))
	for i, v := range x {
		t := math.Trunc(float64(v))
		switch {
		case t > math.MaxInt32:
			t = math.MaxInt32
		case t < math.MinInt32 || math.IsNaN(t):
			t = math.MinInt32
		}
		idx[i] = int(t)
	}
	return idx
}

// constantBackward is the backward function of an output that does not
// depend smoothly on the input: no gradient flows.
func constantBackward(ctx *runtime.Context) runtime.Backward {
	if !ctx.Grad {
		return nil
	}
	return func([]*runtime.Tensor) ([]*runtime.Tensor, error) { return []*runtime.Tensor{nil}, nil }
}
