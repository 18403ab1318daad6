package layers

import (
	"math"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// cutMix is keras.layers.CutMix: in training each image gets a box cut
// from the image at its place in a random order of the batch. The box's
// sides are sqrt(1 - w) times the image's, w drawn from Beta(a, a) per
// image, a uniform in factor's range (within [0, 1]; a number f means
// [0, f]) plus 1e-6, once per batch. Inside a model only the images pass
// through the layer, so, as in Keras, the labels are not mixed.
type cutMix struct {
	lower, upper float64
}

func init() { Register("CutMix", newCutMix, Supports{Inference: true, Training: true}) }

func newCutMix(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		c := &cutMix{lower: 0, upper: 1}
		if spec.Config.Has("factor") {
			c.lower, c.upper = readBaseFactor(r, "factor", 0, 1)
		}
		return c, nil
	})
}

func (c *cutMix) draw(r *rand.Rand, img imageShape) transformation {
	alpha := float64(float32(uniform(r, 1, c.lower, c.upper)[0]) + 1e-6)
	ratio := make([]float64, img.n)
	for b := range ratio {
		ratio[b] = math.Sqrt(1 - float64(float32(betaDraw(r, alpha))))
	}
	t := drawBoxes(r, img, ratio, ratio)
	t["permutation_order"] = permutation(r, img.n)
	return t
}

func (c *cutMix) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	perm := t["permutation_order"]
	return remapPixels(ctx, x, img, func(b, p int) (int, int) {
		if inBox(t, img, b, p) {
			return int(perm[b]), p
		}
		return b, p
	})
}
