package layers

import (
	"math"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Keras 3's random image augmentation layers (the subclasses of
// BaseImagePreprocessingLayer) share one shape, kept here: the identity at
// inference; in training a transformation is drawn for the batch (Keras's
// get_random_transformation) and applied (transform_images with
// training=True). Each layer's file holds its augmenter.
//
// kerasrun draws from the training Context's generator (ctx.Rand, seeded
// by the trainer, so a Fit is reproducible) instead of Keras's
// SeedGenerator: the draws follow Keras's distributions, not TensorFlow's
// bits, and a layer's seed argument is ignored.

// transformation is one batch's drawn parameters, under the keys of
// Keras's transformation dict, each array flattened in row-major order
// ("flips" one 0/1 per image, "translations" (batch, 2) as w0, h0, w1, ...).
type transformation map[string][]float64

// augmenter is one augmentation layer's training behaviour.
type augmenter interface {
	// draw returns a random transformation for a batch of images.
	draw(r *rand.Rand, img imageShape) transformation
	// apply transforms the images x by t (Keras's transform_images).
	apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error)
}

// outputShaper is implemented by an augmenter whose training output has
// another shape than its input (RandomCrop).
type outputShaper interface {
	outputShape(in []int, channelsFirst bool) []int
}

// augmentation is a layer made of an augmenter.
type augmentation struct {
	Base
	ChannelsFirst bool
	aug           augmenter
}

// newAugmentationLayer reads data_format and builds the layer around the
// augmenter that build makes from the configuration (nil, with r.err set,
// when the configuration is malformed).
func newAugmentationLayer(spec *kerasjson.Layer, build func(l *augmentation, r *argReader) (augmenter, error)) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &augmentation{Base: b}
	r := &argReader{b: &l.Base, c: spec.Config}
	switch df := r.String("data_format", "channels_last"); df {
	case "channels_last":
	case "channels_first":
		l.ChannelsFirst = true
	default:
		r.check(false, "data_format", "want channels_last or channels_first, got %q", df)
	}
	aug, err := build(l, r)
	if r.err != nil {
		return nil, r.err
	}
	if err != nil {
		return nil, err
	}
	l.aug = aug
	return l, nil
}

// Build returns the input shape (the cropped shape for RandomCrop, as
// Keras's compute_output_shape).
func (l *augmentation) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if os, ok := l.aug.(outputShaper); ok {
		if len(s) != 4 {
			return nil, ShapeError(&l.Base, "expects a rank 4 image batch, got %s", runtime.FormatShape(s))
		}
		return [][]int{os.outputShape(s, l.ChannelsFirst)}, nil
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns none.
func (l *augmentation) Weights() []*runtime.Variable { return nil }

// Forward passes the input through at inference and augments it in
// training.
func (l *augmentation) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	if !ctx.Training {
		return in[:1], identityBackward(ctx), nil
	}
	x := in[0]
	if x.Rank() != 4 {
		return nil, nil, ShapeError(&l.Base, "training expects a rank 4 image batch, got %s", runtime.FormatShape(x.Shape))
	}
	if err := needRand(&l.Base, ctx); err != nil {
		return nil, nil, err
	}
	img := newImageShape(x.Shape, l.ChannelsFirst)
	out, back, err := l.aug.apply(ctx, x, img, l.aug.draw(ctx.Rand, img))
	if err != nil {
		return nil, nil, ShapeError(&l.Base, "%v", err)
	}
	if back == nil {
		return out, nil, nil
	}
	return out, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		if g[0] == nil {
			return []*runtime.Tensor{nil}, nil
		}
		return back(g)
	}, nil
}

// imageShape is the layout of an image batch.
type imageShape struct {
	n, h, w, c    int
	channelsFirst bool
}

func newImageShape(shape []int, channelsFirst bool) imageShape {
	if channelsFirst {
		return imageShape{shape[0], shape[2], shape[3], shape[1], true}
	}
	return imageShape{shape[0], shape[1], shape[2], shape[3], false}
}

// offset is the index of channel ch of pixel p (y*w + x) of image b.
func (s imageShape) offset(b, p, ch int) int {
	if s.channelsFirst {
		return (b*s.c+ch)*s.h*s.w + p
	}
	return (b*s.h*s.w+p)*s.c + ch
}

