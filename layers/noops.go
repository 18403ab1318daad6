package layers

import (
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// The layers in this file return their input unchanged at inference.
// Each entry says why, and what happens in training:
//
//	SpatialDropout1D/2D/3D  regularization: in training drops whole channels (Dropout with noise over all but the batch and channel axes)
//	GaussianNoise           regularization: in training adds N(0, stddev) noise
//	GaussianDropout         regularization: in training multiplies by N(1, sqrt(rate/(1-rate))) noise
//	AlphaDropout            regularization: in training keeps SELU's mean and variance (Keras's a*(x*kept + alpha_p*(1-kept)) + b)
//	ActivityRegularization  adds l1*sum|x| + l2*sum(x²), over the batch size, to ctx.Losses (in training and evaluation alike, as Keras's add_loss);
//	                        the output is the input; in training its Backward adds that term's gradient
//	the random augmentation layers not yet implemented (their list below)
//	                        data augmentation, applied by Keras in training only; training through them is refused (InferenceOnly)
//
// Training needs ctx.Rand for the random layers.

// InferenceOnly is implemented by layers that run at inference but refuse
// training; TrainingUnsupported says why.
type InferenceOnly interface {
	TrainingUnsupported() string
}

// noopLayer is an identity at inference; train (optional) is its training
// behaviour.
type noopLayer struct {
	Base
	train func(ctx *runtime.Context, x *runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error)
	// refuse, when set, is why training is not supported.
	refuse string
}

// Build returns the input shape.
func (l *noopLayer) Build(in [][]int) ([][]int, error) { return sameShape(&l.Base, in) }

// Weights returns none.
func (l *noopLayer) Weights() []*runtime.Variable { return nil }

// TrainingUnsupported says why training through the layer is refused
// ("" when it is supported).
func (l *noopLayer) TrainingUnsupported() string { return l.refuse }

// Forward passes the input through, or applies the training behaviour.
func (l *noopLayer) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	if ctx.Training && l.refuse != "" {
		return nil, nil, ShapeError(&l.Base, "training is not supported: %s", l.refuse)
	}
	if l.train != nil && (ctx.Training || l.ClassName == "ActivityRegularization") {
		return l.train(ctx, in[0])
	}
	return in[:1], identityBackward(ctx), nil
}

func init() {
	for dims, class := range map[int]string{1: "SpatialDropout1D", 2: "SpatialDropout2D", 3: "SpatialDropout3D"} {
		Register(class, func(spec *kerasjson.Layer) (Layer, error) { return newSpatialDropout(spec, dims) }, Supports{Inference: true, Training: true})
	}
	Register("GaussianNoise", newGaussianNoise, Supports{Inference: true, Training: true})
	Register("GaussianDropout", newGaussianDropout, Supports{Inference: true, Training: true})
	Register("AlphaDropout", newAlphaDropout, Supports{Inference: true, Training: true})
	Register("ActivityRegularization", newActivityRegularization, Supports{Inference: true, Training: true})
	for _, class := range augmentationLayers {
		Register(class, newAugmentation, Supports{Inference: true})
	}
}

// augmentationLayers are Keras's random image augmentation layers (Keras
// 3, and Keras 2's RandomHeight/RandomWidth) whose training is not
// implemented yet; the others have their own files (random_flip.go, ...,
// on image_augment.go).
var augmentationLayers = []string{
	"RandomElasticTransform", "RandomHeight", "RandomWidth", "AugMix", "RandAugment",
}

func newAugmentation(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	return &noopLayer{Base: b, refuse: "random data augmentation is not implemented; it is the identity at inference"}, nil
}

// rateOf reads and checks a dropout rate.
func rateOf(b *Base, c kerasjson.Config) (float64, error) {
	rate, err := c.Float("rate", 0)
	if err != nil {
		return 0, err
	}
	if rate < 0 || rate >= 1 {
		return 0, ShapeError(b, "rate must be in [0, 1), got %v", rate)
	}
	return rate, nil
}

// needRand checks a training random source is present.
func needRand(b *Base, ctx *runtime.Context) error {
	if ctx.Rand == nil {
		return ShapeError(b, "training needs a random source (Context.Rand)")
	}
	return nil
}

