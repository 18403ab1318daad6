package kernels

import (
	"math"
	"sync"
)

// Clamp is an activation fused into a kernel's store: min(max(v, Lo), Hi),
// with NaN staying NaN. relu is {0, +Inf}, relu6 {0, 6}.
type Clamp struct{ Lo, Hi float32 }

// NoClamp leaves every value as it is.
var NoClamp = Clamp{float32(math.Inf(-1)), float32(math.Inf(1))}

// DepthwiseConv2D computes a Keras DepthwiseConv2D: each input channel c is
// convolved with its own mult filters. w has the Keras shape
// (KH, KW, InC, mult), out is (Batch, OutH, OutW, InC*mult) and p.OutC must
// be InC*mult; bias (InC*mult values) may be nil. The reference loop:
//
//	out[n,y,x,c*mult+m] = bias[c*mult+m] + sum_{ky,kx} in[n, y*sh+ky*dh-PadTop, x*sw+kx*dw-PadLeft, c] * w[ky,kx,c,m]
func DepthwiseConv2D(p ConvParams, mult int, in, w, out, bias []float32) {
	DepthwiseConv2DClamp(p, mult, in, w, out, bias, NoClamp)
}

// DepthwiseConv2DClamp is DepthwiseConv2D with the activation act applied
// to every output value before it is stored.
//
// Each output line is cut into spans (depthwiseSpan): the pixels whose
// whole window lies inside the image share one table of tap offsets, each
// border pixel gets its own table of the taps that fall inside. With
// mult > 1 the input channels are first repeated mult times, which turns
// the problem into a depthwise convolution with one filter per channel.
func DepthwiseConv2DClamp(p ConvParams, mult int, in, w, out, bias []float32, act Clamp) {
	p = p.norm()
	cout := p.InC * mult
	if mult <= 0 || p.OutC != cout {
		panic("kernels: DepthwiseConv2D: OutC must be InC*mult")
	}
	oh, ow := p.OutH(), p.OutW()
	if len(in) < p.Batch*p.InH*p.InW*p.InC || len(out) < p.Batch*oh*ow*cout || len(w) < p.KH*p.KW*cout {
		panic("kernels: DepthwiseConv2D: input, kernel or output too short")
	}
	if bias != nil && len(bias) < cout {
		panic("kernels: DepthwiseConv2D: bias shorter than OutC")
	}
	checkOffsets(p, cout)
	if mult > 1 {
		in = repeatChannels(in[:p.Batch*p.InH*p.InW*p.InC], p.InC, mult)
		p.InC = cout
	}
	rows := p.Batch * oh // one row = one output line
	work := rows * ow * cout * p.KH * p.KW * 2
	t := Threads()
	if t <= 1 || work < parallelMinFlops || rows < 2 {
		depthwiseRows(&p, in, w, out, bias, &act, oh, ow, 0, rows)
		return
	}
	t = min(t, rows)
	var wg sync.WaitGroup
	for q := 1; q < t; q++ {
		r0, r1 := q*rows/t, (q+1)*rows/t
		wg.Add(1)
		go func() { defer wg.Done(); depthwiseRows(&p, in, w, out, bias, &act, oh, ow, r0, r1) }()
	}
	depthwiseRows(&p, in, w, out, bias, &act, oh, ow, 0, rows/t)
	wg.Wait()
}

// checkOffsets panics when an image's offsets do not fit the int32 tap
// tables.
func checkOffsets(p ConvParams, c int) {
	if int64(p.InH)*int64(p.InW)*int64(c) >= math.MaxInt32 {
		panic("kernels: DepthwiseConv2D: image of 2**31 values or more")
	}
}

// repeatChannels returns x (pixels of c values) with every value repeated
// mult times: channel c*mult+m of the result is channel c of x.
func repeatChannels(x []float32, c, mult int) []float32 {
	r := make([]float32, len(x)*mult)
	for i, v := range x {
		for m := range mult {
			r[i*mult+m] = v
		}
	}
	return r
}

// depthwiseRows computes output lines [r0, r1) (line = n*oh + y) of a
// depthwise convolution with one filter per channel (InC == OutC).
func depthwiseRows(p *ConvParams, in, w, out, bias []float32, act *Clamp, oh, ow, r0, r1 int) {
	g := newDWGeom(p, oh, ow)
	c := p.InC
	for r := r0; r < r1; r++ {
		g.spans(r, func(inOff, outOff int, ioffs, woffs []int32, npix, instep int) {
			depthwiseSpan(in[inOff:], ioffs, woffs, w, out[outOff:], npix, instep, c, c, bias, act)
		})
	}
}

// dwGeom cuts the output lines of a depthwise convolution (InC == OutC ==
// c) into spans of pixels that read the same taps.
type dwGeom struct {
	p            *ConvParams
	c, oh, ow    int
	xa, xb       int     // output columns [xa, xb) have every kx tap inside the image
	ioffs, woffs []int32 // scratch tap tables
}

func newDWGeom(p *ConvParams, oh, ow int) *dwGeom {
	g := &dwGeom{p: p, c: p.InC, oh: oh, ow: ow}
	g.xa = min((p.PadLeft+p.StrideW-1)/p.StrideW, ow)
	if num := p.InW - 1 + p.PadLeft - (p.KW-1)*p.DilationW; num >= 0 {
		g.xb = min(num/p.StrideW+1, ow)
	}
	g.xb = max(g.xb, g.xa)
	g.ioffs = make([]int32, p.KH*p.KW)
	g.woffs = make([]int32, p.KH*p.KW)
	return g
}

// spans calls f for each span of output line r = n*oh+y: inOff is the
// input offset of its first pixel's window origin, outOff the offset of
// its first output value, ioffs (relative to inOff, one pixel step =
// instep) and woffs the offsets of its taps in the input and the kernel.
func (g *dwGeom) spans(r int, f func(inOff, outOff int, ioffs, woffs []int32, npix, instep int)) {
	p, c := g.p, g.c
	n, y := r/g.oh, r%g.oh
	img := n * p.InH * p.InW * c
	outRow := r * g.ow * c
	if g.xb > g.xa {
		nt := 0
		for ky := 0; ky < p.KH; ky++ {
			iy := y*p.StrideH + ky*p.DilationH - p.PadTop
			if iy < 0 || iy >= p.InH {
				continue
			}
			for kx := 0; kx < p.KW; kx++ {
				g.ioffs[nt] = int32((iy*p.InW + kx*p.DilationW) * c)
				g.woffs[nt] = int32((ky*p.KW + kx) * c)
				nt++
			}
		}
		f(img+(g.xa*p.StrideW-p.PadLeft)*c, outRow+g.xa*c, g.ioffs[:nt], g.woffs[:nt], g.xb-g.xa, p.StrideW*c)
	}
	for x := 0; x < g.ow; x++ {
		if x == g.xa && g.xb > g.xa {
			x = g.xb - 1
			continue
		}
		nt := 0
		for ky := 0; ky < p.KH; ky++ {
			iy := y*p.StrideH + ky*p.DilationH - p.PadTop
			if iy < 0 || iy >= p.InH {
				continue
			}
			for kx := 0; kx < p.KW; kx++ {
				ix := x*p.StrideW + kx*p.DilationW - p.PadLeft
				if ix < 0 || ix >= p.InW {
					continue
				}
				g.ioffs[nt] = int32((iy*p.InW + ix) * c)
				g.woffs[nt] = int32((ky*p.KW + kx) * c)
				nt++
			}
		}
		f(img, outRow+x*c, g.ioffs[:nt], g.woffs[:nt], 1, 0)
	}
}
