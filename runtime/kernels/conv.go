package kernels

// ConvParams describes a 2-D convolution over an NHWC (channels_last) batch.
// Zero strides and dilations mean 1.
type ConvParams struct {
	Batch, InH, InW, InC int
	KH, KW, OutC         int
	StrideH, StrideW     int
	DilationH, DilationW int
	PadTop, PadBottom    int
	PadLeft, PadRight    int
}

func (p ConvParams) norm() ConvParams {
	p.StrideH, p.StrideW = max(p.StrideH, 1), max(p.StrideW, 1)
	p.DilationH, p.DilationW = max(p.DilationH, 1), max(p.DilationW, 1)
	return p
}

// OutH returns the output height.
func (p ConvParams) OutH() int {
	p = p.norm()
	return outSize(p.InH, p.KH, p.StrideH, p.DilationH, p.PadTop, p.PadBottom)
}

// OutW returns the output width.
func (p ConvParams) OutW() int {
	p = p.norm()
	return outSize(p.InW, p.KW, p.StrideW, p.DilationW, p.PadLeft, p.PadRight)
}

func outSize(in, k, stride, dil, before, after int) int {
	span := in + before + after - dil*(k-1)
	if span <= 0 || k <= 0 {
		return 0
	}
	return (span-1)/stride + 1
}

// SamePadding returns the padding Keras's padding="same" puts before and
// after a dimension of size in (TensorFlow's rule: the extra one goes after).
func SamePadding(in, k, stride, dilation int) (before, after int) {
	stride, dilation = max(stride, 1), max(dilation, 1)
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+dilation*(k-1)+1-in, 0)
	return total / 2, total - total/2
}

// PackedConv is a convolution kernel packed once for Conv2D.
type PackedConv struct {
	kh, kw, cin, cout int
	b                 *PackedB
}

// PackConv packs a Keras Conv2D kernel of shape (kh, kw, cin, cout). That
// layout is already the (kh*kw*cin) x cout matrix of the implicit GEMM.
func PackConv(kh, kw, cin, cout int, w []float32) *PackedConv {
	return &PackedConv{kh: kh, kw: kw, cin: cin, cout: cout, b: PackB(kh*kw*cin, cout, w, cout)}
}

// Conv2D computes the convolution of in (Batch, InH, InW, InC) with the
// packed kernel into out (Batch, OutH, OutW, OutC), adding bias (OutC values)
// when it is not nil. Padding is zeros. The reference loop:
//
//	out[n,y,x,co] = bias[co] + sum_{ky,kx,ci} in[n, y*sh+ky*dh-PadTop, x*sw+kx*dw-PadLeft, ci] * w[ky,kx,ci,co]
//
// No im2col matrix is ever built: 1x1 convolutions with unit stride and no
// padding are a plain Gemm; with InC >= 32 and weights that fit in L2 the
// micro-kernel reads the patches in place, one kernel tap at a time
// (convDirect); otherwise patches are packed straight into the GEMM's row
// tiles, a cache-sized tile at a time (convA).
func Conv2D(p ConvParams, in []float32, w *PackedConv, out []float32, bias []float32) {
	Conv2DClamp(p, in, w, out, bias, NoClamp)
}

// Conv2DClamp is Conv2D with the activation act applied to every output
// value as its tile is finished, while it is still in cache.
func Conv2DClamp(p ConvParams, in []float32, w *PackedConv, out []float32, bias []float32, act Clamp) {
	var post func([]float32)
	if act != NoClamp {
		post = func(y []float32) { ClampTo(y, y, act) }
	}
	Conv2DEpilogue(p, in, w, out, bias, post)
}

