package kernels

import "sync"

// DepthwiseConv2D computes a Keras DepthwiseConv2D: each input channel c is
// convolved with its own mult filters. w has the Keras shape
// (KH, KW, InC, mult), out is (Batch, OutH, OutW, InC*mult) and p.OutC must
// be InC*mult; bias (InC*mult values) may be nil. The reference loop:
//
//	out[n,y,x,c*mult+m] = bias[c*mult+m] + sum_{ky,kx} in[n, y*sh+ky*dh-PadTop, x*sw+kx*dw-PadLeft, c] * w[ky,kx,c,m]
func DepthwiseConv2D(p ConvParams, mult int, in, w, out, bias []float32) {
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
	rows := p.Batch * oh // one row = one output line
	work := rows * ow * cout * p.KH * p.KW * 2
	t := Threads()
	if t <= 1 || work < parallelMinFlops || rows < 2 {
		depthwiseRows(&p, mult, in, w, out, bias, oh, ow, 0, rows)
		return
	}
	t = min(t, rows)
	var wg sync.WaitGroup
	for q := 1; q < t; q++ {
		r0, r1 := q*rows/t, (q+1)*rows/t
		wg.Add(1)
		go func() { defer wg.Done(); depthwiseRows(&p, mult, in, w, out, bias, oh, ow, r0, r1) }()
	}
	r0, r1 := 0, rows/t
	depthwiseRows(&p, mult, in, w, out, bias, oh, ow, r0, r1)
	wg.Wait()
}

// depthwiseRows computes output lines [r0, r1) (line = n*oh + y).
func depthwiseRows(p *ConvParams, mult int, in, w, out, bias []float32, oh, ow, r0, r1 int) {
	cin, cout := p.InC, p.InC*mult
	for r := r0; r < r1; r++ {
		n, y := r/oh, r%oh
		for x := 0; x < ow; x++ {
			o := out[((n*oh+y)*ow+x)*cout : ((n*oh+y)*ow+x+1)*cout]
			if bias != nil {
				copy(o, bias[:cout])
			} else {
				clear(o)
			}
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
					src := in[((n*p.InH+iy)*p.InW+ix)*cin : ((n*p.InH+iy)*p.InW+ix+1)*cin]
					wt := w[(ky*p.KW+kx)*cout : (ky*p.KW+kx+1)*cout]
					if mult == 1 {
						mulAdd(o, src, wt)
						continue
					}
					for c, v := range src {
						oc := o[c*mult : (c+1)*mult]
						for m, wv := range wt[c*mult : (c+1)*mult] {
							oc[m] += v * wv
						}
					}
				}
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
