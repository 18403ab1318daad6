package layers

import (
	"math"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomPerspective is keras.layers.RandomPerspective: in training each
// image, when a uniform draw falls below a probability itself uniform in
// factor's range (within [0, 1]; a number f means [0, f]), is warped by
// the homography that moves its corners p to p + p*d, d uniform in
// [-scale/2, scale/2] per coordinate (ops.image.perspective_transform:
// fill_mode constant with fill_value).
type randomPerspective struct {
	lower, upper float64
	scale        float64
	warp         imageWarp
}

func init() {
	Register("RandomPerspective", newRandomPerspective, Supports{Inference: true, Training: true})
}

func newRandomPerspective(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		p := &randomPerspective{lower: 0, upper: 1, scale: r.Float("scale", 1)}
		if spec.Config.Has("factor") {
			p.lower, p.upper = readBaseFactor(r, "factor", 0, 1)
		}
		r.check(p.scale >= 0 && p.scale <= 1, "scale", "want a number in [0, 1], got %v", p.scale)
		p.warp.mode = fillConstant
		p.warp.fill = float32(r.Float("fill_value", 0))
		switch interp := r.String("interpolation", "bilinear"); interp {
		case "bilinear":
		case "nearest":
			p.warp.nearest = true
		default:
			r.check(false, "interpolation", "want bilinear or nearest, got %q", interp)
		}
		return p, nil
	})
}

// corners are Keras's start points: (0, 0), (w-1, 0), (0, h-1), (w-1, h-1).
func corners(img imageShape) [8]float64 {
	w, h := float64(img.w-1), float64(img.h-1)
	return [8]float64{0, 0, w, 0, 0, h, w, h}
}

// draw returns "apply_perspective" and "end_points" (batch, 4, 2).
func (p *randomPerspective) draw(r *rand.Rand, img imageShape) transformation {
	prob := uniform(r, img.n, p.lower, p.upper)
	u := uniform(r, img.n, 0, 1)
	apply := make([]float64, img.n)
	for b := range apply {
		if u[b] < prob[b] {
			apply[b] = 1
		}
	}
	d := uniform(r, 8*img.n, -0.5*p.scale, 0.5*p.scale)
	start := corners(img)
	end := make([]float64, 8*img.n)
	for i := range end {
		s := float32(start[i%8])
		end[i] = float64(s + s*float32(d[i]))
	}
	return transformation{"apply_perspective": apply, "end_points": end}
}

// homography solves for the projective transform mapping the output
// points end to the input points start (Keras's compute_homography_matrix,
// an 8×8 system; solved here in float64 with partial pivoting).
func homography(start [8]float64, end []float64) [8]float32 {
	var a [8][9]float64
	for k := range 4 {
		sx, sy, ex, ey := start[2*k], start[2*k+1], end[2*k], end[2*k+1]
		a[2*k] = [9]float64{ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey, sx}
		a[2*k+1] = [9]float64{0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey, sy}
	}
	for col := range 8 {
		pivot := col
		for row := col + 1; row < 8; row++ {
			if math.Abs(a[row][col]) > math.Abs(a[pivot][col]) {
				pivot = row
			}
		}
		a[col], a[pivot] = a[pivot], a[col]
		for row := range 8 {
			if row == col || a[col][col] == 0 {
				continue
			}
			f := a[row][col] / a[col][col]
			for k := col; k < 9; k++ {
				a[row][k] -= f * a[col][k]
			}
		}
	}
	var m [8]float32
	for i := range m {
		m[i] = float32(a[i][8] / a[i][i])
	}
	return m
}

func (p *randomPerspective) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	m := make([][8]float32, img.n)
	start := corners(img)
	for b := range m {
		if t["apply_perspective"][b] != 0 {
			m[b] = homography(start, t["end_points"][8*b:8*b+8])
		} else {
			m[b] = [8]float32{1, 0, 0, 0, 1, 0, 0, 0} // the identity warp reads each pixel exactly
		}
	}
	return p.warp.warpImages(ctx, x, img, m)
}
