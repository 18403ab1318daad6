package kernels

import (
	"math"
	"sync"
)

// Conv2DFilterGrad computes the kernel gradient of Conv2D for the output
// gradient dout (Batch, OutH, OutW, OutC): dw (KH, KW, InC, OutC) is
// overwritten. The reference loop (padding is zeros):
//
//	dw[ky,kx,ci,co] = sum_{n,y,x} in[n, y*sh+ky*dh-PadTop, x*sw+kx*dw-PadLeft, ci] * dout[n,y,x,co]
//
// It is the GEMM dwᵀ = doutᵀ·cols over the im2col matrix cols (a row per
// output pixel), a block of filterGradPixels pixels at a time: the block's
// patches are packed as the B operand (row runs of the input, as Conv2D
// packs them), its output gradients transposed as the A operand. Goroutines
// take separate pixel ranges and sum their partial gradients at the end.
func Conv2DFilterGrad(p ConvParams, in, dout, dw []float32) {
	Conv2DWeightGrads(p, in, dout, nil, dw, nil)
}

// Conv2DWeightGrads is Conv2DFilterGrad that also overwrites the bias
// gradient db (OutC values: dout summed over pixels) when db is not nil,
// and, when reluY is not nil, differentiates through a relu first: reluY
// (shaped like dout) is the relu's output, and the output gradient used is
// dout[i]*1 where reluY[i] > 0, dout[i]*0 elsewhere (TensorFlow's
// ReluGrad). The fused passes spare a whole-batch gradient tensor.
func Conv2DWeightGrads(p ConvParams, in, dout, reluY, dw, db []float32) {
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	m, k := p.Batch*oh*ow, p.KH*p.KW*p.InC
	if len(in) < p.Batch*p.InH*p.InW*p.InC || len(dout) < m*p.OutC || len(dw) < k*p.OutC ||
		(reluY != nil && len(reluY) < m*p.OutC) || (db != nil && len(db) < p.OutC) {
		panic("kernels: Conv2DWeightGrads: input, output gradient, relu output or a gradient too short")
	}
	if db != nil {
		clear(db[:p.OutC])
	}
	if p.OutC == 0 {
		return
	}
	clear(dw[:k*p.OutC])
	if m == 0 {
		return
	}
	src := newConvA(p, in, oh, ow)
	blocks := (m + filterGradPixels - 1) / filterGradPixels
	t := min(Threads(), blocks)
	if t <= 1 || 2*m*k*p.OutC < parallelMinFlops {
		t = 1
	}
	parts := make([]*filterGradBufs, t)
	var wg sync.WaitGroup
	for w := 0; w < t; w++ {
		b0, b1 := w*blocks/t, (w+1)*blocks/t
		parts[w] = getFilterGradBufs(p.OutC, k)
		if w == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			filterGradPixelsRange(src, dout, reluY, parts[w], b0*filterGradPixels, min(b1*filterGradPixels, m))
		}()
	}
	filterGradPixelsRange(src, dout, reluY, parts[0], 0, min(blocks/t*filterGradPixels, m))
	wg.Wait()
	// dw[ki][co] = sum of the partial dwᵀ[co][ki]; db likewise.
	for _, b := range parts {
		for co := 0; co < p.OutC; co++ {
			for ki, v := range b.dwT[co*k : (co+1)*k] {
				dw[ki*p.OutC+co] += v
			}
		}
		if db != nil {
			for co, v := range b.db {
				db[co] += v
			}
		}
		filterGradPool.Put(b)
	}
}

// filterGradPixels is the number of output pixels per GEMM of the filter
// gradient: their packed patches stay in L2.
const filterGradPixels = 256

// filterGradBufs is one goroutine's scratch memory for Conv2DFilterGrad.
type filterGradBufs struct {
	dwT, db, doutT, patches, masked []float32
}

var filterGradPool sync.Pool

