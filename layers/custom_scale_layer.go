package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// CustomScaleLayer is keras.applications.inception_resnet_v2's
// CustomScaleLayer (InceptionResNetV2's residual sum): output = inputs[0]
// + inputs[1] * scale. tf-keras registers it as "Custom>CustomScaleLayer".
type CustomScaleLayer struct {
	Base
	Scale float32
}

func init() {
	Register("CustomScaleLayer", newCustomScaleLayer, Supports{Inference: true, Training: true})
	Register("Custom>CustomScaleLayer", newCustomScaleLayer, Supports{Inference: true, Training: true})
}

func newCustomScaleLayer(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	s, err := spec.Config.Float("scale", 0)
	if err != nil {
		return nil, err
	}
	if !spec.Config.Has("scale") {
		return nil, ShapeError(&b, "config has no scale")
	}
	return &CustomScaleLayer{Base: b, Scale: float32(s)}, nil
}

// Build checks that the two inputs have one shape.
func (l *CustomScaleLayer) Build(in [][]int) ([][]int, error) {
	if len(in) != 2 || !shapeCompatible(in[0], in[1]) {
		return nil, ShapeError(&l.Base, "takes two inputs of one shape, got %s", shapesString(in))
	}
	return [][]int{copyShape(in[0])}, nil
}

// Weights returns none.
func (l *CustomScaleLayer) Weights() []*runtime.Variable { return nil }

// Forward computes inputs[0] + inputs[1]*scale.
func (l *CustomScaleLayer) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	if len(in) != 2 || !equalShapes(in[0].Shape, in[1].Shape) {
		return nil, nil, ShapeError(&l.Base, "takes two inputs of one shape, got %s", shapesOf(in))
	}
	a, b := in[0], in[1]
	y := &runtime.Tensor{Shape: copyShape(a.Shape), Data: make([]float32, a.Size())}
	for i, v := range a.Data {
		y.Data[i] = v + b.Data[i]*l.Scale
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gb := &runtime.Tensor{Shape: copyShape(b.Shape), Data: make([]float32, b.Size())}
		for i, g := range gout[0].Data {
			gb.Data[i] = g * l.Scale
		}
		return []*runtime.Tensor{gout[0], gb}, nil
	}, nil
}
