package kernels

import "sync"

// convDirectMinC is the smallest input depth for which Conv2D reads patches
// in place (convDirect); with fewer channels each micro-kernel call would do
// too little work per C-tile update, and packing (convA) wins. Tests lower it.
var convDirectMinC = 32

// convDirectMaxWeights bounds the kernel size (kh*kw*cin*cout values) for
// convDirect, which streams all the weights once per row segment: they must
// stay in L2. Larger kernels go through the blocked GEMM (convA), which
// reuses each block of weights across all output pixels.
var convDirectMaxWeights = 1 << 17

// convDirect computes Conv2D without packing the input: for a segment of up
// to mr consecutive output pixels of one output line and one kernel tap, the
// patch rows form a strided sub-matrix of the input (row stride
// StrideW*InC), which the micro-kernel reads in place. Taps that fall in the
// top/bottom padding are skipped; a segment whose tap straddles the
// left/right padding is copied into a small zero-filled tile.
func convDirect(p ConvParams, in []float32, w *PackedConv, out, bias []float32, oh, ow int, post func([]float32)) {
	pb := w.b
	kern := kernelForPanel(pb.nr)
	lines := p.Batch * oh
	t := Threads()
	if t <= 1 || lines < 2 || 2*lines*ow*p.OutC*p.KH*p.KW*p.InC < parallelMinFlops {
		convDirectLines(&p, kern, in, pb, out, bias, oh, ow, 0, lines, post)
		return
	}
	t = min(t, lines)
	var wg sync.WaitGroup
	for q := 1; q < t; q++ {
		r0, r1 := q*lines/t, (q+1)*lines/t
		wg.Add(1)
		go func() { defer wg.Done(); convDirectLines(&p, kern, in, pb, out, bias, oh, ow, r0, r1, post) }()
	}
	r0, r1 := 0, lines/t
	convDirectLines(&p, kern, in, pb, out, bias, oh, ow, r0, r1, post)
	wg.Wait()
}

// convDirectLines computes output lines [l0, l1) (line = n*oh + y),
// post (when not nil) applied to each finished segment.
func convDirectLines(p *ConvParams, kern *microKernel, in []float32, pb *PackedB, out, bias []float32, oh, ow, l0, l1 int, post func([]float32)) {
	cin, cout, nr, np := p.InC, p.OutC, pb.nr, pb.panels()
	mr := kern.mr
	edge := make([]float32, mr*cin)
	for line := l0; line < l1; line++ {
		n, y := line/oh, line%oh
		for x0 := 0; x0 < ow; x0 += mr {
			rows := min(mr, ow-x0)
			c := out[((n*oh+y)*ow+x0)*cout:]
			first := true
			for tap := 0; tap < p.KH*p.KW; tap++ {
				ky, kx := tap/p.KW, tap%p.KW
				iy := y*p.StrideH - p.PadTop + ky*p.DilationH
				if uint(iy) >= uint(p.InH) {
					continue
				}
				ix0 := x0*p.StrideW - p.PadLeft + kx*p.DilationW
				lda := p.StrideW * cin
				var a []float32
				if ix0 >= 0 && ix0+(rows-1)*p.StrideW < p.InW {
					off := ((n*p.InH+iy)*p.InW + ix0) * cin
					a = in[off : off+(rows-1)*lda+cin]
				} else {
					lda = cin
					for i := 0; i < rows; i++ {
						d := edge[i*cin : (i+1)*cin]
						if ix := ix0 + i*p.StrideW; uint(ix) < uint(p.InW) {
							off := ((n*p.InH+iy)*p.InW + ix) * cin
							copy(d, in[off:off+cin])
						} else {
							clear(d)
						}
					}
					a = edge[:rows*cin]
				}
				// The tap's weight rows [tap*cin, (tap+1)*cin), cut where
				// the packed B's row blocks end.
				for r0 := tap * cin; r0 < (tap+1)*cin; {
					r1 := min((tap+1)*cin, r0/kcBlock*kcBlock+kcBlock)
					for j := 0; j < np; j++ {
						nv := min(nr, cout-j*nr)
						var bj []float32
						if first && bias != nil {
							bj = bias[j*nr : j*nr+nv]
						}
						kern.run(rows, r1-r0, a[r0-tap*cin:], lda, pb.rows(j, r0, r1), c[j*nr:], cout, nv, !first, bj)
					}
					first = false
					r0 = r1
				}
			}
			if first { // every tap in the padding
				for i := 0; i < rows; i++ {
					o := c[i*cout : (i+1)*cout]
					if bias != nil {
						copy(o, bias[:cout])
					} else {
						clear(o)
					}
				}
			}
			if post != nil {
				post(c[:rows*cout])
			}
		}
	}
}
