package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// LayerNormalization is keras.layers.LayerNormalization: each sample is
// normalized over axis (an integer or a list) with its own mean and
// population variance, then scaled by gamma and shifted by beta (both of
// the shape of those axes). With the deprecated rms_scaling, Keras
// computes x * rsqrt(variance + epsilon) * gamma (no centering, no beta).
type LayerNormalization struct {
	Base
	Axes                      []int
	Epsilon                   float64
	Center, Scale, RMSScaling bool
	Gamma, Beta               *runtime.Variable
}

func init() {
	Register("LayerNormalization", newLayerNormalization, Supports{Inference: true, Training: true})
}

func newLayerNormalization(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &LayerNormalization{Base: b}
	c := spec.Config
	if l.Axes, err = c.Ints("axis", 0, []int{-1}); err != nil {
		return nil, err
	}
	if l.Epsilon, err = c.Float("epsilon", 1e-3); err != nil {
		return nil, err
	}
	if l.Center, err = c.Bool("center", true); err != nil {
		return nil, err
	}
	if l.Scale, err = c.Bool("scale", true); err != nil {
		return nil, err
	}
	if l.RMSScaling, err = c.Bool("rms_scaling", false); err != nil {
		return nil, err
	}
	return l, nil
}

// normAxes normalizes and sorts axes for a rank and returns them with the
// shape of the weights they define.
func normAxes(b *Base, axes []int, s []int) ([]int, []int, error) {
	seen := make([]bool, len(s))
	var out []int
	for _, a := range axes {
		n, ok := normalizeAxis(a, len(s))
		if !ok || n == 0 || seen[n] {
			return nil, nil, ShapeError(b, "axis %v is invalid for input %s", axes, runtime.FormatShape(s))
		}
		seen[n] = true
	}
	var shape []int
	for i, ok := range seen {
		if ok {
			out = append(out, i)
			shape = append(shape, s[i])
			if s[i] < 0 {
				return nil, nil, ShapeError(b, "axis %d of input %s must be known", i, runtime.FormatShape(s))
			}
		}
	}
	return out, shape, nil
}

// Build creates gamma and beta.
func (l *LayerNormalization) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	_, shape, err := normAxes(&l.Base, l.Axes, s)
	if err != nil {
		return nil, err
	}
	if l.Gamma == nil && l.Beta == nil {
		if l.Scale || l.RMSScaling {
			g := runtime.NewTensor(shape...)
			for i := range g.Data {
				g.Data[i] = 1
			}
			l.Gamma = &runtime.Variable{Name: "gamma", Value: g, Trainable: true}
		}
		if l.Center && !l.RMSScaling {
			l.Beta = &runtime.Variable{Name: "beta", Value: runtime.NewTensor(shape...), Trainable: true}
		}
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns gamma and beta (those that exist).
func (l *LayerNormalization) Weights() []*runtime.Variable {
	var ws []*runtime.Variable
	for _, v := range []*runtime.Variable{l.Gamma, l.Beta} {
		if v != nil {
			ws = append(ws, v)
		}
	}
	return ws
}

// Forward normalizes each sample over the axes.
func (l *LayerNormalization) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	axes, shape, err := normAxes(&l.Base, l.Axes, x.Shape)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range l.Weights() {
		if !equalShapes(w.Value.Shape, shape) {
			return nil, nil, ShapeError(&l.Base, "built for %s, called on %s", runtime.FormatShape(w.Value.Shape), runtime.FormatShape(x.Shape))
		}
	}
	perm := reduceLastPerm(x.Rank(), axes)
	xp, ps := permuteAxes(x.Data, x.Shape, perm)
	rowLen := runtime.ShapeSize(shape)
	byPos := func(_, i int) int { return i }
	gamma, beta := varData(l.Gamma), varData(l.Beta)
	mean, variance := rowMoments(xp, max(rowLen, 1))
	inv := invStd(variance, l.Epsilon)
	var yp, xhat []float32
	if l.RMSScaling {
		// x * inv, not (x - mean) * inv: scale the rows without centering.
		yp, xhat = normalizeRows(xp, rowLen, make([]float64, len(mean)), inv, gamma, nil, byPos)
	} else {
		yp, xhat = normalizeRows(xp, rowLen, mean, inv, gamma, beta, byPos)
	}
	inverse := inversePerm(perm)
	yd, _ := permuteAxes(yp, ps, inverse)
	y := &runtime.Tensor{Shape: copyShape(x.Shape), Data: yd}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g, _ := permuteAxes(gout[0].Data, x.Shape, perm)
		pg := newParamGrads(&l.Base, l.Gamma, l.Beta)
		gh := affineGrads(g, xhat, rowLen, gamma, byPos, pg.dGamma, pg.dBeta)
		var gx []float32
		if l.RMSScaling {
			gx = scaledRowsGrad(gh, xp, rowLen, mean, inv)
		} else {
			gx = normalizeRowsGrad(gh, xhat, rowLen, inv)
		}
		pg.accumulate(ctx)
		gd, _ := permuteAxes(gx, ps, inverse)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gd}}, nil
	}, nil
}

// scaledRowsGrad is the gradient of y = x * inv(x) for
// inv = 1/sqrt(s(x) + eps) where s is the variance about center (the row
// mean) or, with center nil, the mean square:
// gx = inv*gh - inv³ * (x - center)/n * sum(gh * x).
func scaledRowsGrad(gh, x []float32, rowLen int, center, inv []float64) []float32 {
	gx := make([]float32, len(gh))
	n := float64(rowLen)
	for r := range inv {
		var s float64
		for p := r * rowLen; p < (r+1)*rowLen; p++ {
			s += float64(gh[p]) * float64(x[p])
		}
		c := 0.0
		if center != nil {
			c = center[r]
		}
		k := inv[r] * inv[r] * inv[r] * s / n
		for p := r * rowLen; p < (r+1)*rowLen; p++ {
			gx[p] = float32(inv[r]*float64(gh[p]) - k*(float64(x[p])-c))
		}
	}
	return gx
}

// rowMeanSquares returns the mean of the squares of each row.
func rowMeanSquares(x []float32, rowLen int) []float64 {
	ms := make([]float64, len(x)/rowLen)
	for r := range ms {
		var s float64
		for _, v := range x[r*rowLen : (r+1)*rowLen] {
			s += float64(v) * float64(v)
		}
		ms[r] = s / float64(rowLen)
	}
	return ms
}
