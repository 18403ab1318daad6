package layers

import (
	"math"
	"math/rand/v2"
)

// What RandomErasing, CutMix and MixUp share: a box per image, a
// permutation of the batch, Beta draws.

// drawBoxes draws one box per image as Keras's _compute_crop_bounds does:
// its width is wRatio[b] times the image's, its height hRatio[b] times,
// placed uniformly (x0 = u*(w - width)); x then y.
func drawBoxes(r *rand.Rand, img imageShape, wRatio, hRatio []float64) transformation {
	t := transformation{"x0": make([]float64, img.n), "x1": make([]float64, img.n), "y0": make([]float64, img.n), "y1": make([]float64, img.n)}
	bounds := func(ratio []float64, n int, lo, hi []float64) {
		for b := range img.n {
			length := float32(ratio[b]) * float32(n)
			start := float32(r.Float64()) * (float32(n) - length)
			lo[b], hi[b] = float64(start), float64(start+length)
		}
	}
	bounds(wRatio, img.w, t["x0"], t["x1"])
	bounds(hRatio, img.h, t["y0"], t["y1"])
	return t
}

// inBox reports whether pixel p of image b is in the image's box
// (x0 <= x < x1, y0 <= y < y1).
func inBox(t transformation, img imageShape, b, p int) bool {
	x, y := float64(p%img.w), float64(p/img.w)
	return x >= float64(float32(t["x0"][b])) && x < float64(float32(t["x1"][b])) &&
		y >= float64(float32(t["y0"][b])) && y < float64(float32(t["y1"][b]))
}

// permutation draws a random order of the batch (keras.random.shuffle).
func permutation(r *rand.Rand, n int) []float64 {
	p := make([]float64, n)
	for i, v := range r.Perm(n) {
		p[i] = float64(v)
	}
	return p
}

// gammaDraw draws from Gamma(a, 1) (Marsaglia and Tsang; a < 1 boosted by
// U^(1/a)).
func gammaDraw(r *rand.Rand, a float64) float64 {
	if a < 1 {
		return gammaDraw(r, a+1) * math.Pow(r.Float64(), 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// betaDraw draws from Beta(a, a), as keras.random.beta: X/(X+Y) of two
// Gamma(a) draws.
func betaDraw(r *rand.Rand, a float64) float64 {
	x, y := gammaDraw(r, a), gammaDraw(r, a)
	if x+y == 0 {
		return 0.5
	}
	return x / (x + y)
}
