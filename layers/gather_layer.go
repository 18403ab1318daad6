package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// gatherLayer is the shared body of the layers that only move values
// along spatial axes: Cropping1D/2D/3D, ZeroPadding1D/2D/3D, nearest
// UpSampling1D/2D/3D. Each spatial axis gets an index map built by
// axisMap from the input length; other axes are copied.
type gatherLayer struct {
	Base
	// Dims is the number of spatial axes (1, 2 or 3).
	Dims          int
	ChannelsFirst bool
	// axisMap returns, for spatial axis i (0-based) of input length n,
	// the input index of each output position (-1 for a zero).
	axisMap func(i, n int) ([]int, error)
	// outLen returns the output length of spatial axis i, -1 if unknown.
	outLen func(i, n int) int
	// zeros is ZeroPadding's (before, after) per spatial axis, nil for
	// the other gathers: the inference graph merges it into the
	// convolution that reads it (fuse.go).
	zeros [][2]int
}

// spatialAxis returns the tensor axis of spatial axis i.
func (l *gatherLayer) spatialAxis(i int) int {
	if l.ChannelsFirst {
		return i + 2
	}
	return i + 1
}

// Build checks the rank and returns the output shape.
func (l *gatherLayer) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) != l.Dims+2 {
		return nil, ShapeError(&l.Base, "expects rank %d input, got %s", l.Dims+2, runtime.FormatShape(s))
	}
	out := copyShape(s)
	for i := range l.Dims {
		a := l.spatialAxis(i)
		if s[a] < 0 {
			continue
		}
		if _, err := l.axisMap(i, s[a]); err != nil {
			return nil, ShapeError(&l.Base, "input %s: %v", runtime.FormatShape(s), err)
		}
		out[a] = l.outLen(i, s[a])
	}
	return [][]int{out}, nil
}

// Weights returns none.
func (l *gatherLayer) Weights() []*runtime.Variable { return nil }

// Forward gathers the output.
func (l *gatherLayer) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() != l.Dims+2 {
		return nil, nil, ShapeError(&l.Base, "expects rank %d input, got %s", l.Dims+2, runtime.FormatShape(x.Shape))
	}
	maps := make([][]int, x.Rank())
	for a, n := range x.Shape {
		maps[a] = identityMap(n)
	}
	for i := range l.Dims {
		a := l.spatialAxis(i)
		m, err := l.axisMap(i, x.Shape[a])
		if err != nil {
			return nil, nil, ShapeError(&l.Base, "input %s: %v", runtime.FormatShape(x.Shape), err)
		}
		maps[a] = m
	}
	return gatherForward(ctx, x, maps)
}

// gatherForward applies axisGather and returns its backward function.
func gatherForward(ctx *runtime.Context, x *runtime.Tensor, maps [][]int) ([]*runtime.Tensor, runtime.Backward, error) {
	data, shape := axisGather(x.Data, x.Shape, maps)
	y := &runtime.Tensor{Shape: shape, Data: data}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: axisScatter(gout[0].Data, x.Shape, maps)}}, nil
	}, nil
}

// newGatherBase reads the fields every gather layer has.
func newGatherBase(spec *kerasjson.Layer, dims int, hasDataFormat bool) (*gatherLayer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &gatherLayer{Base: b, Dims: dims}
	if hasDataFormat {
		df, err := spec.Config.String("data_format", "channels_last")
		if err != nil {
			return nil, err
		}
		switch df {
		case "channels_last":
		case "channels_first":
			l.ChannelsFirst = true
		default:
			return nil, ShapeError(&l.Base, "invalid data_format %q", df)
		}
	}
	return l, nil
}

// configPairs reads a (before, after) pair per spatial axis from a Keras
// padding/cropping argument: an integer (all sides), a list of dims
// integers (symmetric per axis), a list of dims pairs, or for dims == 1 a
// single pair.
func configPairs(c kerasjson.Config, key string, dims int, def [][2]int) ([][2]int, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	bad := fmt.Errorf("config %q: want an integer, %d integers or %d pairs, got %v", key, dims, dims, v)
	one, err := kerasjson.Config{"v": v}.Int("v", 0)
	if err == nil {
		out := make([][2]int, dims)
		for i := range out {
			out[i] = [2]int{one, one}
		}
		return out, nil
	}
	list, isList := v.([]any)
	if !isList {
		return nil, bad
	}
	if dims == 1 {
		p, err := kerasjson.Config{"v": v}.Ints("v", 2, nil)
		if err != nil {
			return nil, bad
		}
		return [][2]int{{p[0], p[1]}}, nil
	}
	if len(list) != dims {
		return nil, bad
	}
	out := make([][2]int, dims)
	for i, e := range list {
		p, err := kerasjson.Config{"v": e}.Ints("v", 2, nil)
		if err != nil {
			return nil, bad
		}
		out[i] = [2]int{p[0], p[1]}
	}
	for _, p := range out {
		if p[0] < 0 || p[1] < 0 {
			return nil, fmt.Errorf("config %q: negative value in %v", key, v)
		}
	}
	return out, nil
}
