package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomContrast is keras.layers.RandomContrast: in training each image's
// channels are scaled about their mean over height and width by a factor
// uniform in [1 - lower, 1 + upper], then clipped to value_range. factor
// is read as Keras 3 reads it, within [0, 1]: a number f gives lower 0 and
// upper f (so the contrast only grows), a pair (lower, upper).
type randomContrast struct {
	lower, upper float64
	lo, hi       float32 // value_range
}

func init() { Register("RandomContrast", newRandomContrast, Supports{Inference: true, Training: true}) }

func newRandomContrast(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		c := &randomContrast{}
		c.lower, c.upper = readBaseFactor(r, "factor", 0, 1)
		lo, hi := readValueRange(r)
		c.lo, c.hi = float32(lo), float32(hi)
		return c, nil
	})
}

func (c *randomContrast) draw(r *rand.Rand, img imageShape) transformation {
	return transformation{"contrast_factor": uniform(r, img.n, 1-c.lower, 1+c.upper)}
}

// apply computes clip((x - mean)*f + mean): with the clip's mask k, the
// gradient is f*k*g plus (1-f)/(h*w) times the channel's sum of k*g.
func (c *randomContrast) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	y := runtime.NewTensor(x.Shape...)
	hw := img.h * img.w
	for b := range img.n {
		f := float32(t["contrast_factor"][b])
		for ch := range img.c {
			var sum float64
			for p := range hw {
				sum += float64(x.Data[img.offset(b, p, ch)])
			}
			mean := float32(sum / float64(hw))
			for p := range hw {
				i := img.offset(b, p, ch)
				y.Data[i] = float32((x.Data[i]-mean)*f) + mean
			}
		}
	}
	kept := clipTo(y.Data, c.lo, c.hi)
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		for b := range img.n {
			f := t["contrast_factor"][b]
			for ch := range img.c {
				var sum float64
				for p := range hw {
					if i := img.offset(b, p, ch); kept[i] {
						sum += float64(g[0].Data[i])
					}
				}
				shared := (1 - f) * sum / float64(hw)
				for p := range hw {
					i := img.offset(b, p, ch)
					v := shared
					if kept[i] {
						v += f * float64(g[0].Data[i])
					}
					gx.Data[i] = float32(v)
				}
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
