package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomSharpness is keras.layers.RandomSharpness: in training each image
// x becomes x + (1 - 2f)(smooth(x) - x), smooth the 3×3 filter
// [1 1 1; 1 5 1; 1 1 1]/13 zero-padded, f uniform in factor's range
// (within [0, 1]; a number f means [0, f]), clipped to value_range.
type randomSharpness struct {
	lower, upper float64
	lo, hi       float32 // value_range, sorted
}

func init() {
	Register("RandomSharpness", newRandomSharpness, Supports{Inference: true, Training: true})
}

var sharpnessKernel = []float32{1. / 13, 1. / 13, 1. / 13, 1. / 13, 5. / 13, 1. / 13, 1. / 13, 1. / 13, 1. / 13}

func newRandomSharpness(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		s := &randomSharpness{}
		s.lower, s.upper = readBaseFactor(r, "factor", 0, 1)
		lo, hi := readValueRange(r)
		s.lo, s.hi = float32(min(lo, hi)), float32(max(lo, hi))
		return s, nil
	})
}

func (s *randomSharpness) draw(r *rand.Rand, img imageShape) transformation {
	return transformation{"factor": uniform(r, img.n, s.lower, s.upper)}
}

func (s *randomSharpness) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	smooth := filterImages(x.Data, img, sharpnessKernel, 3, 3)
	y := runtime.NewTensor(x.Shape...)
	per := len(x.Data) / max(img.n, 1)
	k := make([]float32, img.n) // 1 - 2f per image
	for b := range img.n {
		k[b] = 1 - float32(t["factor"][b])*2
		for i := b * per; i < (b+1)*per; i++ {
			y.Data[i] = x.Data[i] + float32(k[b]*(smooth[i]-x.Data[i]))
		}
	}
	kept := clipTo(y.Data, s.lo, s.hi)
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		// y = (1-k) x + k smooth(x) where kept.
		gk := make([]float32, len(x.Data))
		for i, v := range g[0].Data {
			if kept[i] {
				gk[i] = v * k[i/per]
			}
		}
		gx := runtime.NewTensor(x.Shape...)
		copy(gx.Data, filterImagesGrad(gk, img, sharpnessKernel, 3, 3))
		for i, v := range g[0].Data {
			if kept[i] {
				gx.Data[i] += v * (1 - k[i/per])
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
