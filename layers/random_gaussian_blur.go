package layers

import (
	"math"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomGaussianBlur is keras.layers.RandomGaussianBlur: in training each
// image is blurred (ops.image.gaussian_blur) when a uniform draw falls
// below a probability itself uniform in factor's range (within [0, 1]; a
// number f means [0, f]), with one pair of sigmas for the batch, each
// uniform in sigma's range plus 1e-6; every image is then clipped to
// value_range.
type randomGaussianBlur struct {
	lower, upper           float64
	sigmaLower, sigmaUpper float64
	kh, kw                 int
	lo, hi                 float32 // value_range
}

func init() {
	Register("RandomGaussianBlur", newRandomGaussianBlur, Supports{Inference: true, Training: true})
}

func newRandomGaussianBlur(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		g := &randomGaussianBlur{lower: 0, upper: 1, sigmaLower: 0, sigmaUpper: 1}
		if spec.Config.Has("factor") {
			g.lower, g.upper = readBaseFactor(r, "factor", 0, 1)
		}
		if spec.Config.Has("sigma") {
			g.sigmaLower, g.sigmaUpper = readBaseFactor(r, "sigma", 0, 1)
		}
		ks := r.Ints("kernel_size", 2, []int{3, 3})
		if len(ks) == 2 {
			g.kh, g.kw = ks[0], ks[1]
		}
		r.check(g.kh > 0 && g.kw > 0 && g.kh%2 == 1 && g.kw%2 == 1, "kernel_size", "want odd positive sizes, got %v", ks)
		lo, hi := readValueRange(r)
		g.lo, g.hi = float32(lo), float32(hi)
		return g, nil
	})
}

func (g *randomGaussianBlur) draw(r *rand.Rand, img imageShape) transformation {
	p := uniform(r, img.n, g.lower, g.upper)
	u := uniform(r, img.n, 0, 1)
	apply := make([]float64, img.n)
	for b := range apply {
		if u[b] < p[b] {
			apply[b] = 1
		}
	}
	sigma := uniform(r, 2, g.sigmaLower, g.sigmaUpper)
	for i := range sigma {
		sigma[i] = float64(float32(sigma[i]) + 1e-6)
	}
	return transformation{"should_apply_blur": apply, "blur_factor": sigma}
}

// gaussianKernel is ops.image.gaussian_blur's kernel: the outer product of
// the 1-D kernels of (kw, sigma[1]) and (kh, sigma[0]) (each
// exp(-x²/2σ²) normalized), laid out as kh×kw, as Keras reshapes it.
func gaussianKernel(kh, kw int, sigma []float64) []float32 {
	oneD := func(size int, s float32) []float32 {
		k := make([]float32, size)
		var sum float32
		for i := range k {
			x := (float32(i) - float32(size-1)/2) / s
			k[i] = float32(math.Exp(float64(-0.5 * x * x)))
			sum += k[i]
		}
		for i := range k {
			k[i] /= sum
		}
		return k
	}
	kx, ky := oneD(kh, float32(sigma[0])), oneD(kw, float32(sigma[1]))
	out := make([]float32, 0, kh*kw)
	for _, a := range ky {
		for _, b := range kx {
			out = append(out, a*b)
		}
	}
	return out
}

func (g *randomGaussianBlur) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	kernel := gaussianKernel(g.kh, g.kw, t["blur_factor"])
	blurred := filterImages(x.Data, img, kernel, g.kh, g.kw)
	y := x.Clone()
	per := len(x.Data) / max(img.n, 1)
	apply := t["should_apply_blur"]
	for b := range img.n {
		if apply[b] != 0 {
			copy(y.Data[b*per:(b+1)*per], blurred[b*per:(b+1)*per])
		}
	}
	kept := clipTo(y.Data, g.lo, g.hi)
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gr []*runtime.Tensor) ([]*runtime.Tensor, error) {
		masked := make([]float32, len(x.Data))
		for i, v := range gr[0].Data {
			if kept[i] {
				masked[i] = v
			}
		}
		throughBlur := filterImagesGrad(masked, img, kernel, g.kh, g.kw)
		gx := runtime.NewTensor(x.Shape...)
		for b := range img.n {
			src := masked
			if apply[b] != 0 {
				src = throughBlur
			}
			copy(gx.Data[b*per:(b+1)*per], src[b*per:(b+1)*per])
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}
