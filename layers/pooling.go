package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// Pooling is keras.layers.MaxPooling1D/2D/3D and AveragePooling1D/2D/3D:
// the maximum or mean of each pool_size window, moved by strides (default
// pool_size), with padding "valid" or "same" and either data_format. With
// "same" padding the mean is over the window's positions inside the input
// only, as Keras (TensorFlow) computes it.
type Pooling struct {
	Base
	Average bool
	args    windowArgs
}

func init() {
	for rank := 1; rank <= 3; rank++ {
		for _, avg := range []bool{false, true} {
			names := []string{fmt.Sprintf("MaxPooling%dD", rank), fmt.Sprintf("MaxPool%dD", rank)}
			if avg {
				names = []string{fmt.Sprintf("AveragePooling%dD", rank), fmt.Sprintf("AvgPool%dD", rank)}
			}
			for _, n := range names {
				Register(n, func(spec *kerasjson.Layer) (Layer, error) { return newPooling(spec, rank, avg) }, Supports{Inference: true, Training: true})
			}
		}
	}
}

func newPooling(spec *kerasjson.Layer, rank int, avg bool) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Pooling{Base: b, Average: avg}
	if l.args, err = readWindowArgs(spec.Config, rank, "pool_size", nil, false); err != nil {
		return nil, fmt.Errorf("layer %s: %w", &l.Base, err)
	}
	return l, nil
}

func (l *Pooling) window(shape []int) (window, int, error) {
	sp, c, ok := spatialAxes(shape, l.args.rank, l.args.channelsFirst)
	if !ok {
		return window{}, 0, ShapeError(&l.Base, "expects input of rank %d, got %s", l.args.rank+2, runtime.FormatShape(shape))
	}
	w, err := newWindow(l.args, sp)
	if err != nil {
		return window{}, 0, ShapeError(&l.Base, "input %s: %v", runtime.FormatShape(shape), err)
	}
	return w, c, nil
}

// Build returns the pooled shape.
func (l *Pooling) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	w, c, err := l.window(s)
	if err != nil {
		return nil, err
	}
	return [][]int{joinAxes(s[0], w.outSpatial(), c, l.args.channelsFirst)}, nil
}

// Weights returns none.
func (l *Pooling) Weights() []*runtime.Variable { return nil }

// Forward pools the input.
func (l *Pooling) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	w, c, err := l.window(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	batch, cf := x.Shape[0], l.args.channelsFirst
	outShape := joinAxes(batch, w.outSpatial(), c, cf)
	xl := toChannelsLast(x, cf)
	yl := make([]float32, batch*w.outSize()*c)
	if !ctx.Grad {
		poolForward(&w, batch, c, l.Average, xl, yl)
		return []*runtime.Tensor{{Shape: outShape, Data: fromChannelsLast(yl, outShape, cf)}}, nil, nil
	}
	var arg []int32
	if !l.Average && w.planar() {
		// Record where each maximum came from for the backward pass.
		arg = make([]int32, len(yl))
		kernels.MaxPool2DArgmax(poolParams(&w, batch, c), xl, yl, arg)
	} else {
		poolForward(&w, batch, c, l.Average, xl, yl)
	}
	y := &runtime.Tensor{Shape: outShape, Data: fromChannelsLast(yl, outShape, cf)}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if gout[0] == nil {
			return nil, nil
		}
		gl := toChannelsLast(gout[0], cf)
		var gx []float32
		switch {
		case arg != nil:
			gx = make([]float32, len(xl))
			kernels.MaxPool2DGrad(poolParams(&w, batch, c), gl, arg, gx)
		case l.Average && w.planar():
			gx = make([]float32, len(xl))
			kernels.AvgPool2DGrad(poolParams(&w, batch, c), gl, gx)
		default:
			gx = poolBackward(&w, batch, c, l.Average, xl, gl)
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: fromChannelsLast(gx, x.Shape, cf)}}, nil
	}
	return []*runtime.Tensor{y}, back, nil
}

