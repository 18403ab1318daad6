package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomSaturation is keras.layers.RandomSaturation: in training each
// image's HSV saturation is multiplied by f/(1 - f + 1e-7), f uniform in
// factor's range (in [-1, 1]; a number f means [-f, f]), and clipped to
// value_range, as Keras 3 does (on the image's own values: it does not
// map them to [0, 1] first).
type randomSaturation struct {
	lower, upper float64
	lo, hi       float64 // value_range, sorted
}

func init() {
	Register("RandomSaturation", newRandomSaturation, Supports{Inference: true, Training: true})
}

func newRandomSaturation(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		s := &randomSaturation{}
		s.lower, s.upper = readBaseFactor(r, "factor", -1, 1)
		lo, hi := readValueRange(r)
		s.lo, s.hi = min(lo, hi), max(lo, hi)
		return s, nil
	})
}

func (s *randomSaturation) draw(r *rand.Rand, img imageShape) transformation {
	f := uniform(r, img.n, s.lower, s.upper)
	for i, v := range f {
		f[i] = float64(float32(v) / (1 - float32(v) + 1e-7))
	}
	return transformation{"factor": f}
}

func (s *randomSaturation) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	return mapRGB(ctx, x, img, func(b int, p [3]dual) [3]dual {
		h, sat, v := rgbToHSV(p[0], p[1], p[2])
		sat = sat.scale(float64(float32(t["factor"][b]))).clamp(s.lo, s.hi)
		r, g, bl := hsvToRGB(h, sat, v)
		return [3]dual{r, g, bl}
	})
}
