package kernels

import "math"

// PoolParams describes a 2-D pooling window over an NHWC batch. Zero strides
// mean the pool size (Keras's default).
type PoolParams struct {
	Batch, InH, InW, C int
	PoolH, PoolW       int
	StrideH, StrideW   int
	PadTop, PadBottom  int
	PadLeft, PadRight  int
}

func (p PoolParams) norm() PoolParams {
	if p.StrideH <= 0 {
		p.StrideH = p.PoolH
	}
	if p.StrideW <= 0 {
		p.StrideW = p.PoolW
	}
	return p
}

// OutH returns the output height.
func (p PoolParams) OutH() int {
	p = p.norm()
	return outSize(p.InH, p.PoolH, p.StrideH, 1, p.PadTop, p.PadBottom)
}

// OutW returns the output width.
func (p PoolParams) OutW() int {
	p = p.norm()
	return outSize(p.InW, p.PoolW, p.StrideW, 1, p.PadLeft, p.PadRight)
}

// MaxPool2D writes to out (Batch, OutH, OutW, C) the maximum of each window
// of in (Batch, InH, InW, C); padded positions are ignored. A window lying
// wholly in the padding gives -Inf.
func MaxPool2D(p PoolParams, in, out []float32) { maxPool2D(p, in, out, nil) }

// AvgPool2D writes to out (Batch, OutH, OutW, C) the mean of each window of
// in (Batch, InH, InW, C) over the positions inside the input, as Keras does
// for padding="same" (padded positions are not counted).
func AvgPool2D(p PoolParams, in, out []float32) { pool2D(p, in, out, true) }

// pool2D is the reference loop of both poolings; MaxPool2D runs maxPool2D,
// which gives the same bits.
func pool2D(p PoolParams, in, out []float32, avg bool) {
	p = p.norm()
	oh, ow, c := p.OutH(), p.OutW(), p.C
	if len(in) < p.Batch*p.InH*p.InW*c || len(out) < p.Batch*oh*ow*c {
		panic("kernels: pool2D: input or output too short")
	}
	for n := 0; n < p.Batch; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				o := out[((n*oh+y)*ow+x)*c : ((n*oh+y)*ow+x+1)*c]
				if avg {
					clear(o)
				} else {
					for i := range o {
						o[i] = float32(math.Inf(-1))
					}
				}
				count := 0
				for ky := 0; ky < p.PoolH; ky++ {
					iy := y*p.StrideH + ky - p.PadTop
					if iy < 0 || iy >= p.InH {
						continue
					}
					for kx := 0; kx < p.PoolW; kx++ {
						ix := x*p.StrideW + kx - p.PadLeft
						if ix < 0 || ix >= p.InW {
							continue
						}
						src := in[((n*p.InH+iy)*p.InW+ix)*c : ((n*p.InH+iy)*p.InW+ix+1)*c]
						count++
						if avg {
							for i, v := range src {
								o[i] += v
							}
						} else {
							for i, v := range src {
								if v > o[i] || v != v {
									o[i] = v
								}
							}
						}
					}
				}
				if avg && count > 0 {
					inv := 1 / float32(count)
					for i := range o {
						o[i] *= inv
					}
				}
			}
		}
	}
}

// MaxPool2DArgmax is MaxPool2D that also records, in arg (one value per
// output), where each maximum came from: the offset (iy*InW+ix)*C+c of the
// first window position holding the largest value, within its image, or -1
// for a window wholly in the padding. A NaN in a window makes the output NaN
// (as in MaxPool2D) but is never chosen as the argmax after the first
// position. The reference loop per output (n, y, x, c):
//
//	arg = -1
//	for each window position (iy, ix) inside the image, in row-major order:
//		if arg < 0 || in[n,iy,ix,c] > in[n][arg] { arg = (iy*InW+ix)*C + c }
func MaxPool2DArgmax(p PoolParams, in, out []float32, arg []int32) {
	p = p.norm()
	if len(arg) < p.Batch*p.OutH()*p.OutW()*p.C {
		panic("kernels: MaxPool2DArgmax: argmax too short")
	}
	maxPool2D(p, in, out, arg)
}

