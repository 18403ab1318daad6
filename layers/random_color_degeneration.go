package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomColorDegeneration is keras.layers.RandomColorDegeneration: in
// training each image moves toward its gray image by a factor uniform in
// factor's range (in [-1, 1]; a number f means [-f, f], and a negative
// factor moves away from gray), then is clipped to value_range.
type randomColorDegeneration struct {
	lower, upper float64
	clip         []float32 // value_range, sorted
}

func init() {
	Register("RandomColorDegeneration", newRandomColorDegeneration, Supports{Inference: true, Training: true})
}

func newRandomColorDegeneration(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		c := &randomColorDegeneration{}
		c.lower, c.upper = readBaseFactor(r, "factor", -1, 1)
		lo, hi := readValueRange(r)
		c.clip = []float32{float32(min(lo, hi)), float32(max(lo, hi))}
		return c, nil
	})
}

func (c *randomColorDegeneration) draw(r *rand.Rand, img imageShape) transformation {
	return transformation{"factor": uniform(r, img.n, c.lower, c.upper)}
}

func (c *randomColorDegeneration) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	if img.c != 1 && img.c != 3 {
		return nil, nil, fmt.Errorf("rgb_to_grayscale needs 1 or 3 channels, got %d", img.c)
	}
	return blendGray(ctx, x, img, t["factor"], c.clip)
}