// uniform draws n values uniform in [lo, hi), as keras.random.uniform.
func uniform(r *rand.Rand, n int, lo, hi float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float64()
	}
	return v
}

// remapPixels returns the image batch whose pixel p of image b is the
// input's pixel src(b, p) (an image of the batch and a pixel: a flip, a
// box from another image), and its backward pass.
func remapPixels(ctx *runtime.Context, x *runtime.Tensor, img imageShape, src func(b, p int) (int, int)) ([]*runtime.Tensor, runtime.Backward, error) {
	y := runtime.NewTensor(x.Shape...)
	walk := func(f func(o, i int)) {
		for b := range img.n {
			for p := range img.h * img.w {
				sb, sp := src(b, p)
				for ch := range img.c {
					f(img.offset(b, p, ch), img.offset(sb, sp, ch))
				}
			}
		}
	}
	walk(func(o, i int) { y.Data[o] = x.Data[i] })
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		walk(func(o, i int) { gx.Data[i] += g[0].Data[o] })
		return []*runtime.Tensor{gx}, nil
	}, nil
}

// clipTo clips y to [lo, hi] in place and returns the gradient mask of
// the clip (1 where the value was kept, bounds included, as
// tf.clip_by_value's gradient).
func clipTo(y []float32, lo, hi float32) []bool {
	kept := make([]bool, len(y))
	for i, v := range y {
		switch {
		case v < lo:
			y[i] = lo
		case v > hi:
			y[i] = hi
		default:
			kept[i] = true
		}
	}
	return kept
}

// readBaseFactor reads a factor (key) as BaseImagePreprocessingLayer._set_factor
// does, within the layer's bounds [lo, hi]: a number f (within the
// bounds) gives (max(-|f|, lo), |f|); a pair is sorted and must overlap
// the bounds. A missing factor is 0.
func readBaseFactor(r *argReader, key string, lo, hi float64) (lower, upper float64) {
	v, ok, err := r.c.Floats(key)
	if err != nil {
		r.fail(key, err)
		return 0, 0
	}
	switch {
	case !ok:
		return 0, 0
	case len(v) == 1:
		r.check(v[0] >= lo && v[0] <= hi, key, "want a number in [%v, %v], got %v", lo, hi, v[0])
		f := math.Abs(v[0])
		return max(-f, lo), f
	case len(v) == 2:
		r.check(v[0] <= hi && v[1] >= lo, key, "want a pair overlapping [%v, %v], got %v", lo, hi, v)
		return min(v[0], v[1]), max(v[0], v[1])
	}
	r.check(false, key, "want a number or a pair, got %d numbers", len(v))
	return 0, 0
}

// readRangeFactor reads a RandomZoom or RandomTranslation factor: a number
// f gives (-|f|, |f|), a pair is sorted; every number must pass inRange
// (described by want). ok is false when the key is absent or null.
func readRangeFactor(r *argReader, key string, inRange func(float64) bool, want string) (lower, upper float64, ok bool) {
	v, ok, err := r.c.Floats(key)
	if err != nil {
		r.fail(key, err)
		return 0, 0, false
	}
	if !ok {
		return 0, 0, false
	}
	for _, f := range v {
		r.check(inRange(f), key, "want numbers in %s, got %v", want, f)
	}
	switch len(v) {
	case 1:
		return -math.Abs(v[0]), math.Abs(v[0]), true
	case 2:
		return min(v[0], v[1]), max(v[0], v[1]), true
	}
	r.check(false, key, "want a number or a pair, got %d numbers", len(v))
	return 0, 0, false
}

// readValueRange reads value_range (default (0, 255)), a pair of numbers.
func readValueRange(r *argReader) (lo, hi float64) {
	v, ok, err := r.c.Floats("value_range")
	if err != nil {
		r.fail("value_range", err)
		return 0, 255
	}
	if !ok {
		return 0, 255
	}
	r.check(len(v) == 2, "value_range", "want a pair of numbers, got %d numbers", len(v))
	if len(v) != 2 {
		return 0, 255
	}
	return v[0], v[1]
}

// maskedBackward returns y and the backward pass that keeps the gradient
// where kept is set (an elementwise shift, then a clip).
func maskedBackward(ctx *runtime.Context, x, y *runtime.Tensor, kept []bool) ([]*runtime.Tensor, runtime.Backward, error) {
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		for i, k := range kept {
			if k {
				gx.Data[i] = g[0].Data[i]
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
