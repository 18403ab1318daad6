package layers

import (
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// BatchNormalization is keras.layers.BatchNormalization over one feature
// axis. Weights, in Keras order: gamma (scale), beta (center),
// moving_mean and moving_variance (non-trainable). In training (and when
// trainable) it normalizes with the batch's mean and population variance
// and records the moving-statistics updates Keras makes,
// moving = moving*momentum + batch*(1-momentum), in ctx.Updates; otherwise
// it uses the moving statistics.
//
// tf-keras runs a 4-D or 5-D input with its feature axis first or last
// through TensorFlow's fused kernel, whose batch variance, the one the
// moving variance moves towards, carries Bessel's correction (n/(n-1) for n
// values a feature); tf-keras passes it on unchanged
// (_bessels_correction_test_only), so a file tf-keras wrote trains so too.
// Keras 3 uses the population variance everywhere.
type BatchNormalization struct {
	Base
	NormParams
	Axis     int
	Momentum float64

	MovingMean, MovingVariance *runtime.Variable

	// fusedKeras2 is set for a tf-keras layer: its moving variance takes
	// the Bessel-corrected batch variance where tf-keras fuses.
	fusedKeras2 bool
}

func init() {
	Register("BatchNormalization", newBatchNormalization, Supports{Inference: true, Training: true})
}

func newBatchNormalization(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &BatchNormalization{Base: b, fusedKeras2: spec.Keras2}
	r := &argReader{b: &l.Base, c: spec.Config}
	l.Axis = r.normAxisArg()
	l.Momentum = r.Float("momentum", 0.99)
	l.NormParams = r.normParams(1e-3)
	renorm := r.Bool("renorm", false)
	if r.err != nil {
		return nil, r.err
	}
	if renorm {
		return nil, ShapeError(&l.Base, "renorm=True is not supported")
	}
	return l, nil
}

// Build creates the weights for the feature axis.
func (l *BatchNormalization) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	axis, ok := normalizeAxis(l.Axis, len(s))
	if !ok {
		return nil, ShapeError(&l.Base, "axis %d is out of bounds for input %s", l.Axis, runtime.FormatShape(s))
	}
	d := s[axis]
	if d < 0 {
		return nil, ShapeError(&l.Base, "axis %d of input %s must be known", l.Axis, runtime.FormatShape(s))
	}
	if l.MovingMean == nil {
		l.buildAffine([]int{d}, l.Scale, l.Center)
		l.MovingMean = filledVariable("moving_mean", []int{d}, false, 0)
		l.MovingVariance = filledVariable("moving_variance", []int{d}, false, 1)
	} else if l.MovingMean.Value.Shape[0] != d {
		return nil, ShapeError(&l.Base, "built for %d features, called on %s", l.MovingMean.Value.Shape[0], runtime.FormatShape(s))
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns gamma, beta, moving_mean, moving_variance (those that
// exist).
func (l *BatchNormalization) Weights() []*runtime.Variable {
	return existing(l.Gamma, l.Beta, l.MovingMean, l.MovingVariance)
}

func varData(v *runtime.Variable) []float32 {
	if v == nil {
		return nil
	}
	return v.Value.Data
}

// Forward normalizes with batch statistics in training, moving ones
// otherwise.
func (l *BatchNormalization) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	axis, ok := normalizeAxis(l.Axis, x.Rank())
	c := l.MovingMean.Value.Shape[0]
	if !ok || x.Shape[axis] != c {
		return nil, nil, ShapeError(&l.Base, "expects %d features on axis %d, got input %s", c, l.Axis, runtime.FormatShape(x.Shape))
	}
	if !ctx.Grad && !(ctx.Training && l.Base.Trainable) {
		return []*runtime.Tensor{l.infer(x, axis)}, nil, nil
	}
	// Features first: row r holds every value of feature r.
	perm := axisToFrontOf(x.Rank(), axis)
	xp, ps := permuteAxes(x.Data, x.Shape, perm)
	rowLen := len(xp) / max(c, 1)
	byRow := func(r, _ int) int { return r }
	gamma, beta := varData(l.Gamma), varData(l.Beta)
	training := ctx.Training && l.Base.Trainable
	var mean, inv []float64
	if training && rowLen > 0 {
		var variance []float64
		mean, variance = rowMoments(xp, rowLen)
		inv = invStd(variance, l.Epsilon)
		if l.fusedKeras2 && fusedAxis(x.Rank(), axis) && rowLen > 1 {
			for i := range variance {
				variance[i] *= float64(rowLen) / float64(rowLen-1)
			}
		}
		m := float32(l.Momentum)
		newMean, newVar := runtime.NewTensor(c), runtime.NewTensor(c)
		for i := range c {
			newMean.Data[i] = l.MovingMean.Value.Data[i]*m + float32(mean[i])*(1-m)
			newVar.Data[i] = l.MovingVariance.Value.Data[i]*m + float32(variance[i])*(1-m)
		}
		ctx.Updates = append(ctx.Updates,
			runtime.VariableUpdate{Variable: l.MovingMean, Value: newMean},
			runtime.VariableUpdate{Variable: l.MovingVariance, Value: newVar})
	} else {
		training = false
		mean = make([]float64, c)
		variance := make([]float64, c)
		for i := range c {
			mean[i] = float64(l.MovingMean.Value.Data[i])
			variance[i] = float64(l.MovingVariance.Value.Data[i])
		}
		inv = invStd(variance, l.Epsilon)
	}
	yp, xhat := normalizeRows(xp, rowLen, mean, inv, gamma, beta, byRow)
	inverse := inversePerm(perm)
	yd, _ := permuteAxes(yp, ps, inverse)
	y := &runtime.Tensor{Shape: copyShape(x.Shape), Data: yd}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g, _ := permuteAxes(gout[0].Data, x.Shape, perm)
		pg := newParamGrads(&l.Base, l.Gamma, l.Beta)
		gh := affineGrads(g, xhat, rowLen, gamma, byRow, pg.dGamma, pg.dBeta)
		var gx []float32
		if training {
			gx = normalizeRowsGrad(gh, xhat, rowLen, inv)
		} else {
			gx = gh
			for p := range gx {
				gx[p] *= float32(inv[p/rowLen])
			}
		}
		pg.accumulate(ctx)
		gd, _ := permuteAxes(gx, ps, inverse)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gd}}, nil
	}, nil
}

