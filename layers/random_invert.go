package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomInvert is keras.layers.RandomInvert: in training each image is
// replaced by value_range[1] - x when a uniform draw falls below a
// probability itself uniform in factor's range (within [0, 1]; a number f
// means [0, f], so the default 1 inverts half the images).
type randomInvert struct {
	lower, upper float64
	top          float32 // value_range[1]
}

func init() { Register("RandomInvert", newRandomInvert, Supports{Inference: true, Training: true}) }

func newRandomInvert(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		inv := &randomInvert{}
		if spec.Config.Has("factor") {
			inv.lower, inv.upper = readBaseFactor(r, "factor", 0, 1)
		} else {
			inv.lower, inv.upper = 0, 1
		}
		_, hi := readValueRange(r)
		inv.top = float32(hi)
		return inv, nil
	})
}

func (inv *randomInvert) draw(r *rand.Rand, img imageShape) transformation {
	p := uniform(r, img.n, inv.lower, inv.upper)
	u := uniform(r, img.n, 0, 1)
	apply := make([]float64, img.n)
	for b := range apply {
		if u[b] < p[b] {
			apply[b] = 1
		}
	}
	return transformation{"apply_inversion": apply}
}

func (inv *randomInvert) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	y := x.Clone()
	sign := make([]float32, len(x.Data))
	per := len(x.Data) / max(img.n, 1)
	for b := range img.n {
		s := float32(1)
		if t["apply_inversion"][b] != 0 {
			s = -1
			for i := b * per; i < (b+1)*per; i++ {
				y.Data[i] = inv.top - x.Data[i]
			}
		}
		for i := b * per; i < (b+1)*per; i++ {
			sign[i] = s
		}
	}
	return multiplyGrad(ctx, x, y, sign)
}

// multiplyGrad returns y and the backward pass g*d (d the elementwise
// derivative of y in x).
func multiplyGrad(ctx *runtime.Context, x, y *runtime.Tensor, d []float32) ([]*runtime.Tensor, runtime.Backward, error) {
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		for i, v := range g[0].Data {
			gx.Data[i] = v * d[i]
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