// multiplyBy returns x*m and the backward function g*m.
func multiplyBy(ctx *runtime.Context, x *runtime.Tensor, m []float32, add []float32) ([]*runtime.Tensor, runtime.Backward, error) {
	y := runtime.NewTensor(x.Shape...)
	for i, v := range x.Data {
		y.Data[i] = v * m[i]
		if add != nil {
			y.Data[i] += add[i]
		}
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		for i, v := range g[0].Data {
			gx.Data[i] = v * m[i]
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}

func newSpatialDropout(spec *kerasjson.Layer, dims int) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &noopLayer{Base: b}
	rate, err := rateOf(&l.Base, spec.Config)
	if err != nil {
		return nil, err
	}
	df, err := spec.Config.String("data_format", "channels_last")
	if err != nil {
		return nil, err
	}
	l.train = func(ctx *runtime.Context, x *runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
		if x.Rank() != dims+2 {
			return nil, nil, ShapeError(&l.Base, "expects rank %d input, got %s", dims+2, runtime.FormatShape(x.Shape))
		}
		if err := needRand(&l.Base, ctx); err != nil {
			return nil, nil, err
		}
		// One keep decision per (sample, channel).
		noise := repeatInt(1, x.Rank())
		noise[0] = x.Shape[0]
		if df == "channels_first" && dims > 1 {
			noise[1] = x.Shape[1]
		} else {
			noise[x.Rank()-1] = x.Shape[x.Rank()-1]
		}
		keep := make([]float32, runtime.ShapeSize(noise))
		for i := range keep {
			if ctx.Rand.Float64() >= rate {
				keep[i] = float32(1 / (1 - rate))
			}
		}
		return multiplyBy(ctx, x, broadcastTo(keep, noise, x.Shape), nil)
	}
	return l, nil
}

func newGaussianNoise(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &noopLayer{Base: b}
	stddev, err := spec.Config.Float("stddev", 0)
	if err != nil {
		return nil, err
	}
	l.train = func(ctx *runtime.Context, x *runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
		if err := needRand(&l.Base, ctx); err != nil {
			return nil, nil, err
		}
		ones, noise := make([]float32, x.Size()), make([]float32, x.Size())
		for i := range noise {
			ones[i] = 1
			noise[i] = float32(ctx.Rand.NormFloat64() * stddev)
		}
		return multiplyBy(ctx, x, ones, noise)
	}
	return l, nil
}

func newGaussianDropout(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &noopLayer{Base: b}
	rate, err := rateOf(&l.Base, spec.Config)
	if err != nil {
		return nil, err
	}
	l.train = func(ctx *runtime.Context, x *runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
		if err := needRand(&l.Base, ctx); err != nil {
			return nil, nil, err
		}
		stddev := math.Sqrt(rate / (1 - rate))
		m := make([]float32, x.Size())
		for i := range m {
			m[i] = float32(1 + ctx.Rand.NormFloat64()*stddev)
		}
		return multiplyBy(ctx, x, m, nil)
	}
	return l, nil
}

func newAlphaDropout(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &noopLayer{Base: b}
	rate, err := rateOf(&l.Base, spec.Config)
	if err != nil {
		return nil, err
	}
	if spec.Config.Has("noise_shape") {
		return nil, ShapeError(&l.Base, "noise_shape is not supported")
	}
	l.train = func(ctx *runtime.Context, x *runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
		if rate == 0 {
			return []*runtime.Tensor{x}, identityBackward(ctx), nil
		}
		if err := needRand(&l.Base, ctx); err != nil {
			return nil, nil, err
		}
		alphaP := -seluAlpha * seluScale
		a := math.Pow((1-rate)*(1+rate*alphaP*alphaP), -0.5)
		bb := -a * alphaP * rate
		m, add := make([]float32, x.Size()), make([]float32, x.Size())
		for i := range m {
			if ctx.Rand.Float64() >= rate {
				m[i], add[i] = float32(a), float32(bb)
			} else {
				add[i] = float32(a*alphaP + bb)
			}
		}
		return multiplyBy(ctx, x, m, add)
	}
	return l, nil
}

func newActivityRegularization(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &noopLayer{Base: b}
	l1, err := spec.Config.Float("l1", 0)
	if err != nil {
		return nil, err
	}
	l2, err := spec.Config.Float("l2", 0)
	if err != nil {
		return nil, err
	}
	l.train = func(ctx *runtime.Context, x *runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
		// Keras 3 divides the regularizer by the batch size.
		batch := 1.0
		if x.Rank() > 0 && x.Shape[0] > 0 {
			batch = float64(x.Shape[0])
		}
		var loss float64
		for _, v := range x.Data {
			loss += l1*math.Abs(float64(v)) + l2*float64(v)*float64(v)
		}
		ctx.Losses = append(ctx.Losses, loss/batch)
		if !ctx.Training {
			// Evaluation reports the loss; only training differentiates it.
			return []*runtime.Tensor{x}, identityBackward(ctx), nil
		}
		if !ctx.Grad {
			return []*runtime.Tensor{x}, nil, nil
		}
		return []*runtime.Tensor{x}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
			gx := runtime.NewTensor(x.Shape...)
			for i, v := range x.Data {
				sign := 0.0
				switch {
				case v > 0:
					sign = 1
				case v < 0:
					sign = -1
				}
				d := (l1*sign + 2*l2*float64(v)) / batch
				if g[0] != nil {
					d += float64(g[0].Data[i])
				}
				gx.Data[i] = float32(d)
			}
			return []*runtime.Tensor{gx}, nil
		}, nil
	}
	return l, nil
}
