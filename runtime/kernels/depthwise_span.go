package kernels

import "sync"

// dwSpanAsm holds the assembly span kernels by level (nil: none); see
// depthwiseSpanGeneric for what they compute.
var dwSpanAsm [3]func(in *float32, ioffs, woffs *int32, ntaps int, w, out *float32, npix, instep, ldo, c int, bias, clamp *float32)

// depthwiseSpan computes npix output pixels of a depthwise convolution
// whose windows read the same taps (see depthwiseSpanGeneric), on the
// active level.
func depthwiseSpan(in []float32, ioffs, woffs []int32, w, out []float32, npix, instep, ldo, c int, bias []float32, act *Clamp) {
	if npix <= 0 || c <= 0 {
		return
	}
	if len(ioffs) != len(woffs) || len(out) < (npix-1)*ldo+c || (bias != nil && len(bias) < c) ||
		maxOffset(ioffs)+(npix-1)*instep+c > len(in) || maxOffset(woffs)+c > len(w) {
		panic("kernels: depthwiseSpan: operands too short")
	}
	if f := dwSpanAsm[active]; f != nil {
		var ip, wp *int32
		if len(ioffs) > 0 {
			ip, wp = &ioffs[0], &woffs[0]
		}
		var bp *float32
		if bias != nil {
			bp = &bias[0]
		}
		f(&in[0], ip, wp, len(ioffs), &w[0], &out[0], npix, instep, ldo, c, bp, &act.Lo)
		return
	}
	depthwiseSpanGeneric(in, ioffs, woffs, w, out, npix, instep, ldo, c, bias, act)
}

// maxOffset returns the largest offset of a tap table (0 when empty) and
// panics on a negative one.
func maxOffset(offs []int32) int {
	m := 0
	for _, o := range offs {
		if o < 0 {
			panic("kernels: negative tap offset")
		}
		m = max(m, int(o))
	}
	return m
}

// depthwiseSpanGeneric is the portable span kernel, the loop the assembly
// computes (bias nil counts as zeros; the clamp keeps NaN):
//
//	for p := 0; p < npix; p++ {
//		for j := 0; j < c; j++ {
//			v := bias[j]
//			for t := range ioffs {
//				v += in[p*instep+int(ioffs[t])+j] * w[int(woffs[t])+j]
//			}
//			out[p*ldo+j] = min(max(v, act.Lo), act.Hi)
//		}
//	}
func depthwiseSpanGeneric(in []float32, ioffs, woffs []int32, w, out []float32, npix, instep, ldo, c int, bias []float32, act *Clamp) {
	for p := 0; p < npix; p++ {
		o := out[p*ldo : p*ldo+c]
		if bias != nil {
			copy(o, bias[:c])
		} else {
			clear(o)
		}
		for t, io := range ioffs {
			off := p*instep + int(io)
			mulAddGeneric(o, in[off:off+c], w[int(woffs[t]):int(woffs[t])+c])
		}
		if *act != NoClamp {
			lo, hi := act.Lo, act.Hi
			for j, v := range o {
				if v < lo {
					v = lo
				}
				if v > hi {
					v = hi
				}
				o[j] = v
			}
		}
	}
}

