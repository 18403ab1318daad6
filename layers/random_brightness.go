package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomBrightness is keras.layers.RandomBrightness: in training each
// image gets a delta uniform in factor's range (in [-1, 1]; a number f
// means [-f, f]) times the width of value_range added to every value, then
// is clipped to value_range.
type randomBrightness struct {
	lower, upper float64
	lo, hi       float64 // value_range, sorted
}

func init() {
	Register("RandomBrightness", newRandomBrightness, Supports{Inference: true, Training: true})
}

func newRandomBrightness(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		br := &randomBrightness{}
		br.lower, br.upper = readBaseFactor(r, "factor", -1, 1)
		lo, hi := readValueRange(r)
		br.lo, br.hi = min(lo, hi), max(lo, hi)
		return br, nil
	})
}

func (br *randomBrightness) draw(r *rand.Rand, img imageShape) transformation {
	d := uniform(r, img.n, br.lower, br.upper)
	for i := range d {
		d[i] = float64(float32(d[i]) * float32(br.hi-br.lo))
	}
	return transformation{"rgb_delta": d}
}

func (br *randomBrightness) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	y := runtime.NewTensor(x.Shape...)
	per := len(x.Data) / max(img.n, 1)
	for b := range img.n {
		d := float32(t["rgb_delta"][b])
		for i := b * per; i < (b+1)*per; i++ {
			y.Data[i] = x.Data[i] + d
		}
	}
	kept := clipTo(y.Data, float32(br.lo), float32(br.hi))
	return maskedBackward(ctx, x, y, kept)
}
