package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Embedding is keras.layers.Embedding: maps integer indices in
// [0, input_dim) to rows of embeddings (input_dim, output_dim). Indices
// arrive as float32 values and are truncated to integers, as Keras's cast
// to int32 does. mask_zero is read; the mask itself is not propagated yet.
type Embedding struct {
	Base
	InputDim, OutputDim int
	MaskZero            bool
	Embeddings          *runtime.Variable
}

func init() { Register("Embedding", newEmbedding, Supports{Inference: true, Training: true}) }

func newEmbedding(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Embedding{Base: b}
	c := spec.Config
	if l.InputDim, err = c.Int("input_dim", 0); err != nil {
		return nil, err
	}
	if l.OutputDim, err = c.Int("output_dim", 0); err != nil {
		return nil, err
	}
	if l.InputDim <= 0 || l.OutputDim <= 0 {
		return nil, ShapeError(&l.Base, "input_dim and output_dim must be positive, got %d and %d", l.InputDim, l.OutputDim)
	}
	if _, err := runtime.CheckedShapeSize([]int{l.InputDim, l.OutputDim}, 1<<31); err != nil {
		return nil, ShapeError(&l.Base, "embeddings: %v", err)
	}
	if l.MaskZero, err = c.Bool("mask_zero", false); err != nil {
		return nil, err
	}
	if c.Has("lora_rank") {
		return nil, ShapeError(&l.Base, "lora_rank is not supported")
	}
	if c.Has("quantization_config") {
		return nil, ShapeError(&l.Base, "quantization_config is not supported")
	}
	return l, nil
}

// Build creates embeddings.
func (l *Embedding) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if l.Embeddings == nil {
		l.Embeddings = &runtime.Variable{Name: "embeddings", Value: runtime.NewTensor(l.InputDim, l.OutputDim), Trainable: true}
	}
	return [][]int{append(copyShape(s), l.OutputDim)}, nil
}

// Weights returns embeddings.
func (l *Embedding) Weights() []*runtime.Variable { return []*runtime.Variable{l.Embeddings} }

// Forward looks up each index.
func (l *Embedding) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	d := l.OutputDim
	idx := make([]int, len(x.Data))
	for i, v := range x.Data {
		t := math.Trunc(float64(v))
		if !(t >= 0 && t < float64(l.InputDim)) {
			return nil, nil, fmt.Errorf("layer %s: index %v is out of range [0, %d)", &l.Base, v, l.InputDim)
		}
		idx[i] = int(t)
	}
	y := runtime.NewTensor(append(copyShape(x.Shape), d)...)
	emb := l.Embeddings.Value.Data
	for i, k := range idx {
		copy(y.Data[i*d:(i+1)*d], emb[k*d:(k+1)*d])
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if l.Base.Trainable {
			ge := runtime.NewTensor(l.InputDim, d)
			g := gout[0].Data
			for i, k := range idx {
				row := ge.Data[k*d : (k+1)*d]
				for j, v := range g[i*d : (i+1)*d] {
					row[j] += v
				}
			}
			ctx.AccumulateGrad(l.Embeddings, ge)
		}
		// Indices are integers: no gradient flows to them.
		return []*runtime.Tensor{nil}, nil
	}, nil
}