// Conv2DEpilogue is Conv2D with post (nil: none), an elementwise
// function, applied in place to the output as its parts are finished
// (runs of whole output pixels or parts of them), while they are still in
// cache.
func Conv2DEpilogue(p ConvParams, in []float32, w *PackedConv, out []float32, bias []float32, post func(y []float32)) {
	p = p.norm()
	if w == nil || w.kh != p.KH || w.kw != p.KW || w.cin != p.InC || w.cout != p.OutC {
		panic("kernels: Conv2D: packed kernel does not match the parameters")
	}
	oh, ow := p.OutH(), p.OutW()
	if len(in) < p.Batch*p.InH*p.InW*p.InC || len(out) < p.Batch*oh*ow*p.OutC {
		panic("kernels: Conv2D: input or output too short")
	}
	if bias != nil && len(bias) < p.OutC {
		panic("kernels: Conv2D: bias shorter than OutC")
	}
	m, k := p.Batch*oh*ow, p.KH*p.KW*p.InC
	if m == 0 {
		return
	}
	if p.InC >= convDirectMinC && k*p.OutC <= convDirectMaxWeights && !(p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1) {
		convDirect(p, in, w, out, bias, oh, ow, post)
		return
	}
	var src aSource
	if p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadBottom == 0 && p.PadLeft == 0 && p.PadRight == 0 {
		src = denseA{in, p.InC}
	} else {
		src = newConvA(p, in, oh, ow)
	}
	gemmSource(m, p.OutC, k, src, w.b, out, p.OutC, false, bias, post)
}

// convA is the virtual im2col matrix of a convolution: row i is output pixel
// i (n, y, x in order), column p = (ky*KW+kx)*InC + ci.
type convA struct {
	p      ConvParams
	in     []float32
	oh, ow int
	tapDY  []int // ky*DilationH for tap ky*KW+kx
	tapDX  []int // kx*DilationW
}

func newConvA(p ConvParams, in []float32, oh, ow int) *convA {
	s := &convA{p: p, in: in, oh: oh, ow: ow}
	for ky := 0; ky < p.KH; ky++ {
		for kx := 0; kx < p.KW; kx++ {
			s.tapDY = append(s.tapDY, ky*p.DilationH)
			s.tapDX = append(s.tapDX, kx*p.DilationW)
		}
	}
	return s
}

func (s *convA) packA(dst []float32, ld, i0, rows, p0, kc int) {
	p := &s.p
	cin, inH, inW := p.InC, p.InH, p.InW
	x := i0 % s.ow
	y := (i0 / s.ow) % s.oh
	n := i0 / (s.ow * s.oh)
	tap0, ci0 := p0/cin, p0%cin
	// With undilated columns and the whole patch in one tile, the taps of
	// one kernel row read KW*InC consecutive input values: a patch inside
	// the image is KH such runs.
	kwRun := 0
	if p.DilationW == 1 && p0 == 0 && kc == p.KH*p.KW*cin {
		kwRun = p.KW * cin
	}
	spanH := (p.KH - 1) * p.DilationH
	for i := 0; i < rows; i++ {
		iy0 := y*p.StrideH - p.PadTop
		ix0 := x*p.StrideW - p.PadLeft
		img := n * inH
		d := dst[i*ld : i*ld+kc]
		if kwRun > 0 && ix0 >= 0 && ix0+p.KW <= inW && iy0 >= 0 && iy0+spanH < inH {
			off := ((img+iy0)*inW + ix0) * cin
			step := p.DilationH * inW * cin
			for q := 0; q < kc; q += kwRun {
				src, dq := s.in[off:off+kwRun], d[q:q+kwRun]
				if kwRun < 16 {
					// A shallow input (RGB): copy is slower than a loop.
					for j, v := range src {
						dq[j] = v
					}
				} else {
					copy(dq, src)
				}
				off += step
			}
		} else {
			s.packRow(d, img, iy0, ix0, tap0, ci0)
		}
		if x++; x == s.ow {
			x = 0
			if y++; y == s.oh {
				y = 0
				n++
			}
		}
	}
}

// packRow fills d with the patch values from column tap0*InC+ci0 on, of
// the output pixel whose window starts at (iy0, ix0) of image row img,
// one tap at a time, zero where a tap falls in the padding.
func (s *convA) packRow(d []float32, img, iy0, ix0, tap, ci int) {
	p := &s.p
	cin, inH, inW, kc := p.InC, p.InH, p.InW, len(d)
	for q := 0; q < kc; {
		run := min(cin-ci, kc-q)
		iy, ix := iy0+s.tapDY[tap], ix0+s.tapDX[tap]
		if uint(iy) >= uint(inH) || uint(ix) >= uint(inW) {
			clear(d[q : q+run])
		} else {
			off := ((img+iy)*inW+ix)*cin + ci
			if run < 8 {
				src, dq := s.in[off:off+run], d[q:q+run]
				for j, v := range src {
					dq[j] = v
				}
			} else {
				copy(d[q:q+run], s.in[off:off+run])
			}
		}
		q += run
		tap++
		ci = 0
	}
}
