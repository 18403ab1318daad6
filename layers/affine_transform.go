package layers

import (
	"math"

	"github.com/kerasrun/kerasrun/runtime"
)

// Keras's ops.image.affine_transform on the TensorFlow backend, that is
// TensorFlow's ImageProjectiveTransformV3 kernel (image_ops.h), in float32
// as TensorFlow computes it. RandomRotation, RandomZoom, RandomTranslation
// and RandomShear warp their images with it.

// fillMode says how a warp reads outside the input image.
type fillMode int

const (
	fillReflect  fillMode = iota // dcba|abcd|dcba
	fillWrap                     // abcd|abcd|abcd
	fillConstant                 // fill_value
	fillNearest                  // aaaa|abcd|dddd
)

var fillModes = map[string]fillMode{"reflect": fillReflect, "wrap": fillWrap, "constant": fillConstant, "nearest": fillNearest}

// imageWarp is the fill and interpolation arguments of a warping layer.
type imageWarp struct {
	mode    fillMode
	nearest bool // interpolation "nearest", else "bilinear"
	fill    float32
}

// readImageWarp reads fill_mode (default reflect), interpolation (default
// bilinear) and fill_value.
func readImageWarp(r *argReader) imageWarp {
	var w imageWarp
	fm := r.String("fill_mode", "reflect")
	m, ok := fillModes[fm]
	r.check(ok, "fill_mode", "want reflect, wrap, constant or nearest, got %q", fm)
	w.mode = m
	switch interp := r.String("interpolation", "bilinear"); interp {
	case "bilinear":
	case "nearest":
		w.nearest = true
	default:
		r.check(false, "interpolation", "want bilinear or nearest, got %q", interp)
	}
	w.fill = float32(r.Float("fill_value", 0))
	return w
}

// mapCoordinate maps an input coordinate outside [0, n-1] into it, as
// TensorFlow's MapCoordinate (after scipy's ni_interpolation.c).
func mapCoordinate(mode fillMode, in float32, n int) float32 {
	fn := float32(n)
	switch mode {
	case fillConstant:
		return in
	case fillReflect:
		if in < 0 {
			if n <= 1 {
				in = 0
			} else {
				sz2 := int64(2 * n)
				if in < float32(sz2) {
					in = float32(sz2*int64(-in/float32(sz2))) + in
				}
				if in < -fn {
					in += float32(sz2)
				} else {
					in = -in - 1
				}
			}
		} else if in > fn-1 {
			if n <= 1 {
				in = 0
			} else {
				sz2 := int64(2 * n)
				in -= float32(sz2 * int64(in/float32(sz2)))
				if in >= fn {
					in = float32(sz2) - in - 1
				}
			}
		}
	case fillWrap:
		if in < 0 {
			if n <= 1 {
				in = 0
			} else {
				sz := int64(n - 1)
				in += float32(int64(n) * (int64(-in/float32(sz)) + 1))
			}
		} else if in > fn-1 {
			if n <= 1 {
				in = 0
			} else {
				sz := int64(n - 1)
				in -= float32(int64(n) * int64(in/float32(sz)))
			}
		}
	}
	return min(max(in, 0), fn-1)
}

// warpTap is what one output pixel reads: nothing (the fill value, for a
// point at infinity), one input pixel (nearest) or four (bilinear: idx
// holds (y0, x0), (y0, x1), (y1, x0), (y1, x1); wx and wy are the weights
// of x0, x1 and y0, y1). An index is -1 outside the image, where the warp
// reads fill_value: only fill_mode constant leaves coordinates outside,
// and then a bilinear read near the border blends the fill value in.
type warpTap struct {
	kind   int // tapFill, tapNearest, tapBilinear
	idx    [4]int
	wx, wy [2]float32
}

const (
	tapFill = iota
	tapNearest
	tapBilinear
)

