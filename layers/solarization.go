package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// solarization is keras.layers.Solarization: in training each image,
// mapped from value_range to [0, 255], gets an addition (clipped to
// [0, 255]) and every value at or above a threshold becomes 255 - value;
// then it is mapped back. The addition is uniform in
// [addition_factor[0], 255*addition_factor[1]] and the threshold in
// [threshold_factor[0], 255*threshold_factor[1]], as Keras 3 draws them
// (the lower bounds unscaled); a factor f (in [0, 1]) means [0, f].
type solarization struct {
	addLower, addUpper, thrLower, thrUpper float64
	lo, hi                                 float32 // value_range, sorted
}

func init() { Register("Solarization", newSolarization, Supports{Inference: true, Training: true}) }

func newSolarization(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		s := &solarization{}
		s.addLower, s.addUpper = readSolarizationFactor(r, "addition_factor")
		s.thrLower, s.thrUpper = readSolarizationFactor(r, "threshold_factor")
		lo, hi := readValueRange(r)
		s.lo, s.hi = float32(min(lo, hi)), float32(max(lo, hi))
		return s, nil
	})
}

// readSolarizationFactor reads a Solarization factor: a number f in [0, 1]
// gives (0, f), a pair in [0, 1] is sorted; absent is (0, 0).
func readSolarizationFactor(r *argReader, key string) (lower, upper float64) {
	v, ok, err := r.c.Floats(key)
	if err != nil {
		r.fail(key, err)
		return 0, 0
	}
	if !ok {
		return 0, 0
	}
	for _, f := range v {
		r.check(f >= 0 && f <= 1, key, "want numbers in [0, 1], got %v", f)
	}
	switch len(v) {
	case 1:
		return 0, v[0]
	case 2:
		return min(v[0], v[1]), max(v[0], v[1])
	}
	r.check(false, key, "want a number or a pair, got %d numbers", len(v))
	return 0, 0
}

func (s *solarization) draw(r *rand.Rand, img imageShape) transformation {
	return transformation{
		"additions":  uniform(r, img.n, s.addLower, s.addUpper*255),
		"thresholds": uniform(r, img.n, s.thrLower, s.thrUpper*255),
	}
}

func (s *solarization) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	y := runtime.NewTensor(x.Shape...)
	d := make([]float32, len(x.Data))
	per := len(x.Data) / max(img.n, 1)
	for b := range img.n {
		add, thr := float32(t["additions"][b]), float32(t["thresholds"][b])
		for i := b * per; i < (b+1)*per; i++ {
			v := toValueRange(x.Data[i], s.lo, s.hi, 0, 255) + add
			d[i] = 1
			if v < 0 || v > 255 {
				v, d[i] = min(max(v, 0), 255), 0
			}
			if v >= thr {
				v, d[i] = 255-v, -d[i]
			}
			y.Data[i] = toValueRange(v, 0, 255, s.lo, s.hi)
		}
	}
	return multiplyGrad(ctx, x, y, d)
}
