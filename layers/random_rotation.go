package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomRotation is keras.layers.RandomRotation: in training each image is
// rotated about its center by an angle uniform in [lower, upper] turns
// (factor, in [-1, 1]; a number f means [-f, f]), warped as
// ops.image.affine_transform does.
type randomRotation struct {
	lower, upper float64
	warp         imageWarp
}

func init() { Register("RandomRotation", newRandomRotation, Supports{Inference: true, Training: true}) }

func newRandomRotation(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		rot := &randomRotation{warp: readImageWarp(r)}
		rot.lower, rot.upper = readBaseFactor(r, "factor", -1, 1)
		return rot, nil
	})
}

func (rot *randomRotation) draw(r *rand.Rand, img imageShape) transformation {
	return transformation{"angle": uniform(r, img.n, rot.lower*360, rot.upper*360)}
}

func (rot *randomRotation) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	m := make([][8]float32, img.n)
	for b, a := range t["angle"] {
		m[b] = affineMatrix(0.5, 0.5, float32(a), 0, 0, 1, 0, 0, img.h, img.w)
	}
	return rot.warp.warpImages(ctx, x, img, m)
}
