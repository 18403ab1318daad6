package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomFlip is keras.layers.RandomFlip: in training each image is
// flipped with probability 1/2 (Keras: uniform <= 0.5). In mode
// horizontal_and_vertical one draw flips both axes together, as Keras
// does, not each axis on its own.
type randomFlip struct {
	horizontal, vertical bool
}

func init() { Register("RandomFlip", newRandomFlip, Supports{Inference: true, Training: true}) }

func newRandomFlip(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		f := &randomFlip{}
		switch mode := r.String("mode", "horizontal_and_vertical"); mode {
		case "horizontal":
			f.horizontal = true
		case "vertical":
			f.vertical = true
		case "horizontal_and_vertical":
			f.horizontal, f.vertical = true, true
		default:
			r.check(false, "mode", "want horizontal, vertical or horizontal_and_vertical, got %q", mode)
		}
		return f, nil
	})
}

func (f *randomFlip) draw(r *rand.Rand, img imageShape) transformation {
	flips := make([]float64, img.n)
	for i := range flips {
		if r.Float64() <= 0.5 {
			flips[i] = 1
		}
	}
	return transformation{"flips": flips}
}

func (f *randomFlip) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	flips := t["flips"]
	return remapPixels(ctx, x, img, func(b, p int) (int, int) {
		if flips[b] == 0 {
			return b, p
		}
		y, xx := p/img.w, p%img.w
		if f.horizontal {
			xx = img.w - 1 - xx
		}
		if f.vertical {
			y = img.h - 1 - y
		}
		return b, y*img.w + xx
	})
}
