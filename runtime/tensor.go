// Package runtime holds kerasrun's execution core: float32 tensors, the
// variables that hold weights, and the graph that runs operations forward
// (and, for training, backward). It knows nothing of Keras layers; the
// layers package builds on it. Numeric kernels live in runtime/kernels.
package runtime

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
)

// Tensor is a dense row-major float32 array.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, ShapeSize(shape))}
}

// FromData wraps data in a tensor of the given shape; it is an error when
// the sizes differ.
func FromData(shape []int, data []float32) (*Tensor, error) {
	if n := ShapeSize(shape); n != len(data) {
		return nil, fmt.Errorf("runtime: shape %s needs %d values, got %d", FormatShape(shape), n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}, nil
}

// Size returns the number of elements.
func (t *Tensor) Size() int { return len(t.Data) }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Reshaped returns a tensor sharing t's data with another shape of the same
// size.
func (t *Tensor) Reshaped(shape ...int) (*Tensor, error) {
	if ShapeSize(shape) != len(t.Data) {
		return nil, fmt.Errorf("runtime: cannot reshape %s to %s", FormatShape(t.Shape), FormatShape(shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: t.Data}, nil
}

// ShapeSize returns the product of the dimensions (1 for a scalar). Unknown
// (-1) dimensions count as 0.
func ShapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0
		}
		n *= d
	}
	return n
}

// FormatShape formats a shape as Keras prints it: (None, 28, 28, 1).
func FormatShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			parts[i] = "None"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// CheckedShapeSize returns the product of the dimensions, or an error when
// a dimension is negative or the product exceeds limit elements. Use it for
// every shape read from a file or a request.
func CheckedShapeSize(shape []int, limit int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %s", FormatShape(shape))
		}
		if d != 0 && n > limit/d {
			return 0, fmt.Errorf("shape %s exceeds %d elements", FormatShape(shape), limit)
		}
		n *= d
	}
	if n > limit {
		return 0, fmt.Errorf("shape %s exceeds %d elements", FormatShape(shape), limit)
	}
	return n, nil
}

// Variable is a named weight: a layer's kernel or bias, a BatchNormalization
// moving mean, an optimizer slot.
//
// Whoever changes Value's data (weight loading, an optimizer step) calls
// Touch afterwards, so that caches derived from the values (kernels packed
// for the GEMM core, see Packed) are rebuilt.
type Variable struct {
	// Name is the Keras weight name (e.g. "kernel", "moving_mean").
	Name      string
	Value     *Tensor
	Trainable bool
	version   atomic.Uint64
}

// Touch records that the variable's values changed.
func (v *Variable) Touch() { v.version.Add(1) }

// Version counts the changes recorded by Touch.
func (v *Variable) Version() uint64 { return v.version.Load() }

// FirstNonFinite returns the index of the first NaN or infinite value of
// data, or -1 when every value is finite: the one check of the inputs that
// Predict, Evaluate and Fit refuse (Keras would carry a NaN through
// silently).
func FirstNonFinite(data []float32) int {
	for i, v := range data {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			return i
		}
	}
	return -1
}