// tap computes what output pixel (ox, oy) of an h×w image reads under the
// projective transform t (a0 a1 a2 b0 b1 b2 c0 c1: the input point of
// output (x, y) is ((a0 x + a1 y + a2)/k, (b0 x + b1 y + b2)/k),
// k = c0 x + c1 y + 1).
func (w imageWarp) tap(t *[8]float32, ox, oy, h, wd int) warpTap {
	fx, fy := float32(ox), float32(oy)
	k := float32(t[6]*fx) + float32(t[7]*fy) + 1
	if k == 0 {
		return warpTap{kind: tapFill}
	}
	inX := (float32(t[0]*fx) + float32(t[1]*fy) + t[2]) / k
	inY := (float32(t[3]*fx) + float32(t[4]*fy) + t[5]) / k
	x := mapCoordinate(w.mode, inX, wd)
	y := mapCoordinate(w.mode, inY, h)
	at := func(yi, xi float64) int {
		if yi < 0 || yi >= float64(h) || xi < 0 || xi >= float64(wd) {
			return -1
		}
		return int(yi)*wd + int(xi)
	}
	if w.nearest {
		return warpTap{kind: tapNearest, idx: [4]int{at(math.Round(float64(y)), math.Round(float64(x))), -1, -1, -1}}
	}
	y0, x0 := float32(math.Floor(float64(y))), float32(math.Floor(float64(x)))
	y1, x1 := y0+1, x0+1
	return warpTap{
		kind: tapBilinear,
		idx:  [4]int{at(float64(y0), float64(x0)), at(float64(y0), float64(x1)), at(float64(y1), float64(x0)), at(float64(y1), float64(x1))},
		wx:   [2]float32{x1 - x, x - x0},
		wy:   [2]float32{y1 - y, y - y0},
	}
}

// warpImages applies one projective transform per image (transforms[b]),
// as TensorFlow's ImageProjectiveTransformV3 with the output the input's
// size, and returns the backward pass (the transpose of the warp).
func (w imageWarp) warpImages(ctx *runtime.Context, x *runtime.Tensor, img imageShape, transforms [][8]float32) ([]*runtime.Tensor, runtime.Backward, error) {
	y := runtime.NewTensor(x.Shape...)
	for b := range img.n {
		for oy := range img.h {
			for ox := range img.w {
				tp := w.tap(&transforms[b], ox, oy, img.h, img.w)
				p := oy*img.w + ox
				read := func(i, ch int) float32 {
					if i < 0 {
						return w.fill
					}
					return x.Data[img.offset(b, i, ch)]
				}
				for ch := range img.c {
					var v float32
					switch tp.kind {
					case tapFill:
						v = w.fill
					case tapNearest:
						v = read(tp.idx[0], ch)
					case tapBilinear:
						top := float32(tp.wx[0]*read(tp.idx[0], ch)) + float32(tp.wx[1]*read(tp.idx[1], ch))
						bottom := float32(tp.wx[0]*read(tp.idx[2], ch)) + float32(tp.wx[1]*read(tp.idx[3], ch))
						v = float32(tp.wy[0]*top) + float32(tp.wy[1]*bottom)
					}
					y.Data[img.offset(b, p, ch)] = v
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
			for oy := range img.h {
				for ox := range img.w {
					tp := w.tap(&transforms[b], ox, oy, img.h, img.w)
					p := oy*img.w + ox
					for ch := range img.c {
						gv := g[0].Data[img.offset(b, p, ch)]
						switch tp.kind {
						case tapNearest:
							if tp.idx[0] >= 0 {
								gx.Data[img.offset(b, tp.idx[0], ch)] += gv
							}
						case tapBilinear:
							for k, i := range tp.idx {
								if i >= 0 {
									gx.Data[img.offset(b, i, ch)] += gv * tp.wy[k/2] * tp.wx[k%2]
								}
							}
						}
					}
				}
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}

// affineMatrix is Keras's BaseImagePreprocessingLayer._compute_affine_matrix
// for one image: scale, shear (degrees) and rotation (degrees) about the
// point (cx*(w-1), cy*(h-1)), then the translation (pixels), in float32.
func affineMatrix(cx, cy, angle, tx, ty, scale, shearX, shearY float32, h, w int) [8]float32 {
	rad := float32(math.Pi / 180)
	angle, shearX, shearY = angle*rad, shearX*rad, shearY*rad
	px, py := cx*float32(w-1), cy*float32(h-1)
	cos, sin := float32(math.Cos(float64(angle))), float32(math.Sin(float64(angle)))
	shx, shy := float32(math.Tan(float64(shearX))), float32(math.Tan(float64(shearY)))
	a0 := scale * (cos + float32(shx*sin))
	a1 := scale * (-sin + float32(shx*cos))
	a2 := tx + px - float32(px*a0) - float32(py*a1)
	b0 := scale * (float32(shy*cos) + sin)
	b1 := scale * (float32(shy*-sin) + cos)
	b2 := ty + py - float32(px*b0) - float32(py*b1)
	return [8]float32{a0, a1, a2, b0, b1, b2, 0, 0}
}
