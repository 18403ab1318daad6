package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomPosterization is keras.layers.RandomPosterization: in training
// each image, mapped from value_range to [0, 255] and cast to uint8, keeps
// only its top b bits, b an integer drawn in [lower, upper) of factor's
// range (within [1, 8]; a number f means [1, f]; b = lower when the two
// are equal), and is mapped back. The cast has no gradient (none flows
// back, as in TensorFlow).
type randomPosterization struct {
	lower, upper int
	lo, hi       float32 // value_range, sorted
}

func init() {
	Register("RandomPosterization", newRandomPosterization, Supports{Inference: true, Training: true})
}

func newRandomPosterization(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		p := &randomPosterization{}
		lower, upper := readBaseFactor(r, "factor", 1, 8)
		p.lower, p.upper = int(lower), int(upper)
		r.check(float64(p.lower) == lower && float64(p.upper) == upper, "factor", "want integers, got %v and %v", lower, upper)
		lo, hi := readValueRange(r)
		p.lo, p.hi = float32(min(lo, hi)), float32(max(lo, hi))
		return p, nil
	})
}

// draw returns "shift_factor": 8 - the bits kept, per image.
func (p *randomPosterization) draw(r *rand.Rand, img imageShape) transformation {
	s := make([]float64, img.n)
	for b := range s {
		bits := p.lower
		if p.lower != p.upper {
			bits += r.IntN(p.upper - p.lower)
		}
		s[b] = float64(8 - bits)
	}
	return transformation{"shift_factor": s}
}

func (p *randomPosterization) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	y := runtime.NewTensor(x.Shape...)
	per := len(x.Data) / max(img.n, 1)
	for b := range img.n {
		shift := uint(t["shift_factor"][b])
		for i := b * per; i < (b+1)*per; i++ {
			v := toValueRange(x.Data[i], p.lo, p.hi, 0, 255)
			// The float to uint8 cast truncates; kerasrun saturates values
			// outside [0, 255], where C++'s conversion is undefined.
			u := uint8(min(max(v, 0), 255))
			y.Data[i] = toValueRange(float32(u>>shift<<shift), 0, 255, p.lo, p.hi)
		}
	}
	return multiplyGrad(ctx, x, y, make([]float32, len(x.Data)))
}

// toValueRange is BaseImagePreprocessingLayer._transform_value_range for
// one value: (v - lo) / (hi - lo) * (toHi - toLo) + toLo, or v when the
// ranges are the same.
func toValueRange(v, lo, hi, toLo, toHi float32) float32 {
	if lo == toLo && hi == toHi {
		return v
	}
	return (v-lo)/(hi-lo)*(toHi-toLo) + toLo
}
