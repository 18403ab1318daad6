package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomZoom is keras.layers.RandomZoom: in training each image is scaled
// about its center by 1 + a factor uniform in height_factor's range (in
// (-1, 1]; positive zooms out), and width_factor's when given (else the
// same scale), warped as ops.image.affine_transform does.
type randomZoom struct {
	hLower, hUpper, wLower, wUpper float64
	hasWidth                       bool
	warp                           imageWarp
}

func init() { Register("RandomZoom", newRandomZoom, Supports{Inference: true, Training: true}) }

func newRandomZoom(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		z := &randomZoom{warp: readImageWarp(r)}
		inRange := func(f float64) bool { return f > -1 && f <= 1 }
		var ok bool
		z.hLower, z.hUpper, ok = readRangeFactor(r, "height_factor", inRange, "(-1, 1]")
		r.check(ok, "height_factor", "is required")
		z.wLower, z.wUpper, z.hasWidth = readRangeFactor(r, "width_factor", inRange, "(-1, 1]")
		return z, nil
	})
}

func (z *randomZoom) draw(r *rand.Rand, img imageShape) transformation {
	hz := uniform(r, img.n, 1+z.hLower, 1+z.hUpper)
	wz := hz
	if z.hasWidth {
		wz = uniform(r, img.n, 1+z.wLower, 1+z.wUpper)
	}
	return transformation{"height_zoom": hz, "width_zoom": wz}
}

func (z *randomZoom) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	m := make([][8]float32, img.n)
	for b := range m {
		zw, zh := float32(t["width_zoom"][b]), float32(t["height_zoom"][b])
		m[b] = [8]float32{zw, 0, (float32(img.w) - 1) / 2 * (1 - zw), 0, zh, (float32(img.h) - 1) / 2 * (1 - zh), 0, 0}
	}
	return z.warp.warpImages(ctx, x, img, m)
}