// orderKey maps a float32 to an int32 whose order is the order of the
// floats, with -0 and +0 equal: a comparison of keys is an integer compare,
// which compiles to a conditional move where a float compare would be an
// unpredictable branch. NaNs get keys beyond ±Inf; callers handle them
// apart.
func orderKey(v float32) int32 {
	b := int32(math.Float32bits(v))
	s := b >> 31
	return (b ^ (s & 0x7fffffff)) - s
}

// maxPool2D computes MaxPool2D, and the argmax when arg is not nil, one
// output pixel at a time (maxPoolPixel).
func maxPool2D(p PoolParams, in, out []float32, arg []int32) {
	p = p.norm()
	oh, ow, c := p.OutH(), p.OutW(), p.C
	img := p.InH * p.InW * c
	if len(in) < p.Batch*img || len(out) < p.Batch*oh*ow*c {
		panic("kernels: maxPool2D: input or output too short")
	}
	if int64(img) > 1<<31-1 {
		panic("kernels: maxPool2D: image too large for int32 offsets")
	}
	scratch := make([]int32, c+c)
	local, best := scratch[:c], scratch[c:]
	offs := make([]int32, 0, p.PoolH*p.PoolW)
	for n := 0; n < p.Batch; n++ {
		xb := in[n*img : (n+1)*img]
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				o0 := ((n*oh+y)*ow + x) * c
				o := out[o0 : o0+c]
				a := local
				if arg != nil {
					a = arg[o0 : o0+c]
				}
				offs = offs[:0]
				for ky := 0; ky < p.PoolH; ky++ {
					iy := y*p.StrideH + ky - p.PadTop
					if iy < 0 || iy >= p.InH {
						continue
					}
					for kx := 0; kx < p.PoolW; kx++ {
						if ix := x*p.StrideW + kx - p.PadLeft; ix >= 0 && ix < p.InW {
							offs = append(offs, int32((iy*p.InW+ix)*c))
						}
					}
				}
				if len(offs) == 0 {
					for i := range o {
						o[i], a[i] = float32(math.Inf(-1)), -1
					}
					continue
				}
				if !maxPoolPixel(xb, offs, o, a, best) {
					maxPoolNaN(&p, xb, x, y, o, a)
				}
			}
		}
	}
}

// maxPoolAsm is the AVX-512 maxPoolPixel, set by the amd64 start-up code.
var maxPoolAsm func(in *float32, offs *int32, npos int, out *float32, arg *int32, c int) int

// maxPoolPixel sets, for i < len(o), a[i] to the first offs[k]+i holding
// the largest (by ">") of xb[offs[k]+i] and o[i] to that value; the offsets
// lie inside xb. It reports false, leaving o and a unspecified, when a NaN
// was read. best is scratch of len(o). The reference loop:
//
//	a[i] = offs[0]+i
//	for k := 1; k < len(offs); k++ { if xb[offs[k]+i] > xb[a[i]] { a[i] = offs[k]+i } }
//	o[i] = xb[a[i]]
func maxPoolPixel(xb []float32, offs []int32, o []float32, a, best []int32) bool {
	c := len(o)
	if maxPoolAsm != nil && active >= levelAVX512 && c > 0 {
		return maxPoolAsm(&xb[0], &offs[0], len(offs), &o[0], &a[0], c) == 0
	}
	// Integer keys compare without branches (see orderKey); ±0 tie as
	// they do under ">".
	absMax := startKeys(xb[offs[0]:int(offs[0])+c], best, a, offs[0])
	for _, off := range offs[1:] {
		absMax = max(absMax, updateKeys(xb[off:int(off)+c], best, a, off))
	}
	if absMax > 0x7f800000 {
		return false
	}
	a = a[:c]
	for i := range o {
		o[i] = xb[a[i]]
	}
	return true
}

// startKeys sets bk[i] = orderKey(src[i]) and a[i] = off+i, and returns
// the largest |bits| of src.
func startKeys(src []float32, bk, a []int32, off int32) uint32 {
	bk, a = bk[:len(src)], a[:len(src)]
	var absMax uint32
	for i, v := range src {
		bk[i], a[i] = orderKey(v), off+int32(i)
		absMax = max(absMax, math.Float32bits(v)&0x7fffffff)
	}
	return absMax
}

