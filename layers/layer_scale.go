package layers

import (
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// LayerScale is keras.applications.convnext's LayerScale (ConvNeXt):
// output = input * gamma over the last axis. Weight: gamma
// (projection_dim,), named "variable" by Keras 3 and "gamma" by tf-keras.
type LayerScale struct {
	Base
	ProjectionDim int
	Gamma         *runtime.Variable
	weightName    string
}

func init() {
	Register("LayerScale", newLayerScale, Supports{Inference: true, Training: true})
}

func newLayerScale(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &LayerScale{Base: b, weightName: "variable"}
	if l.ProjectionDim, err = spec.Config.Int("projection_dim", 0); err != nil {
		return nil, err
	}
	if l.ProjectionDim <= 0 {
		return nil, ShapeError(&l.Base, "projection_dim must be positive, got %d", l.ProjectionDim)
	}
	if spec.Module == "" || strings.HasPrefix(spec.Module, "tf_keras") {
		l.weightName = "gamma"
	}
	return l, nil
}

// Build creates gamma.
func (l *LayerScale) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) < 1 || s[len(s)-1] != l.ProjectionDim {
		return nil, ShapeError(&l.Base, "expects a last dimension of %d (projection_dim), got %s", l.ProjectionDim, runtime.FormatShape(s))
	}
	if l.Gamma == nil {
		l.Gamma = &runtime.Variable{Name: l.weightName, Value: runtime.NewTensor(l.ProjectionDim), Trainable: true}
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns gamma.
func (l *LayerScale) Weights() []*runtime.Variable { return []*runtime.Variable{l.Gamma} }

// Forward scales the last axis by gamma.
func (l *LayerScale) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	d := l.ProjectionDim
	if x.Rank() < 1 || x.Shape[x.Rank()-1] != d {
		return nil, nil, ShapeError(&l.Base, "expects a last dimension of %d, got %s", d, runtime.FormatShape(x.Shape))
	}
	g := l.Gamma.Value.Data
	y := &runtime.Tensor{Shape: copyShape(x.Shape), Data: make([]float32, x.Size())}
	for i, v := range x.Data {
		y.Data[i] = v * g[i%d]
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gy := gout[0].Data
		if l.Trainable {
			gg := runtime.NewTensor(d)
			for i, v := range x.Data {
				gg.Data[i%d] += gy[i] * v
			}
			ctx.AccumulateGrad(l.Gamma, gg)
		}
		gx := &runtime.Tensor{Shape: copyShape(x.Shape), Data: make([]float32, x.Size())}
		for i, v := range gy {
			gx.Data[i] = v * g[i%d]
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
