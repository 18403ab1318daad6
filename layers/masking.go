package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Masking is keras.layers.Masking: a time step whose features all equal
// mask_value is zeroed and masked (its mask entry is 0) for the layers
// downstream.
type Masking struct {
	Base
	MaskValue float32
}

func init() {
	Register("Masking", newMasking, Supports{Inference: true, Training: true})
}

func newMasking(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	v, err := spec.Config.Float("mask_value", 0)
	if err != nil {
		return nil, err
	}
	return &Masking{Base: b, MaskValue: float32(v)}, nil
}

// Build returns the input shape.
func (l *Masking) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) < 2 {
		return nil, ShapeError(&l.Base, "expects an input of rank >= 2, got %s", runtime.FormatShape(s))
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns nothing.
func (l *Masking) Weights() []*runtime.Variable { return nil }

// Forward zeroes the masked steps.
func (l *Masking) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	out, _, back, err := l.ForwardMasked(ctx, in, nil)
	return out, back, err
}

// ForwardMasked zeroes the masked steps and returns their mask (the
// incoming mask is replaced, as in Keras).
func (l *Masking) ForwardMasked(ctx *runtime.Context, in, _ []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() < 2 {
		return nil, nil, nil, ShapeError(&l.Base, "expects an input of rank >= 2, got %s", runtime.FormatShape(x.Shape))
	}
	d := x.Shape[x.Rank()-1]
	rows := 0
	if d > 0 {
		rows = x.Size() / d
	}
	mask := runtime.NewTensor(x.Shape[:x.Rank()-1]...)
	y := runtime.NewTensor(x.Shape...)
	for r := 0; r < rows; r++ {
		row := x.Data[r*d : (r+1)*d]
		for _, v := range row {
			if v != l.MaskValue {
				mask.Data[r] = 1
				break
			}
		}
		if mask.Data[r] != 0 {
			copy(y.Data[r*d:(r+1)*d], row)
		}
	}
	outMasks := []*runtime.Tensor{mask}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, outMasks, nil, nil
	}
	return []*runtime.Tensor{y}, outMasks, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if gout[0] == nil {
			return nil, nil
		}
		gx := runtime.NewTensor(x.Shape...)
		for r := 0; r < rows; r++ {
			if mask.Data[r] != 0 {
				copy(gx.Data[r*d:(r+1)*d], gout[0].Data[r*d:(r+1)*d])
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}

// Mask propagation for the layers that do not implement runtime.MaskedOp,
// following Keras 3's compute_mask and supports_masking (keras/src/layers):
// layers that keep the time axis pass the first input's mask on, merges
// combine their inputs' masks, Embedding(mask_zero=True) makes one, and
// every other layer drops it.

// passMaskClasses are Keras's layers with supports_masking and the
// default compute_mask whose call ignores the mask.
var passMaskClasses = map[string]bool{
	"Activation": true, "ELU": true, "LeakyReLU": true, "PReLU": true, "ReLU": true,
	"Dense": true, "Identity": true, "Dropout": true,
	"SpatialDropout1D": true, "SpatialDropout2D": true, "SpatialDropout3D": true,
	"GaussianNoise": true, "GaussianDropout": true, "AlphaDropout": true, "ActivityRegularization": true,
	"BatchNormalization": true, "LayerNormalization": true, "GroupNormalization": true,
	"UnitNormalization": true, "Rescaling": true, "Normalization": true, "TimeDistributed": true,
}

// maskReadingClasses are Keras layers whose result depends on the mask
// they receive; kerasrun runs them only without one.
var maskReadingClasses = map[string]bool{
	"Softmax": true, "Multiply": true, "Maximum": true, "Minimum": true,
}

// MaskFuncOf returns the function computing the output masks of l's calls
// when l is not a runtime.MaskedOp; nil means its outputs carry no mask.
func MaskFuncOf(l Layer) runtime.MaskFunc {
	if _, ok := l.(runtime.MaskedOp); ok {
		return nil
	}
	b := l.Common()
	switch {
	case passMaskClasses[b.ClassName]:
		return runtime.PassFirstMask
	case maskReadingClasses[b.ClassName]:
		return func(_, masks, _ []*runtime.Tensor) ([]*runtime.Tensor, error) {
			for _, m := range masks {
				if m != nil {
					return nil, fmt.Errorf("%s reads the Keras mask of its input (from Masking or Embedding(mask_zero=True)); kerasrun does not implement that for this class yet", b.ClassName)
				}
			}
			return nil, nil
		}
	}
	switch l := l.(type) {
	case *Embedding:
		if !l.MaskZero {
			return nil
		}
		return func(in, _, _ []*runtime.Tensor) ([]*runtime.Tensor, error) {
			x := in[0]
			m := runtime.NewTensor(x.Shape...)
			for i, v := range x.Data {
				if v != 0 {
					m.Data[i] = 1
				}
			}
			return []*runtime.Tensor{m}, nil
		}
	case *Concatenate:
		return l.concatMask
	}
	switch b.ClassName {
	case "Add", "Subtract", "Average":
		if b.Spec != nil && b.Spec.Keras2 {
			return andMasks
		}
		return orMasks
	}
	return nil
}

// orMasks is a Keras 3 merge's mask: the OR of its inputs' masks when
// every input has one.
func orMasks(_, masks, _ []*runtime.Tensor) ([]*runtime.Tensor, error) {
	for _, m := range masks {
		if m == nil {
			return nil, nil
		}
	}
	out := masks[0].Clone()
	for _, m := range masks[1:] {
		if m.Size() != out.Size() {
			return nil, fmt.Errorf("masks of shapes %s and %s differ", runtime.FormatShape(out.Shape), runtime.FormatShape(m.Shape))
		}
		for i, v := range m.Data {
			if v != 0 {
				out.Data[i] = 1
			}
		}
	}
	return []*runtime.Tensor{out}, nil
}

// andMasks is tf-keras's merge mask: the AND of the masks its inputs have
// (none when no input has one).
func andMasks(_, masks, _ []*runtime.Tensor) ([]*runtime.Tensor, error) {
	var out *runtime.Tensor
	for _, m := range masks {
		switch {
		case m == nil:
		case out == nil:
			out = m.Clone()
		case m.Size() != out.Size():
			return nil, fmt.Errorf("masks of shapes %s and %s differ", runtime.FormatShape(out.Shape), runtime.FormatShape(m.Shape))
		default:
			for i, v := range m.Data {
				if v == 0 {
					out.Data[i] = 0
				}
			}
		}
	}
	if out == nil {
		return nil, nil
	}
	return []*runtime.Tensor{out}, nil
}

// concatMask is Concatenate's compute_mask: each input's mask broadcast
// over its features (all ones for an input without a mask), concatenated
// on the layer's axis, then any() over the last axis.
func (l *Concatenate) concatMask(in, masks, out []*runtime.Tensor) ([]*runtime.Tensor, error) {
	any := false
	for _, m := range masks {
		any = any || m != nil
	}
	if !any {
		return nil, nil
	}
	y := out[0]
	rank := y.Rank()
	axis, ok := normalizeAxis(l.Axis, rank)
	if !ok {
		return nil, fmt.Errorf("axis %d out of range for rank %d", l.Axis, rank)
	}
	outer := runtime.ShapeSize(y.Shape[:axis])
	inner := runtime.ShapeSize(y.Shape[axis+1:])
	full := make([]float32, y.Size()) // the concatenated full-rank mask
	off := 0
	for i, x := range in {
		n := x.Shape[axis]
		for o := 0; o < outer; o++ {
			for a := 0; a < n; a++ {
				for k := 0; k < inner; k++ {
					v := float32(1)
					if m := masks[i]; m != nil {
						src := (o*n+a)*inner + k
						if m.Rank() < x.Rank() {
							src /= x.Shape[x.Rank()-1] // mask over the leading axes
						}
						if src >= m.Size() {
							return nil, fmt.Errorf("mask %s does not fit input %s", runtime.FormatShape(m.Shape), runtime.FormatShape(x.Shape))
						}
						v = m.Data[src]
					}
					full[(o*y.Shape[axis]+off+a)*inner+k] = v
				}
			}
		}
		off += n
	}
	last := y.Shape[rank-1]
	mask := runtime.NewTensor(y.Shape[:rank-1]...)
	for r := range mask.Data {
		for _, v := range full[r*last : (r+1)*last] {
			if v != 0 {
				mask.Data[r] = 1
				break
			}
		}
	}
	return []*runtime.Tensor{mask}, nil
}