// updateKeys moves bk[i] and a[i] to orderKey(src[i]) and off+i where that
// key is larger, without branches, and returns the largest |bits| of src.
func updateKeys(src []float32, bk, a []int32, off int32) uint32 {
	bk, a = bk[:len(src)], a[:len(src)]
	var absMax uint32
	for i, v := range src {
		k, old := orderKey(v), bk[i]
		m := int32((int64(old) - int64(k)) >> 63) // all ones when k > old
		bk[i] = old ^ ((old ^ k) & m)
		a[i] ^= (a[i] ^ (off + int32(i))) & m
		absMax = max(absMax, math.Float32bits(v)&0x7fffffff)
	}
	return absMax
}

// maxPoolNaN computes one output pixel (x, y) of an image whose window
// holds a NaN, by float comparisons: the output is NaN, the argmax the
// first largest value by ">" (a NaN only when it comes first).
func maxPoolNaN(p *PoolParams, xb []float32, x, y int, o []float32, a []int32) {
	c := p.C
	for i := range o {
		o[i], a[i] = float32(math.Inf(-1)), -1
	}
	for ky := 0; ky < p.PoolH; ky++ {
		iy := y*p.StrideH + ky - p.PadTop
		if iy < 0 || iy >= p.InH {
			continue
		}
		for kx := 0; kx < p.PoolW; kx++ {
			ix := x*p.StrideW + kx - p.PadLeft
			if ix < 0 || ix >= p.InW {
				continue
			}
			off := (iy*p.InW + ix) * c
			for i, v := range xb[off : off+c] {
				if a[i] < 0 || v > xb[a[i]] {
					a[i] = int32(off + i)
				}
				if v > o[i] || v != v {
					o[i] = v
				}
			}
		}
	}
}

// MaxPool2DGrad adds each output gradient dout[n,y,x,c] to din at the
// position MaxPool2DArgmax recorded: din[n][arg[n,y,x,c]] += dout[n,y,x,c]
// (nothing for -1). din (Batch, InH, InW, C) must hold the values to add to,
// zeros for a fresh gradient.
func MaxPool2DGrad(p PoolParams, dout []float32, arg []int32, din []float32) {
	p = p.norm()
	out, img := p.OutH()*p.OutW()*p.C, p.InH*p.InW*p.C
	if len(dout) < p.Batch*out || len(arg) < p.Batch*out || len(din) < p.Batch*img {
		panic("kernels: MaxPool2DGrad: output gradient, argmax or input gradient too short")
	}
	for n := 0; n < p.Batch; n++ {
		g, a, d := dout[n*out:(n+1)*out], arg[n*out:(n+1)*out], din[n*img:(n+1)*img]
		a = a[:len(g)]
		for i, v := range g {
			if j := a[i]; j >= 0 {
				d[j] += v
			}
		}
	}
}

// AvgPool2DGrad adds to din (Batch, InH, InW, C) the input gradient of
// AvgPool2D for the output gradient dout: each output's gradient divided by
// the number of its window's positions inside the input, to each of them.
func AvgPool2DGrad(p PoolParams, dout, din []float32) {
	p = p.norm()
	oh, ow, c := p.OutH(), p.OutW(), p.C
	img := p.InH * p.InW * c
	if len(dout) < p.Batch*oh*ow*c || len(din) < p.Batch*img {
		panic("kernels: AvgPool2DGrad: output or input gradient too short")
	}
	for n := 0; n < p.Batch; n++ {
		db := din[n*img : (n+1)*img]
		for y := 0; y < oh; y++ {
			y0, y1 := max(y*p.StrideH-p.PadTop, 0), min(y*p.StrideH-p.PadTop+p.PoolH, p.InH)
			for x := 0; x < ow; x++ {
				x0, x1 := max(x*p.StrideW-p.PadLeft, 0), min(x*p.StrideW-p.PadLeft+p.PoolW, p.InW)
				count := (y1 - y0) * (x1 - x0)
				if y1 <= y0 || x1 <= x0 {
					continue
				}
				inv := 1 / float32(count)
				g := dout[((n*oh+y)*ow+x)*c : ((n*oh+y)*ow+x+1)*c]
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						d := db[(iy*p.InW+ix)*c : (iy*p.InW+ix+1)*c]
						d = d[:len(g)]
						for i, v := range g {
							d[i] += v * inv
						}
					}
				}
			}
		}
	}
}
