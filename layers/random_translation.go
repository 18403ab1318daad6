package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomTranslation is keras.layers.RandomTranslation: in training each
// image is shifted by a fraction of its height uniform in height_factor's
// range and of its width in width_factor's (each in [-1, 1]; a number f
// means [-f, f]), warped as ops.image.affine_transform does.
type randomTranslation struct {
	hLower, hUpper, wLower, wUpper float64
	warp                           imageWarp
}

func init() {
	Register("RandomTranslation", newRandomTranslation, Supports{Inference: true, Training: true})
}

func newRandomTranslation(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		tr := &randomTranslation{warp: readImageWarp(r)}
		inRange := func(f float64) bool { return f >= -1 && f <= 1 }
		var hok, wok bool
		tr.hLower, tr.hUpper, hok = readRangeFactor(r, "height_factor", inRange, "[-1, 1]")
		tr.wLower, tr.wUpper, wok = readRangeFactor(r, "width_factor", inRange, "[-1, 1]")
		r.check(hok, "height_factor", "is required")
		r.check(wok, "width_factor", "is required")
		return tr, nil
	})
}

// draw returns "translations", (batch, 2): the shift in pixels along the
// width, then the height.
func (tr *randomTranslation) draw(r *rand.Rand, img imageShape) transformation {
	hs := uniform(r, img.n, tr.hLower, tr.hUpper)
	ws := uniform(r, img.n, tr.wLower, tr.wUpper)
	t := make([]float64, 2*img.n)
	for b := range img.n {
		t[2*b] = float64(float32(ws[b]) * float32(img.w))
		t[2*b+1] = float64(float32(hs[b]) * float32(img.h))
	}
	return transformation{"translations": t}
}

func (tr *randomTranslation) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	m := make([][8]float32, img.n)
	for b := range m {
		m[b] = [8]float32{1, 0, -float32(t["translations"][2*b]), 0, 1, -float32(t["translations"][2*b+1]), 0, 0}
	}
	return tr.warp.warpImages(ctx, x, img, m)
}
