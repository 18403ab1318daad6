package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// mixUp is keras.layers.MixUp: in training each image becomes
// w*x + (1-w)*x[perm], perm a random order of the batch and w drawn from
// Beta(alpha, alpha) per image. Inside a model only the images pass
// through the layer, so, as in Keras, the labels are not mixed.
type mixUp struct {
	alpha float64
}

func init() { Register("MixUp", newMixUp, Supports{Inference: true, Training: true}) }

func newMixUp(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		m := &mixUp{alpha: r.Float("alpha", 0.2)}
		r.check(m.alpha > 0, "alpha", "want a positive number, got %v", m.alpha)
		return m, nil
	})
}

func (m *mixUp) draw(r *rand.Rand, img imageShape) transformation {
	perm := permutation(r, img.n)
	w := make([]float64, img.n)
	for i := range w {
		w[i] = float64(float32(betaDraw(r, m.alpha)))
	}
	return transformation{"permutation_order": perm, "mix_weight": w}
}

func (m *mixUp) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	y := runtime.NewTensor(x.Shape...)
	per := len(x.Data) / max(img.n, 1)
	perm, w := t["permutation_order"], t["mix_weight"]
	for b := range img.n {
		wb, src := float32(w[b]), int(perm[b])*per
		for k := range per {
			y.Data[b*per+k] = float32(wb*x.Data[b*per+k]) + float32((1-wb)*x.Data[src+k])
		}
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		for b := range img.n {
			wb, src := float32(w[b]), int(perm[b])*per
			for k := range per {
				gv := g[0].Data[b*per+k]
				gx.Data[b*per+k] += wb * gv
				gx.Data[src+k] += (1 - wb) * gv
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
