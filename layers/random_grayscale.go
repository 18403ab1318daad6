package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomGrayscale is keras.layers.RandomGrayscale: in training each image
// is, with probability factor (in [0, 1], default 0.5), replaced by its
// luma (ops.image.rgb_to_grayscale) in every channel.
type randomGrayscale struct {
	factor float64
}

func init() {
	Register("RandomGrayscale", newRandomGrayscale, Supports{Inference: true, Training: true})
}

func newRandomGrayscale(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		g := &randomGrayscale{factor: r.Float("factor", 0.5)}
		r.check(g.factor >= 0 && g.factor <= 1, "factor", "want a number in [0, 1], got %v", g.factor)
		return g, nil
	})
}

func (g *randomGrayscale) draw(r *rand.Rand, img imageShape) transformation {
	apply := uniform(r, img.n, 0, 1)
	for i, u := range apply {
		apply[i] = 0
		if u < g.factor {
			apply[i] = 1
		}
	}
	return transformation{"should_apply": apply}
}

func (g *randomGrayscale) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	if img.c != 1 && img.c != 3 {
		return nil, nil, fmt.Errorf("rgb_to_grayscale needs 1 or 3 channels, got %d", img.c)
	}
	return blendGray(ctx, x, img, t["should_apply"], nil)
}

// grayWeights are ops.image.rgb_to_grayscale's (tf.image's) luma weights.
var grayWeights = [3]float32{0.2989, 0.5870, 0.1140}

// blendGray returns x + f*(gray(x) - x) per image (f[b]; 1 is the gray
// image), clipped to [clip[0], clip[1]] when clip is given, and its
// backward pass. A one-channel image is its own gray image.
func blendGray(ctx *runtime.Context, x *runtime.Tensor, img imageShape, f []float64, clip []float32) ([]*runtime.Tensor, runtime.Backward, error) {
	y := runtime.NewTensor(x.Shape...)
	hw := img.h * img.w
	gray := func(b, p int) float32 {
		if img.c == 1 {
			return x.Data[img.offset(b, p, 0)]
		}
		return float32(x.Data[img.offset(b, p, 0)]*grayWeights[0]) + float32(x.Data[img.offset(b, p, 1)]*grayWeights[1]) + float32(x.Data[img.offset(b, p, 2)]*grayWeights[2])
	}
	for b := range img.n {
		fb := float32(f[b])
		for p := range hw {
			gv := gray(b, p)
			for ch := range img.c {
				i := img.offset(b, p, ch)
				if fb == 1 && clip == nil {
					y.Data[i] = gv // numpy.where(should_apply, gray, images)
				} else {
					y.Data[i] = x.Data[i] + float32(fb*(gv-x.Data[i]))
				}
			}
		}
	}
	var kept []bool
	if clip != nil {
		kept = clipTo(y.Data, clip[0], clip[1])
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		for b := range img.n {
			fb := f[b]
			for p := range hw {
				// y_ch = (1-f) x_ch + f gray, gray = sum_k w_k x_k.
				var sum float64
				for ch := range img.c {
					if i := img.offset(b, p, ch); kept == nil || kept[i] {
						sum += float64(g[0].Data[i])
					}
				}
				for k := range img.c {
					i := img.offset(b, p, k)
					w := 1.0
					if img.c == 3 {
						w = float64(grayWeights[k])
					}
					v := fb * w * sum
					if kept == nil || kept[i] {
						v += (1 - fb) * float64(g[0].Data[i])
					}
					gx.Data[i] = float32(v)
				}
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
