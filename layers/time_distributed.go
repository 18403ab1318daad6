package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// TimeDistributed is keras.layers.TimeDistributed: the wrapped layer
// applied to every time step of a (batch, time, ...) input, computed as
// one call on the (batch*time, ...) input. The input's mask passes
// through.
type TimeDistributed struct {
	Base
	Layer Layer
}

func init() {
	Register("TimeDistributed", newTimeDistributed, Supports{Inference: true, Training: true})
}

func newTimeDistributed(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	inner, err := wrappedLayer(spec, "layer", "", nil)
	if err != nil {
		return nil, err
	}
	if _, isModel := inner.(*Model); isModel {
		return nil, ShapeError(&b, "wrapping a model is not supported")
	}
	return &TimeDistributed{Base: b, Layer: inner}, nil
}

// Children returns the wrapped layer.
func (l *TimeDistributed) Children() []Layer { return []Layer{l.Layer} }

// TrackedChildren returns the wrapped layer, saved under "layer".
func (l *TimeDistributed) TrackedChildren() []NamedChild { return []NamedChild{{"layer", l.Layer}} }

// Weights returns nothing: the weights are the wrapped layer's.
func (l *TimeDistributed) Weights() []*runtime.Variable { return nil }

// Build builds the wrapped layer for one time step.
func (l *TimeDistributed) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) < 3 {
		return nil, ShapeError(&l.Base, "expects an input of rank >= 3, got %s", runtime.FormatShape(s))
	}
	rows := -1
	if s[0] >= 0 && s[1] >= 0 {
		rows = s[0] * s[1]
	}
	out, err := l.Layer.Build([][]int{append([]int{rows}, s[2:]...)})
	if err != nil {
		return nil, err
	}
	if len(out) != 1 {
		return nil, ShapeError(&l.Base, "the wrapped layer must have one output, has %d", len(out))
	}
	return [][]int{append([]int{s[0], s[1]}, out[0][1:]...)}, nil
}

// Forward folds time into the batch, runs the wrapped layer and unfolds.
func (l *TimeDistributed) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() < 3 {
		return nil, nil, ShapeError(&l.Base, "expects an input of rank >= 3, got %s", runtime.FormatShape(x.Shape))
	}
	b, t := x.Shape[0], x.Shape[1]
	folded := &runtime.Tensor{Shape: append([]int{b * t}, x.Shape[2:]...), Data: x.Data}
	out, back, err := l.Layer.Forward(ctx, []*runtime.Tensor{folded})
	if err != nil {
		return nil, nil, err
	}
	if len(out) != 1 {
		return nil, nil, ShapeError(&l.Base, "the wrapped layer must have one output, has %d", len(out))
	}
	y := &runtime.Tensor{Shape: append([]int{b, t}, out[0].Shape[1:]...), Data: out[0].Data}
	if back == nil {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if gout[0] == nil {
			return nil, nil
		}
		g := &runtime.Tensor{Shape: copyShape(out[0].Shape), Data: gout[0].Data}
		gin, err := back([]*runtime.Tensor{g})
		if err != nil || len(gin) == 0 || gin[0] == nil {
			return nil, err
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gin[0].Data}}, nil
	}, nil
}
