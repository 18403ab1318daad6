package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomColorJitter is keras.layers.RandomColorJitter: in training
// RandomBrightness, RandomContrast, RandomSaturation and RandomHue, each
// made from its *_factor when given and value_range, transform the images
// in that order. As in Keras 3, the four are built without the layer's
// data_format, so they treat the images as channels_last.
type randomColorJitter struct {
	parts []jitterPart
}

// jitterPart is one of the chained layers; its transformation's keys are
// prefixed by name and "/".
type jitterPart struct {
	name string
	aug  augmenter
}

func init() {
	Register("RandomColorJitter", newRandomColorJitter, Supports{Inference: true, Training: true})
}

func newRandomColorJitter(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		j := &randomColorJitter{}
		lo, hi := readValueRange(r)
		if spec.Config.Has("brightness_factor") && spec.Config["brightness_factor"] != nil {
			br := &randomBrightness{lo: min(lo, hi), hi: max(lo, hi)}
			br.lower, br.upper = readBaseFactor(r, "brightness_factor", -1, 1)
			j.parts = append(j.parts, jitterPart{"brightness", br})
		}
		if spec.Config.Has("contrast_factor") && spec.Config["contrast_factor"] != nil {
			c := &randomContrast{lo: float32(lo), hi: float32(hi)}
			c.lower, c.upper = readBaseFactor(r, "contrast_factor", 0, 1)
			j.parts = append(j.parts, jitterPart{"contrast", c})
		}
		if spec.Config.Has("saturation_factor") && spec.Config["saturation_factor"] != nil {
			s := &randomSaturation{lo: min(lo, hi), hi: max(lo, hi)}
			s.lower, s.upper = readBaseFactor(r, "saturation_factor", -1, 1)
			j.parts = append(j.parts, jitterPart{"saturation", s})
		}
		if spec.Config.Has("hue_factor") && spec.Config["hue_factor"] != nil {
			h := &randomHue{lo: lo, hi: hi}
			h.lower, h.upper = readBaseFactor(r, "hue_factor", 0, 1)
			j.parts = append(j.parts, jitterPart{"hue", h})
		}
		return j, nil
	})
}

func (j *randomColorJitter) draw(r *rand.Rand, img imageShape) transformation {
	t := transformation{}
	for _, p := range j.parts {
		for k, v := range p.aug.draw(r, img) {
			t[p.name+"/"+k] = v
		}
	}
	return t
}

func (j *randomColorJitter) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	img = newImageShape(x.Shape, false)
	var backs []runtime.Backward
	for _, p := range j.parts {
		sub := transformation{}
		for k, v := range t {
			if len(k) > len(p.name) && k[:len(p.name)+1] == p.name+"/" {
				sub[k[len(p.name)+1:]] = v
			}
		}
		out, back, err := p.aug.apply(ctx, x, img, sub)
		if err != nil {
			return nil, nil, err
		}
		x, backs = out[0], append(backs, back)
	}
	if !ctx.Grad {
		return []*runtime.Tensor{x}, nil, nil
	}
	return []*runtime.Tensor{x}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		for i := len(backs) - 1; i >= 0; i-- {
			var err error
			if g, err = backs[i](g); err != nil {
				return nil, err
			}
		}
		return g, nil
	}, nil
}