// getFilterGradBufs returns scratch memory for outC x k partial gradients,
// the partial sums zeroed.
func getFilterGradBufs(outC, k int) *filterGradBufs {
	b, _ := filterGradPool.Get().(*filterGradBufs)
	if b == nil {
		b = &filterGradBufs{}
	}
	grow := func(s []float32, n int) []float32 {
		if cap(s) < n {
			return make([]float32, n)
		}
		return s[:n]
	}
	nr := kernelFor(active).nr
	b.dwT = grow(b.dwT, outC*k)
	clear(b.dwT)
	b.db = grow(b.db, outC)
	clear(b.db)
	b.doutT = grow(b.doutT, outC*(filterGradPixels+tilePad))
	b.masked = grow(b.masked, outC*filterGradPixels)
	b.patches = grow(b.patches, (k+nr-1)/nr*nr*filterGradPixels)
	return b
}

// filterGradPixelsRange adds doutᵀ·cols over output pixels [m0, m1) to
// b.dwT (OutC x k) and the sums of dout's columns to b.db; dout goes
// through the relu of output reluY first when reluY is not nil.
func filterGradPixelsRange(src *convA, dout, reluY []float32, b *filterGradBufs, m0, m1 int) {
	p := &src.p
	k, cout := p.KH*p.KW*p.InC, p.OutC
	kern := kernelFor(active)
	nr := kern.nr
	np := (k + nr - 1) / nr
	for i0 := m0; i0 < m1; i0 += filterGradPixels {
		kb := min(filterGradPixels, m1-i0)
		// B: the block's patches, k columns in panels nr wide (a single
		// row block: kb <= kcBlock).
		pb := &PackedB{k: kb, n: k, nr: nr, data: b.patches[:np*kb*nr]}
		if np == 1 || k%nr != 0 {
			// The zero columns past k of the last panel.
			last := pb.data[(np-1)*kb*nr:]
			for r := 0; r < kb; r++ {
				clear(last[r*nr+k-(np-1)*nr : (r+1)*nr])
			}
		}
		for j := 0; j < np; j++ {
			src.packA(pb.data[j*kb*nr:], nr, i0, kb, j*nr, min(nr, k-j*nr))
		}
		// A: the block's output gradients transposed, cout x kb with row
		// stride lda (padded off a power of two, against cache conflicts).
		const lda = filterGradPixels + tilePad
		at := b.doutT[:(cout-1)*lda+kb]
		g := dout[i0*cout : (i0+kb)*cout]
		if reluY != nil {
			g = b.masked[:kb*cout]
			reluGrad(g, dout[i0*cout:(i0+kb)*cout], reluY[i0*cout:(i0+kb)*cout])
		}
		transposeRows(at, lda, g, cout, kb)
		for co := range b.db {
			b.db[co] += sum4(at[co*lda : co*lda+kb])
		}
		job := gemmJob{kern: kernelForPanel(nr), src: denseA{at, lda}, pb: pb, c: b.dwT, ldc: k, accumulate: true}
		job.run(0, cout, 0, np)
	}
}

// PackedConvInputGrad is a Conv2D kernel packed once for Conv2DInputGrad.
type PackedConvInputGrad struct {
	kh, kw, cin, cout int
	flipped           *PackedConv // for inputGradByConv
	bt                *PackedB    // the (cout) x (kh*kw*cin) transpose, for inputGradByGemm
}

// PackConvInputGrad packs a Keras Conv2D kernel (kh, kw, cin, cout) for
// Conv2DInputGrad.
func PackConvInputGrad(kh, kw, cin, cout int, w []float32) *PackedConvInputGrad {
	if len(w) < kh*kw*cin*cout {
		panic("kernels: PackConvInputGrad: kernel too short")
	}
	g := &PackedConvInputGrad{kh: kh, kw: kw, cin: cin, cout: cout}
	if cin >= inputGradMinC {
		// Flipped in both spatial axes, input and output channels swapped.
		f := make([]float32, kh*kw*cout*cin)
		for ky := 0; ky < kh; ky++ {
			for kx := 0; kx < kw; kx++ {
				src := w[(ky*kw+kx)*cin*cout:]
				dst := f[((kh-1-ky)*kw+(kw-1-kx))*cout*cin:]
				for ci := 0; ci < cin; ci++ {
					for co, v := range src[ci*cout : (ci+1)*cout] {
						dst[co*cin+ci] = v
					}
				}
			}
		}
		g.flipped = PackConv(kh, kw, cout, cin, f)
	}
	g.bt = PackBTrans(cout, kh*kw*cin, w, cout)
	return g
}

