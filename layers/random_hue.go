package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomHue is keras.layers.RandomHue: in training each image, mapped
// from value_range to [0, 1], has its HSV hue shifted by half a draw
// uniform in factor's range (within [0, 1]; a number f means [0, f]),
// negated for half the images, wrapped into [0, 1]; the RGB result is
// clipped to [0, 1] and mapped back.
type randomHue struct {
	lower, upper float64
	lo, hi       float64 // value_range
}

func init() { Register("RandomHue", newRandomHue, Supports{Inference: true, Training: true}) }

func newRandomHue(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		h := &randomHue{}
		h.lower, h.upper = readBaseFactor(r, "factor", 0, 1)
		h.lo, h.hi = readValueRange(r)
		return h, nil
	})
}

func (h *randomHue) draw(r *rand.Rand, img imageShape) transformation {
	invert := uniform(r, img.n, 0, 1)
	f := uniform(r, img.n, h.lower, h.upper)
	for i := range f {
		sign := float32(1)
		if invert[i] > 0.5 {
			sign = -1
		}
		f[i] = float64(sign * float32(f[i]) * 0.5)
	}
	return transformation{"factor": f}
}

func (h *randomHue) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	return mapRGB(ctx, x, img, func(b int, p [3]dual) [3]dual {
		for ch := range p {
			p[ch] = p[ch].toRange(h.lo, h.hi, 0, 1)
		}
		hue, s, v := rgbToHSV(p[0], p[1], p[2])
		hue = hue.add(constant(float64(float32(t["factor"][b]))))
		if hue.v > 1 {
			hue = hue.sub(constant(1))
		}
		if hue.v < 0 {
			hue = hue.add(constant(1))
		}
		r, g, bl := hsvToRGB(hue, s, v)
		out := [3]dual{r, g, bl}
		for ch := range out {
			out[ch] = out[ch].clamp(0, 1).toRange(0, 1, h.lo, h.hi)
		}
		return out
	})
}