// fusedAxis reports whether tf-keras runs BatchNormalization over feature
// axis a of a rank-r input through the fused kernel (NCHW, NHWC, NCDHW,
// NDHWC).
func fusedAxis(r, a int) bool {
	return (r == 4 || r == 5) && (a == 1 || a == r-1)
}

// axisToFrontOf is the permutation moving axis a first.
func axisToFrontOf(rank, a int) []int {
	perm := []int{a}
	for i := 0; i < rank; i++ {
		if i != a {
			perm = append(perm, i)
		}
	}
	return perm
}

// infer is the inference fast path: y = x*scale[c] + shift[c] in place of
// layout, with scale = gamma/sqrt(moving_variance+epsilon) and
// shift = beta - moving_mean*scale.
func (l *BatchNormalization) infer(x *runtime.Tensor, axis int) *runtime.Tensor {
	c := l.MovingMean.Value.Shape[0]
	scale, shift := l.affine()
	inner := runtime.ShapeSize(x.Shape[axis+1:])
	y := runtime.NewTensor(x.Shape...)
	if inner == 1 {
		// Channels last: one pass per row of c values.
		for r := 0; r+c <= len(x.Data); r += c {
			xr, yr := x.Data[r:r+c], y.Data[r:r+c]
			for ch, v := range xr {
				yr[ch] = v*scale[ch] + shift[ch]
			}
		}
		return y
	}
	for i, v := range x.Data {
		ch := (i / inner) % c
		y.Data[i] = v*scale[ch] + shift[ch]
	}
	return y
}

// affine returns the per-feature scale and shift of inference,
// y = x*scale + shift: scale = gamma/sqrt(moving_variance+epsilon),
// shift = beta - moving_mean*scale, computed in float64 and rounded once.
// The inference graph folds them into the preceding layer's weights
// (fuse.go).
func (l *BatchNormalization) affine() (scale, shift []float32) {
	c := l.MovingMean.Value.Shape[0]
	scale, shift = make([]float32, c), make([]float32, c)
	for i := range c {
		s := 1 / math.Sqrt(float64(l.MovingVariance.Value.Data[i])+l.Epsilon)
		if l.Gamma != nil {
			s *= float64(l.Gamma.Value.Data[i])
		}
		b := -float64(l.MovingMean.Value.Data[i]) * s
		if l.Beta != nil {
			b += float64(l.Beta.Value.Data[i])
		}
		scale[i], shift[i] = float32(s), float32(b)
	}
	return scale, shift
}