// inputGradMinC is the smallest input depth for which the input gradient
// runs as a convolution (its output channels fill the micro-kernel's
// columns); shallower inputs (a network's first layer) take the GEMM path.
const inputGradMinC = 16

// inputGradByConv reports whether the input gradient of p is the
// convolution of dout with the flipped kernel: unit strides and no more
// padding before than the dilated kernel spans (always so for "valid" and
// "same").
func inputGradByConv(p ConvParams) bool {
	return p.InC >= inputGradMinC && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop <= p.DilationH*(p.KH-1) && p.PadLeft <= p.DilationW*(p.KW-1) &&
		p.InH-p.OutH()+p.PadTop >= 0 && p.InW-p.OutW()+p.PadLeft >= 0
}

// Conv2DInputGrad computes the input gradient din (Batch, InH, InW, InC) of
// the forward convolution p for the output gradient dout (Batch, OutH,
// OutW, OutC), with the kernel packed by PackConvInputGrad; din is
// overwritten. The reference loop:
//
//	din[n,iy,ix,ci] = sum_{y,x,ky,kx,co: y*sh+ky*dh-PadTop = iy, x*sw+kx*dw-PadLeft = ix} dout[n,y,x,co] * w[ky,kx,ci,co]
//
// With unit strides and InC >= 16 that is Conv2D of dout with the flipped
// kernel, padded by dh*(KH-1)-PadTop before (and what makes the size InH
// after). Otherwise a GEMM of a few rows of dout at a time with the
// transposed kernel gives their patch gradients, added into din (col2im);
// images run on separate goroutines.
func Conv2DInputGrad(p ConvParams, dout []float32, wg *PackedConvInputGrad, din []float32) {
	p = p.norm()
	if wg == nil || wg.kh != p.KH || wg.kw != p.KW || wg.cin != p.InC || wg.cout != p.OutC {
		panic("kernels: Conv2DInputGrad: packed kernel does not match the parameters")
	}
	oh, ow := p.OutH(), p.OutW()
	if len(dout) < p.Batch*oh*ow*p.OutC || len(din) < p.Batch*p.InH*p.InW*p.InC {
		panic("kernels: Conv2DInputGrad: output or input gradient too short")
	}
	if wg.flipped != nil && inputGradByConv(p) {
		q := ConvParams{
			Batch: p.Batch, InH: oh, InW: ow, InC: p.OutC,
			KH: p.KH, KW: p.KW, OutC: p.InC,
			DilationH: p.DilationH, DilationW: p.DilationW,
			PadTop: p.DilationH*(p.KH-1) - p.PadTop, PadLeft: p.DilationW*(p.KW-1) - p.PadLeft,
			PadBottom: p.InH - oh + p.PadTop, PadRight: p.InW - ow + p.PadLeft,
		}
		Conv2D(q, dout, wg.flipped, din, nil)
		return
	}
	clear(din[:p.Batch*p.InH*p.InW*p.InC])
	if oh*ow == 0 {
		return
	}
	t := min(Threads(), p.Batch)
	if t <= 1 || 2*p.Batch*oh*ow*p.OutC*p.KH*p.KW*p.InC < parallelMinFlops {
		inputGradImages(&p, dout, wg.bt, din, oh, ow, 0, p.Batch)
		return
	}
	var wgp sync.WaitGroup
	for q := 1; q < t; q++ {
		n0, n1 := q*p.Batch/t, (q+1)*p.Batch/t
		wgp.Add(1)
		go func() { defer wgp.Done(); inputGradImages(&p, dout, wg.bt, din, oh, ow, n0, n1) }()
	}
	inputGradImages(&p, dout, wg.bt, din, oh, ow, 0, p.Batch/t)
	wgp.Wait()
}