// DepthwiseConv2DBackward computes the gradients of DepthwiseConv2D for the
// output gradient dy (Batch, OutH, OutW, InC*mult): the input gradient into
// dx (the input's shape) and the kernel gradient into dw (the kernel's),
// each overwritten; either may be nil, and in (w) may be nil when dw (dx) is. The
// reference loops, over every
// output pixel (n, y, x), tap (ky, kx) inside the image at (iy, ix) =
// (y*sh+ky*dh-PadTop, x*sw+kx*dw-PadLeft), channel c and m < mult:
//
//	dx[n,iy,ix,c] += dy[n,y,x,c*mult+m] * w[ky,kx,c,m]
//	dw[ky,kx,c,m] += in[n,iy,ix,c] * dy[n,y,x,c*mult+m]
//
// The channels are split between goroutines, so that no two write the same
// values.
func DepthwiseConv2DBackward(p ConvParams, mult int, in, w, dy, dx, dw []float32) {
	p = p.norm()
	cin, cout := p.InC, p.InC*mult
	if mult <= 0 || p.OutC != cout {
		panic("kernels: DepthwiseConv2DBackward: OutC must be InC*mult")
	}
	oh, ow := p.OutH(), p.OutW()
	nin := p.Batch * p.InH * p.InW * cin
	if (dw != nil && len(in) < nin) || len(dy) < p.Batch*oh*ow*cout ||
		(dx != nil && len(w) < p.KH*p.KW*cout) ||
		(dx != nil && len(dx) < nin) || (dw != nil && len(dw) < p.KH*p.KW*cout) {
		panic("kernels: DepthwiseConv2DBackward: operand too short")
	}
	checkOffsets(p, cout)
	if dw != nil {
		clear(dw[:p.KH*p.KW*cout])
	}
	if dx != nil {
		clear(dx[:nin])
	}
	dxe := dx
	if mult > 1 {
		if dw != nil {
			in = repeatChannels(in[:nin], cin, mult)
		}
		if dx != nil {
			dxe = make([]float32, nin*mult)
		}
		p.InC = cout
	}
	blocks := (cout + 15) / 16
	t := min(Threads(), blocks)
	if work := p.Batch * oh * ow * cout * p.KH * p.KW * 4; work < parallelMinFlops {
		t = 1
	}
	var wg sync.WaitGroup
	for q := 0; q < t; q++ {
		c0, c1 := q*blocks/t*16, min((q+1)*blocks/t*16, cout)
		run := func() { depthwiseBackRows(&p, in, w, dy, dxe, dw, oh, ow, c0, c1) }
		if q == t-1 {
			run()
			break
		}
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	wg.Wait()
	if mult > 1 && dx != nil {
		for i := range dx[:nin] {
			var s float32
			for _, v := range dxe[i*mult : (i+1)*mult] {
				s += v
			}
			dx[i] = s
		}
	}
}

// depthwiseBackRows accumulates the gradients of channels [c0, c1) over
// every output line (InC == OutC).
func depthwiseBackRows(p *ConvParams, in, w, dy, dx, dw []float32, oh, ow, c0, c1 int) {
	g := newDWGeom(p, oh, ow)
	c := p.InC
	var dwc []float32
	if dw != nil {
		dwc = dw[c0:]
	}
	for r := 0; r < p.Batch*oh; r++ {
		g.spans(r, func(inOff, outOff int, ioffs, woffs []int32, npix, instep int) {
			var dxs []float32
			if dx != nil {
				dxs = dx[inOff+c0:]
			}
			var ins, ws []float32
			if dw != nil {
				ins = in[inOff+c0:]
			}
			if dx != nil {
				ws = w[c0:]
			}
			depthwiseBackSpan(ins, ioffs, woffs, ws, dy[outOff+c0:], dxs, dwc, npix, instep, c, c1-c0)
		})
	}
}

// depthwiseBackSpan accumulates the gradients of one span: for every pixel
// p < npix, tap t and channel j < c, with g = dy[p*ldo+j] and
// i = p*instep+ioffs[t]+j,
//
//	dx[i] += g * w[woffs[t]+j]   (when dx is not nil)
//	dw[woffs[t]+j] += in[i] * g  (when dw is not nil)
//
// through mulAdd, on the active level.
func depthwiseBackSpan(in []float32, ioffs, woffs []int32, w, dy, dx, dw []float32, npix, instep, ldo, c int) {
	for p := 0; p < npix; p++ {
		g := dy[p*ldo : p*ldo+c]
		for t, io := range ioffs {
			off, wo := p*instep+int(io), int(woffs[t])
			if dx != nil {
				mulAdd(dx[off:off+c], g, w[wo:wo+c])
			}
			if dw != nil {
				mulAdd(dw[wo:wo+c], in[off:off+c], g)
			}
		}
	}
}

// mulAdd computes dst[i] += x[i]*y[i] for i < len(dst), on the active level.
func mulAdd(dst, x, y []float32) {
	if len(x) < len(dst) || len(y) < len(dst) {
		panic("kernels: mulAdd: short operand")
	}
	if f := mulAddAsm[active]; f != nil && len(dst) > 0 {
		f(&dst[0], &x[0], &y[0], len(dst))
		return
	}
	mulAddGeneric(dst, x, y)
}

// mulAddAsm holds the assembly mulAdd by level (nil: none): it computes
// dst[i] += x[i]*y[i] for i < n.
var mulAddAsm [3]func(dst, x, y *float32, n int)

// mulAddGeneric is the portable mulAdd: for i := range dst { dst[i] += x[i]*y[i] }.
func mulAddGeneric(dst, x, y []float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	for i := range dst {
		dst[i] += x[i] * y[i]
	}
}