// poolParams describes a planar window for runtime/kernels.
func poolParams(w *window, batch, c int) kernels.PoolParams {
	return kernels.PoolParams{
		Batch: batch, InH: w.in[1], InW: w.in[2], C: c,
		PoolH: w.k[1], PoolW: w.k[2], StrideH: w.stride[1], StrideW: w.stride[2],
		PadTop: w.padBefore[1], PadLeft: w.padBefore[2],
		PadBottom: max((w.out[1]-1)*w.stride[1]+w.k[1]-w.in[1]-w.padBefore[1], 0),
		PadRight:  max((w.out[2]-1)*w.stride[2]+w.k[2]-w.in[2]-w.padBefore[2], 0),
	}
}

// poolForward pools channels_last x (batch, in, c) into y (batch, out, c).
// Planar windows run on the kernels; 3-D ones on the reference loop.
func poolForward(w *window, batch, c int, avg bool, x, y []float32) {
	if w.planar() {
		p := poolParams(w, batch, c)
		if avg {
			kernels.AvgPool2D(p, x, y)
		} else {
			kernels.MaxPool2D(p, x, y)
		}
		return
	}
	in, out, taps := w.inSize(), w.outSize(), w.taps()
	tab := w.tapTable()
	for n := 0; n < batch; n++ {
		xb, yb := x[n*in*c:(n+1)*in*c], y[n*out*c:(n+1)*out*c]
		for o := 0; o < out; o++ {
			dst := yb[o*c : (o+1)*c]
			fill := float32(math.Inf(-1))
			if avg {
				fill = 0
			}
			for i := range dst {
				dst[i] = fill
			}
			count := 0
			for _, i := range tab[o*taps : (o+1)*taps] {
				if i < 0 {
					continue
				}
				count++
				src := xb[int(i)*c : (int(i)+1)*c]
				for ch, v := range src {
					if avg {
						dst[ch] += v
					} else if v > dst[ch] || v != v {
						dst[ch] = v
					}
				}
			}
			if avg && count > 0 {
				inv := 1 / float32(count)
				for i := range dst {
					dst[i] *= inv
				}
			}
		}
	}
}

// poolBackward returns the input gradient of poolForward for output
// gradient g (3-D windows; planar ones use the kernels): the mean's share to every counted position, or the whole
// gradient to the (first) maximum of each window.
func poolBackward(w *window, batch, c int, avg bool, x, g []float32) []float32 {
	in, out, taps := w.inSize(), w.outSize(), w.taps()
	tab := w.tapTable()
	gx := make([]float32, len(x))
	arg := make([]int32, c)
	for n := 0; n < batch; n++ {
		xb, gb, gxb := x[n*in*c:(n+1)*in*c], g[n*out*c:(n+1)*out*c], gx[n*in*c:(n+1)*in*c]
		for o := 0; o < out; o++ {
			row := tab[o*taps : (o+1)*taps]
			gy := gb[o*c : (o+1)*c]
			if avg {
				count := 0
				for _, i := range row {
					if i >= 0 {
						count++
					}
				}
				if count == 0 {
					continue
				}
				inv := 1 / float32(count)
				for _, i := range row {
					if i < 0 {
						continue
					}
					dst := gxb[int(i)*c : (int(i)+1)*c]
					for ch, v := range gy {
						dst[ch] += v * inv
					}
				}
				continue
			}
			for ch := range arg {
				arg[ch] = -1
			}
			for _, i := range row {
				if i < 0 {
					continue
				}
				src := xb[int(i)*c : (int(i)+1)*c]
				for ch, v := range src {
					if a := arg[ch]; a < 0 || v > xb[int(a)*c+ch] {
						arg[ch] = i
					}
				}
			}
			for ch, a := range arg {
				if a >= 0 {
					gxb[int(a)*c+ch] += gy[ch]
				}
			}
		}
	}
	return gx
}
