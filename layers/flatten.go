package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Flatten is keras.layers.Flatten: (batch, d1, ..., dn) -> (batch,
// d1*...*dn). With data_format "channels_first" the channel axis is moved
// last before flattening, as Keras does.
type Flatten struct {
	Base
	ChannelsFirst bool
}

func init() { Register("Flatten", newFlatten, Supports{Inference: true, Training: true}) }

func newFlatten(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	df, err := spec.Config.String("data_format", "channels_last")
	if err != nil {
		return nil, err
	}
	return &Flatten{Base: b, ChannelsFirst: df == "channels_first"}, nil
}

// Build returns (batch, product of the other dimensions).
func (l *Flatten) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) < 1 {
		return nil, ShapeError(&l.Base, "needs a batch dimension, got %s", runtime.FormatShape(s))
	}
	n := 1
	for _, d := range s[1:] {
		if d < 0 {
			n = -1
			break
		}
		n *= d
	}
	return [][]int{{s[0], n}}, nil
}

// Weights returns none.
func (l *Flatten) Weights() []*runtime.Variable { return nil }

// Forward reshapes (and, for channels_first, transposes) the input.
func (l *Flatten) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() < 1 {
		return nil, nil, ShapeError(&l.Base, "needs a batch dimension, got %s", runtime.FormatShape(x.Shape))
	}
	batch := x.Shape[0]
	inner := 1
	if batch > 0 {
		inner = x.Size() / batch
	} else {
		inner = runtime.ShapeSize(x.Shape[1:])
	}
	data := x.Data
	moved := l.ChannelsFirst && x.Rank() >= 3
	if moved {
		data = channelsToLast(x.Data, x.Shape)
	}
	y := &runtime.Tensor{Shape: []int{batch, inner}, Data: data}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gd := g[0].Data
		if moved {
			gd = channelsToFirst(gd, x.Shape)
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gd}}, nil
	}, nil
}

// channelsToLast transposes (N, C, S...) data to (N, S..., C).
func channelsToLast(x []float32, shape []int) []float32 {
	n, c := shape[0], shape[1]
	s := runtime.ShapeSize(shape[2:])
	out := make([]float32, len(x))
	for b := 0; b < n; b++ {
		src, dst := x[b*c*s:(b+1)*c*s], out[b*c*s:(b+1)*c*s]
		for ch := 0; ch < c; ch++ {
			for p := 0; p < s; p++ {
				dst[p*c+ch] = src[ch*s+p]
			}
		}
	}
	return out
}

// channelsToFirst transposes (N, S..., C) data to (N, C, S...), where
// shape is the channels-first shape.
func channelsToFirst(x []float32, shape []int) []float32 {
	n, c := shape[0], shape[1]
	s := runtime.ShapeSize(shape[2:])
	out := make([]float32, len(x))
	for b := 0; b < n; b++ {
		src, dst := x[b*c*s:(b+1)*c*s], out[b*c*s:(b+1)*c*s]
		for p := 0; p < s; p++ {
			for ch := 0; ch < c; ch++ {
				dst[ch*s+p] = src[p*c+ch]
			}
		}
	}
	return out
}
