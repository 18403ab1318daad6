package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomErasing is keras.layers.RandomErasing: in training each image,
// when a uniform draw falls below a probability itself uniform in
// factor's range (within [0, 1]; a number f means [0, f]), has a box
// replaced by fill_value: the box's sides are sqrt of draws uniform in
// scale's range times the image's width and height. With no fill_value
// the fill is normal noise times value_range[1]; it is clipped to
// value_range.
type randomErasing struct {
	lower, upper           float64
	scaleLower, scaleUpper float64
	fill                   []float64 // nil: noise; one value, or one per channel
	lo, hi                 float64   // value_range
}

func init() { Register("RandomErasing", newRandomErasing, Supports{Inference: true, Training: true}) }

func newRandomErasing(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		e := &randomErasing{lower: 0, upper: 1, scaleLower: 0.02, scaleUpper: 0.33}
		if spec.Config.Has("factor") {
			e.lower, e.upper = readBaseFactor(r, "factor", 0, 1)
		}
		if spec.Config.Has("scale") {
			e.scaleLower, e.scaleUpper = readBaseFactor(r, "scale", 0, 1)
		}
		fill, ok, err := spec.Config.Floats("fill_value")
		if err != nil {
			r.fail("fill_value", err)
		}
		if ok {
			r.check(len(fill) == 1 || len(fill) == 3, "fill_value", "want a number or 3 numbers, got %d", len(fill))
			e.fill = fill
		}
		e.lo, e.hi = readValueRange(r)
		return e, nil
	})
}

// draw returns the boxes ("x0", "x1", "y0", "y1"), "apply_erasing" and
// "fill_value" (the image batch's shape, clipped).
func (e *randomErasing) draw(r *rand.Rand, img imageShape) transformation {
	mix := uniform(r, 2*img.n, e.scaleLower, e.scaleUpper)
	wr, hr := make([]float64, img.n), make([]float64, img.n)
	for b := range img.n {
		wr[b], hr[b] = math.Sqrt(float64(float32(mix[2*b]))), math.Sqrt(float64(float32(mix[2*b+1])))
	}
	t := drawBoxes(r, img, wr, hr)
	p := uniform(r, img.n, e.lower, e.upper)
	u := uniform(r, img.n, 0, 1)
	apply := make([]float64, img.n)
	for b := range apply {
		if u[b] < p[b] {
			apply[b] = 1
		}
	}
	t["apply_erasing"] = apply
	fill := make([]float64, img.n*img.h*img.w*img.c)
	for b := range img.n {
		for p := range img.h * img.w {
			for ch := range img.c {
				var v float64
				switch {
				case e.fill == nil:
					v = float64(float32(r.NormFloat64()) * float32(e.hi))
				case len(e.fill) == 1:
					v = e.fill[0]
				default:
					// full_like broadcasts the three values along the last axis.
					v = e.fill[lastAxisIndex(img, p, ch)%3]
				}
				fill[img.offset(b, p, ch)] = min(max(v, e.lo), e.hi)
			}
		}
	}
	t["fill_value"] = fill
	return t
}

// lastAxisIndex is the index along the batch's last axis of channel ch of
// pixel p.
func lastAxisIndex(img imageShape, p, ch int) int {
	if img.channelsFirst {
		return p % img.w
	}
	return ch
}

func (e *randomErasing) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	if last := x.Shape[3]; len(e.fill) == 3 && last != 3 {
		return nil, nil, fmt.Errorf("fill_value has 3 values but the images' last axis has %d", last)
	}
	y := x.Clone()
	d := make([]float32, len(x.Data))
	for b := range img.n {
		for p := range img.h * img.w {
			erase := t["apply_erasing"][b] != 0 && inBox(t, img, b, p)
			for ch := range img.c {
				i := img.offset(b, p, ch)
				if erase {
					y.Data[i] = float32(t["fill_value"][i])
				} else {
					d[i] = 1
				}
			}
		}
	}
	return multiplyGrad(ctx, x, y, d)
}
