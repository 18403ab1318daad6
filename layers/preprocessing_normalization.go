package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Normalization is the preprocessing layer keras.layers.Normalization:
// (x - mean) / max(sqrt(variance), 1e-7), or with invert
// mean + x * max(sqrt(variance), 1e-7). mean and variance cover the kept
// axes (axis: an integer, a list, or null for none) and come from the
// config when given there, else from the adapted weights mean, variance
// and count (all non-trainable).
type Normalization struct {
	Base
	Axes   []int
	Invert bool
	// configMean and configVariance hold values given in the config, with
	// their shape.
	configMean, configVariance []float32
	configShape                []int

	Mean, Variance, Count *runtime.Variable
}

func init() { Register("Normalization", newNormalization, Supports{Inference: true, Training: true}) }

// nestedFloats flattens a (nested) JSON list of numbers, returning its
// shape.
func nestedFloats(v any) ([]float32, []int, error) {
	list, ok := v.([]any)
	if !ok {
		f, err := kerasjson.Config{"v": v}.Float("v", 0)
		if err != nil {
			return nil, nil, err
		}
		return []float32{float32(f)}, nil, nil
	}
	var data []float32
	var inner []int
	for i, e := range list {
		d, s, err := nestedFloats(e)
		if err != nil {
			return nil, nil, err
		}
		if i > 0 && !equalShapes(s, inner) {
			return nil, nil, fmt.Errorf("ragged list")
		}
		inner = s
		data = append(data, d...)
	}
	return data, append([]int{len(list)}, inner...), nil
}

func newNormalization(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Normalization{Base: b}
	c := spec.Config
	if v, ok := c["axis"]; !ok {
		l.Axes = []int{-1}
	} else if v != nil {
		if l.Axes, err = c.Ints("axis", 0, nil); err != nil {
			return nil, err
		}
	}
	if l.Invert, err = c.Bool("invert", false); err != nil {
		return nil, err
	}
	if c.Has("mean") != c.Has("variance") {
		return nil, ShapeError(&l.Base, "config sets only one of mean and variance")
	}
	if c.Has("mean") {
		var vs []int
		if l.configMean, l.configShape, err = nestedFloats(c["mean"]); err != nil {
			return nil, ShapeError(&l.Base, "config mean: %v", err)
		}
		if l.configVariance, vs, err = nestedFloats(c["variance"]); err != nil {
			return nil, ShapeError(&l.Base, "config variance: %v", err)
		}
		if !equalShapes(vs, l.configShape) {
			return nil, ShapeError(&l.Base, "mean and variance shapes differ")
		}
		if len(l.configShape) > len(l.Axes) {
			return nil, ShapeError(&l.Base, "mean of rank %d for %d axes", len(l.configShape), len(l.Axes))
		}
	}
	return l, nil
}

// keep returns the sorted kept axes and the broadcast shape of mean.
func (l *Normalization) keep(s []int) ([]int, []int, error) {
	seen := make([]bool, len(s))
	for _, a := range l.Axes {
		n, ok := normalizeAxis(a, len(s))
		if !ok {
			return nil, nil, ShapeError(&l.Base, "axis %v out of range for input %s", l.Axes, runtime.FormatShape(s))
		}
		seen[n] = true
	}
	var keep []int
	bshape := repeatInt(1, len(s))
	for i, k := range seen {
		if k {
			if s[i] < 0 {
				return nil, nil, ShapeError(&l.Base, "kept axis %d of input %s must be known", i, runtime.FormatShape(s))
			}
			keep = append(keep, i)
			bshape[i] = s[i]
		}
	}
	return keep, bshape, nil
}

// Build creates mean, variance and count unless the config gives mean
// and variance.
func (l *Normalization) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	keep, _, err := l.keep(s)
	if err != nil {
		return nil, err
	}
	if l.configMean == nil && l.Mean == nil {
		shape := make([]int, len(keep))
		for i, a := range keep {
			shape[i] = s[a]
		}
		l.Mean = &runtime.Variable{Name: "mean", Value: runtime.NewTensor(shape...)}
		v := runtime.NewTensor(shape...)
		for i := range v.Data {
			v.Data[i] = 1
		}
		l.Variance = &runtime.Variable{Name: "variance", Value: v}
		l.Count = &runtime.Variable{Name: "count", Value: runtime.NewTensor()}
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns mean, variance and count when adapted.
func (l *Normalization) Weights() []*runtime.Variable {
	if l.Mean == nil {
		return nil
	}
	return []*runtime.Variable{l.Mean, l.Variance, l.Count}
}

// SaveOwnVars saves mean and variance as float32 and the adapted sample
// count as the int64 scalar Keras keeps.
func (l *Normalization) SaveOwnVars(w VarsWriter) error {
	for i, v := range l.Weights() {
		var err error
		if v == l.Count && len(v.Value.Data) == 1 {
			err = w.Int64(i, []int{}, []int64{int64(v.Value.Data[0])})
		} else {
			err = w.Float32(i, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stats returns mean and the clipped standard deviation broadcast to x.
func (l *Normalization) stats(x *runtime.Tensor) (mean, std []float32, err error) {
	keep, bshape, err := l.keep(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	var m, v []float32
	var shape []int
	if l.configMean != nil {
		// Config values align with the kept axes from the right.
		m, v = l.configMean, l.configVariance
		shape = repeatInt(1, x.Rank())
		for i := 1; i <= len(l.configShape); i++ {
			shape[keep[len(keep)-i]] = l.configShape[len(l.configShape)-i]
		}
	} else {
		m, v, shape = l.Mean.Value.Data, l.Variance.Value.Data, bshape
		if len(m) != runtime.ShapeSize(bshape) {
			return nil, nil, ShapeError(&l.Base, "built for mean %s, called on %s", runtime.FormatShape(l.Mean.Value.Shape), runtime.FormatShape(x.Shape))
		}
	}
	if _, ok := broadcastShapes(shape, x.Shape); !ok {
		return nil, nil, ShapeError(&l.Base, "mean of shape %v does not fit input %s", shape, runtime.FormatShape(x.Shape))
	}
	mean = broadcastTo(m, shape, x.Shape)
	std = make([]float32, len(v))
	for i, vv := range v {
		std[i] = float32(math.Max(math.Sqrt(float64(vv)), 1e-7))
	}
	return mean, broadcastTo(std, shape, x.Shape), nil
}

// Forward normalizes (or denormalizes).
func (l *Normalization) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	mean, std, err := l.stats(x)
	if err != nil {
		return nil, nil, err
	}
	y := runtime.NewTensor(x.Shape...)
	for i, v := range x.Data {
		if l.Invert {
			y.Data[i] = mean[i] + v*std[i]
		} else {
			y.Data[i] = (v - mean[i]) / std[i]
		}
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		for i, v := range g[0].Data {
			if l.Invert {
				gx.Data[i] = v * std[i]
			} else {
				gx.Data[i] = v / std[i]
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