// inputGradRows is the number of output pixels whose patch gradients are
// computed at a time: their tile stays in L2.
const inputGradRows = 256

// inputGradImages adds the input gradients of images [n0, n1) into din.
func inputGradImages(p *ConvParams, dout []float32, bt *PackedB, din []float32, oh, ow, n0, n1 int) {
	k, cin, cout := p.KH*p.KW*p.InC, p.InC, p.OutC
	tile := make([]float32, inputGradRows*k)
	img := p.InH * p.InW * cin
	for n := n0; n < n1; n++ {
		db := din[n*img : (n+1)*img]
		for r0 := 0; r0 < oh*ow; r0 += inputGradRows {
			rows := min(inputGradRows, oh*ow-r0)
			gemmSource(rows, k, cout, denseA{dout[(n*oh*ow+r0)*cout:], cout}, bt, tile, k, false, nil, nil)
			for r := 0; r < rows; r++ {
				y, x := (r0+r)/ow, (r0+r)%ow
				g := tile[r*k : (r+1)*k]
				for ky := 0; ky < p.KH; ky++ {
					iy := y*p.StrideH + ky*p.DilationH - p.PadTop
					if uint(iy) >= uint(p.InH) {
						continue
					}
					for kx := 0; kx < p.KW; kx++ {
						ix := x*p.StrideW + kx*p.DilationW - p.PadLeft
						if uint(ix) >= uint(p.InW) {
							continue
						}
						src := g[(ky*p.KW+kx)*cin : (ky*p.KW+kx+1)*cin]
						dst := db[(iy*p.InW+ix)*cin : (iy*p.InW+ix+1)*cin]
						dst = dst[:len(src)]
						for i, v := range src {
							dst[i] += v
						}
					}
				}
			}
		}
	}
}

// transposeRows writes the transpose of the rows x cols row-major matrix a
// into dst (cols x rows, row stride ld), eight rows of a at a time so that
// each store fills eight consecutive values.
func transposeRows(dst []float32, ld int, a []float32, cols, rows int) {
	r := 0
	for ; r+8 <= rows; r += 8 {
		a0 := a[r*cols : (r+1)*cols]
		a1, a2, a3 := a[(r+1)*cols:(r+2)*cols], a[(r+2)*cols:(r+3)*cols], a[(r+3)*cols:(r+4)*cols]
		a4, a5, a6 := a[(r+4)*cols:(r+5)*cols], a[(r+5)*cols:(r+6)*cols], a[(r+6)*cols:(r+7)*cols]
		a7 := a[(r+7)*cols : (r+8)*cols]
		a1, a2, a3, a4, a5, a6, a7 = a1[:len(a0)], a2[:len(a0)], a3[:len(a0)], a4[:len(a0)], a5[:len(a0)], a6[:len(a0)], a7[:len(a0)]
		for c, v := range a0 {
			d := dst[c*ld+r : c*ld+r+8 : c*ld+r+8]
			d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = v, a1[c], a2[c], a3[c], a4[c], a5[c], a6[c], a7[c]
		}
	}
	for ; r < rows; r++ {
		for c, v := range a[r*cols : (r+1)*cols] {
			dst[c*ld+r] = v
		}
	}
}

// reluGrad sets dst[i] = g[i]*1 where y[i] > 0 and g[i]*0 elsewhere: the
// gradient through a relu of output y (multiplied, so that NaN stays NaN).
func reluGrad(dst, g, y []float32) {
	g, y = g[:len(dst)], y[:len(dst)]
	for i, v := range y {
		// v > 0 (not NaN) exactly when its bits lie in [1, 0x7f800000];
		// a bit mask picks the factor (a branch would mispredict: the
		// signs are unpredictable).
		m := uint32(0)
		if math.Float32bits(v)-1 < 0x7f800000 {
			m = ^uint32(0)
		}
		dst[i] = g[i] * math.Float32frombits(0x3f800000&m)
	}
}

// sum4 returns the sum of x, added in four independent chains.
func sum4(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}
