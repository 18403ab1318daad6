package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// AdaptivePooling is keras.layers.AdaptiveMaxPooling1D/2D/3D and
// AdaptiveAveragePooling1D/2D/3D: pooling to a fixed output_size whatever
// the input size. Output position i of a dimension of input length L and
// output length O pools input positions [floor(i*L/O), ceil((i+1)*L/O)),
// the windows Keras's backends compute (as PyTorch's adaptive pooling).
type AdaptivePooling struct {
	Base
	Average       bool
	OutputSize    []int
	channelsFirst bool
}

func init() {
	for rank := 1; rank <= 3; rank++ {
		for _, avg := range []bool{false, true} {
			name := fmt.Sprintf("AdaptiveMaxPooling%dD", rank)
			if avg {
				name = fmt.Sprintf("AdaptiveAveragePooling%dD", rank)
			}
			Register(name, func(spec *kerasjson.Layer) (Layer, error) { return newAdaptivePooling(spec, rank, avg) }, Supports{Inference: true, Training: true})
		}
	}
}

func newAdaptivePooling(spec *kerasjson.Layer, rank int, avg bool) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &AdaptivePooling{Base: b, Average: avg}
	if l.OutputSize, err = spec.Config.Ints("output_size", rank, nil); err == nil {
		if l.OutputSize == nil {
			err = fmt.Errorf("config \"output_size\": missing")
		}
		for _, o := range l.OutputSize {
			if o <= 0 {
				err = fmt.Errorf("output_size %v must be positive", l.OutputSize)
			}
		}
	}
	if err == nil {
		l.channelsFirst, err = readChannelsFirst(spec.Config)
	}
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", &l.Base, err)
	}
	return l, nil
}

func (l *AdaptivePooling) split(s []int) ([]int, int, error) {
	sp, c, ok := spatialAxes(s, len(l.OutputSize), l.channelsFirst)
	if !ok {
		return nil, 0, ShapeError(&l.Base, "expects input of rank %d, got %s", len(l.OutputSize)+2, runtime.FormatShape(s))
	}
	return sp, c, nil
}

// Build returns the pooled shape.
func (l *AdaptivePooling) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	_, c, err := l.split(s)
	if err != nil {
		return nil, err
	}
	return [][]int{joinAxes(s[0], l.OutputSize, c, l.channelsFirst)}, nil
}

// Weights returns none.
func (l *AdaptivePooling) Weights() []*runtime.Variable { return nil }

// adaptiveBounds returns the window [start[i], end[i]) of every output
// position i for input length in and output length out.
func adaptiveBounds(in, out int) (start, end []int) {
	start, end = make([]int, out), make([]int, out)
	for i := range out {
		start[i] = i * in / out
		end[i] = ((i+1)*in + out - 1) / out
	}
	return start, end
}

// adaptiveWindows lists for every output position (flat, channels_last
// order) the flat input positions it pools.
func adaptiveWindows(in, out []int) [][]int32 {
	var in3, out3 [3]int
	for d := 0; d < 3; d++ {
		in3[d], out3[d] = 1, 1
	}
	copy(in3[3-len(in):], in)
	copy(out3[3-len(out):], out)
	var st, en [3][]int
	for d := 0; d < 3; d++ {
		st[d], en[d] = adaptiveBounds(in3[d], out3[d])
	}
	wins := make([][]int32, 0, out3[0]*out3[1]*out3[2])
	for od := 0; od < out3[0]; od++ {
		for oh := 0; oh < out3[1]; oh++ {
			for ow := 0; ow < out3[2]; ow++ {
				var w []int32
				for id := st[0][od]; id < en[0][od]; id++ {
					for ih := st[1][oh]; ih < en[1][oh]; ih++ {
						for iw := st[2][ow]; iw < en[2][ow]; iw++ {
							w = append(w, int32((id*in3[1]+ih)*in3[2]+iw))
						}
					}
				}
				wins = append(wins, w)
			}
		}
	}
	return wins
}

// Forward pools each adaptive window.
func (l *AdaptivePooling) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	sp, c, err := l.split(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range sp {
		if d <= 0 {
			return nil, nil, ShapeError(&l.Base, "input %s has an empty spatial dimension", runtime.FormatShape(x.Shape))
		}
	}
	batch, cf := x.Shape[0], l.channelsFirst
	wins := adaptiveWindows(sp, l.OutputSize)
	inPos, outPos := runtime.ShapeSize(sp), len(wins)
	outShape := joinAxes(batch, l.OutputSize, c, cf)
	xl := toChannelsLast(x, cf)
	yl := make([]float32, batch*outPos*c)
	var arg []int32 // winning input position per output element (max)
	if !l.Average {
		arg = make([]int32, len(yl))
	}
	for n := 0; n < batch; n++ {
		xb := xl[n*inPos*c : (n+1)*inPos*c]
		for o, w := range wins {
			dst := yl[(n*outPos+o)*c : (n*outPos+o+1)*c]
			for ch := range dst {
				if l.Average {
					var s float32
					for _, i := range w {
						s += xb[int(i)*c+ch]
					}
					dst[ch] = s / float32(len(w))
					continue
				}
				best, bi := float32(math.Inf(-1)), w[0]
				for _, i := range w {
					if v := xb[int(i)*c+ch]; v > best || v != v {
						best, bi = v, i
					}
				}
				dst[ch], arg[(n*outPos+o)*c+ch] = best, bi
			}
		}
	}
	y := &runtime.Tensor{Shape: outShape, Data: fromChannelsLast(yl, outShape, cf)}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if gout[0] == nil {
			return nil, nil
		}
		gl := toChannelsLast(gout[0], cf)
		gx := make([]float32, len(xl))
		for n := 0; n < batch; n++ {
			gxb := gx[n*inPos*c : (n+1)*inPos*c]
			for o, w := range wins {
				g := gl[(n*outPos+o)*c : (n*outPos+o+1)*c]
				for ch, gv := range g {
					if !l.Average {
						gxb[int(arg[(n*outPos+o)*c+ch])*c+ch] += gv
						continue
					}
					share := gv / float32(len(w))
					for _, i := range w {
						gxb[int(i)*c+ch] += share
					}
				}
			}
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{y}, back, nil
}
