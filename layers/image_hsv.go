package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/runtime"
)

// The colour conversions of RandomSaturation and RandomHue: TensorFlow's
// RGBToHSV and HSVToRGB kernels (colorspace_op.h), computed per pixel in
// float64 on numbers that carry their derivatives in the pixel's three
// input channels, so that the backward pass is the exact Jacobian of the
// same branches the forward pass took.

// dual is a value and its derivatives in the three channels of a pixel.
type dual struct {
	v float64
	d [3]float64
}

func constant(v float64) dual { return dual{v: v} }

func (a dual) add(b dual) dual {
	return dual{a.v + b.v, [3]float64{a.d[0] + b.d[0], a.d[1] + b.d[1], a.d[2] + b.d[2]}}
}

func (a dual) sub(b dual) dual { return a.add(b.scale(-1)) }

func (a dual) scale(k float64) dual {
	return dual{a.v * k, [3]float64{a.d[0] * k, a.d[1] * k, a.d[2] * k}}
}

func (a dual) mul(b dual) dual {
	return dual{a.v * b.v, [3]float64{a.d[0]*b.v + a.v*b.d[0], a.d[1]*b.v + a.v*b.d[1], a.d[2]*b.v + a.v*b.d[2]}}
}

func (a dual) div(b dual) dual {
	q := a.v / b.v
	return dual{q, [3]float64{(a.d[0] - q*b.d[0]) / b.v, (a.d[1] - q*b.d[1]) / b.v, (a.d[2] - q*b.d[2]) / b.v}}
}

func (a dual) abs() dual {
	if a.v < 0 {
		return a.scale(-1)
	}
	return a
}

// clamp limits a to [lo, hi]; a clamped value has no derivative.
func (a dual) clamp(lo, hi float64) dual {
	switch {
	case a.v < lo:
		return constant(lo)
	case a.v > hi:
		return constant(hi)
	}
	return a
}

func maxDual(a, b dual) dual {
	if b.v > a.v {
		return b
	}
	return a
}

func minDual(a, b dual) dual {
	if b.v < a.v {
		return b
	}
	return a
}

// rgbToHSV is tf.image.rgb_to_hsv of one pixel.
func rgbToHSV(r, g, b dual) (h, s, v dual) {
	v = maxDual(maxDual(r, g), b)
	rng := v.sub(minDual(minDual(r, g), b))
	if v.v > 0 {
		s = rng.div(v)
	}
	if rng.v > 0 {
		norm := constant(1.0 / 6).div(rng)
		switch {
		case r.v == v.v:
			h = norm.mul(g.sub(b))
		case g.v == v.v:
			h = norm.mul(b.sub(r)).add(constant(2.0 / 6))
		default:
			h = norm.mul(r.sub(g)).add(constant(4.0 / 6))
		}
	}
	if h.v < 0 {
		h = h.add(constant(1))
	}
	return h, s, v
}

// hsvToRGB is tf.image.hsv_to_rgb of one pixel.
func hsvToRGB(h, s, v dual) (r, g, b dual) {
	dh := h.scale(6)
	dr := dh.sub(constant(3)).abs().sub(constant(1)).clamp(0, 1)
	dg := constant(2).sub(dh.sub(constant(2)).abs()).clamp(0, 1)
	db := constant(2).sub(dh.sub(constant(4)).abs()).clamp(0, 1)
	oneS := constant(1).sub(s)
	return oneS.add(s.mul(dr)).mul(v), oneS.add(s.mul(dg)).mul(v), oneS.add(s.mul(db)).mul(v)
}

// mapRGB applies f to every RGB pixel of image b and returns the result
// and its backward pass (each pixel's 3×3 Jacobian, kept from the forward
// pass).
func mapRGB(ctx *runtime.Context, x *runtime.Tensor, img imageShape, f func(b int, rgb [3]dual) [3]dual) ([]*runtime.Tensor, runtime.Backward, error) {
	if img.c != 3 {
		return nil, nil, fmt.Errorf("the HSV conversion needs 3 channels, got %d", img.c)
	}
	y := runtime.NewTensor(x.Shape...)
	hw := img.h * img.w
	var jac [][9]float32
	if ctx.Grad {
		jac = make([][9]float32, img.n*hw)
	}
	for b := range img.n {
		for p := range hw {
			var in [3]dual
			for ch := range 3 {
				in[ch] = dual{v: float64(x.Data[img.offset(b, p, ch)])}
				in[ch].d[ch] = 1
			}
			out := f(b, in)
			for ch := range 3 {
				y.Data[img.offset(b, p, ch)] = float32(out[ch].v)
				if jac != nil {
					for k := range 3 {
						jac[b*hw+p][ch*3+k] = float32(out[ch].d[k])
					}
				}
			}
		}
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gx := runtime.NewTensor(x.Shape...)
		for b := range img.n {
			for p := range hw {
				j := &jac[b*hw+p]
				for k := range 3 {
					var s float64
					for ch := range 3 {
						s += float64(j[ch*3+k]) * float64(g[0].Data[img.offset(b, p, ch)])
					}
					gx.Data[img.offset(b, p, k)] = float32(s)
				}
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}

// toRange is toValueRange on a dual.
func (a dual) toRange(lo, hi, toLo, toHi float64) dual {
	if lo == toLo && hi == toHi {
		return a
	}
	return a.sub(constant(lo)).scale((toHi - toLo) / (hi - lo)).add(constant(toLo))
}
