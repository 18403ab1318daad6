package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// GlobalPooling is keras.layers.GlobalMaxPooling1D/2D/3D and
// GlobalAveragePooling1D/2D/3D: the maximum or mean over all spatial
// positions of each channel, giving (batch, channels), or with keepdims the
// input's rank with size-1 spatial dimensions. GlobalAveragePooling1D
// averages over the unmasked steps of a masked input, as Keras does; the
// others ignore a mask. The output carries none.
type GlobalPooling struct {
	Base
	Average       bool
	KeepDims      bool
	rank          int
	channelsFirst bool
}

func init() {
	for rank := 1; rank <= 3; rank++ {
		for _, avg := range []bool{false, true} {
			names := []string{fmt.Sprintf("GlobalMaxPooling%dD", rank), fmt.Sprintf("GlobalMaxPool%dD", rank)}
			if avg {
				names = []string{fmt.Sprintf("GlobalAveragePooling%dD", rank), fmt.Sprintf("GlobalAvgPool%dD", rank)}
			}
			for _, n := range names {
				Register(n, func(spec *kerasjson.Layer) (Layer, error) { return newGlobalPooling(spec, rank, avg) }, Supports{Inference: true, Training: true})
			}
		}
	}
}

func newGlobalPooling(spec *kerasjson.Layer, rank int, avg bool) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &GlobalPooling{Base: b, Average: avg, rank: rank}
	if l.channelsFirst, err = readChannelsFirst(spec.Config); err == nil {
		l.KeepDims, err = spec.Config.Bool("keepdims", false)
	}
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", &l.Base, err)
	}
	return l, nil
}

func (l *GlobalPooling) outShape(s []int) ([]int, error) {
	sp, c, ok := spatialAxes(s, l.rank, l.channelsFirst)
	if !ok {
		return nil, ShapeError(&l.Base, "expects input of rank %d, got %s", l.rank+2, runtime.FormatShape(s))
	}
	if !l.KeepDims {
		return []int{s[0], c}, nil
	}
	return joinAxes(s[0], ones(len(sp)), c, l.channelsFirst), nil
}

// Build returns the pooled shape.
func (l *GlobalPooling) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	out, err := l.outShape(s)
	if err != nil {
		return nil, err
	}
	return [][]int{out}, nil
}

// Weights returns none.
func (l *GlobalPooling) Weights() []*runtime.Variable { return nil }

// Forward reduces the spatial dimensions.
func (l *GlobalPooling) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return l.forward(ctx, in[0], nil)
}

// ForwardMasked reduces the spatial dimensions, GlobalAveragePooling1D
// over the steps its input's mask keeps.
func (l *GlobalPooling) ForwardMasked(ctx *runtime.Context, in, masks []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	var mask *runtime.Tensor
	if len(masks) > 0 && l.Average && l.rank == 1 {
		mask = masks[0]
	}
	out, back, err := l.forward(ctx, in[0], mask)
	return out, nil, back, err
}

func (l *GlobalPooling) forward(ctx *runtime.Context, x, mask *runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	outShape, err := l.outShape(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	sp, c, _ := spatialAxes(x.Shape, l.rank, l.channelsFirst)
	batch, positions := x.Shape[0], runtime.ShapeSize(sp)
	if positions <= 0 {
		return nil, nil, ShapeError(&l.Base, "input %s has no spatial positions", runtime.FormatShape(x.Shape))
	}
	// Element (n, s, ch) of either layout is x[n*positions*c + s*sStride + ch*cStride].
	sStride, cStride := c, 1
	if l.channelsFirst {
		sStride, cStride = 1, positions
	}
	if mask != nil && mask.Size() != batch*positions {
		return nil, nil, ShapeError(&l.Base, "mask %s does not fit input %s", runtime.FormatShape(mask.Shape), runtime.FormatShape(x.Shape))
	}
	// weight is the share of step p of sample n in its mean.
	weight := func(n, p int) float32 { return 1 / float32(positions) }
	if mask != nil {
		counts := make([]float32, batch)
		for n := range counts {
			for _, m := range mask.Data[n*positions : (n+1)*positions] {
				counts[n] += m
			}
		}
		weight = func(n, p int) float32 { return mask.Data[n*positions+p] / counts[n] }
	}
	y := runtime.NewTensor(outShape...)
	var arg []int // flat index of each maximum, for the backward pass
	if !l.Average {
		arg = make([]int, batch*c)
	}
	if l.Average && mask == nil && !l.channelsFirst && !ctx.Grad {
		// channels_last: sum the positions in order, all channels at once
		// (each channel's sum in the same order as below, read row by row).
		for n := 0; n < batch; n++ {
			acc := y.Data[n*c : (n+1)*c]
			for p := 0; p < positions; p++ {
				row := x.Data[(n*positions+p)*c : (n*positions+p+1)*c]
				for ch, v := range row {
					acc[ch] += v
				}
			}
			for ch := range acc {
				acc[ch] /= float32(positions)
			}
		}
		return []*runtime.Tensor{y}, nil, nil
	}
	for n := 0; n < batch; n++ {
		for ch := 0; ch < c; ch++ {
			base := n*positions*c + ch*cStride
			if l.Average {
				if mask == nil {
					var s float32
					for p := 0; p < positions; p++ {
						s += x.Data[base+p*sStride]
					}
					y.Data[n*c+ch] = s / float32(positions)
					continue
				}
				var s float32
				for p := 0; p < positions; p++ {
					s += x.Data[base+p*sStride] * weight(n, p)
				}
				y.Data[n*c+ch] = s
				continue
			}
			best, bi := float32(math.Inf(-1)), base
			for p := 0; p < positions; p++ {
				v := x.Data[base+p*sStride]
				if v > best || v != v {
					best, bi = v, base+p*sStride
					if v != v {
						break
					}
				}
			}
			y.Data[n*c+ch], arg[n*c+ch] = best, bi
		}
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if gout[0] == nil {
			return nil, nil
		}
		g := gout[0].Data
		gx := runtime.NewTensor(x.Shape...)
		for n := 0; n < batch; n++ {
			for ch := 0; ch < c; ch++ {
				gv := g[n*c+ch]
				if !l.Average {
					gx.Data[arg[n*c+ch]] += gv
					continue
				}
				base := n*positions*c + ch*cStride
				for p := 0; p < positions; p++ {
					gx.Data[base+p*sStride] += gv * weight(n, p)
				}
			}
		}
		return []*runtime.Tensor{gx}, nil
	}
	return []*runtime.Tensor{y}, back, nil
}
