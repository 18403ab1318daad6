package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomShear is keras.layers.RandomShear: in training each image is
// sheared about its top-left corner (Keras's matrix has no centering) by
// x and y factors uniform in x_factor's and y_factor's ranges (a number f
// means [-f, f]), both negated for half the images, warped as
// ops.image.affine_transform does.
type randomShear struct {
	xLower, xUpper, yLower, yUpper float64
	warp                           imageWarp
}

func init() { Register("RandomShear", newRandomShear, Supports{Inference: true, Training: true}) }

func newRandomShear(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		s := &randomShear{warp: readImageWarp(r)}
		// Keras takes numbers in [0, 1] but saves a number f as the pair
		// (-f, f), which its own check then refuses on loading; kerasrun
		// reads the saved pair.
		inRange := func(f float64) bool { return f >= -1 && f <= 1 }
		s.xLower, s.xUpper, _ = readRangeFactor(r, "x_factor", inRange, "[-1, 1]")
		s.yLower, s.yUpper, _ = readRangeFactor(r, "y_factor", inRange, "[-1, 1]")
		return s, nil
	})
}

// draw returns "shear_factor", (batch, 2): the x then the y factor.
func (s *randomShear) draw(r *rand.Rand, img imageShape) transformation {
	invert := uniform(r, img.n, 0, 1)
	ys := uniform(r, img.n, s.yLower, s.yUpper)
	xs := uniform(r, img.n, s.xLower, s.xUpper)
	f := make([]float64, 2*img.n)
	for b := range img.n {
		sign := 1.0
		if invert[b] > 0.5 {
			sign = -1
		}
		f[2*b], f[2*b+1] = float64(float32(xs[b]))*sign, float64(float32(ys[b]))*sign
	}
	return transformation{"shear_factor": f}
}

func (s *randomShear) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	m := make([][8]float32, img.n)
	for b := range m {
		m[b] = [8]float32{1, float32(t["shear_factor"][2*b]), 0, float32(t["shear_factor"][2*b+1]), 1, 0, 0, 0}
	}
	return s.warp.warpImages(ctx, x, img, m)
}
