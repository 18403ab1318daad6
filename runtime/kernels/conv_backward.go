package kernels

import "sync"

// Conv2DFilterGrad computes the kernel gradient of Conv2D for the output
// gradient dout (Batch, OutH, OutW, OutC): dw (KH, KW, InC, OutC) is
// overwritten. The reference loop (padding is zeros):
//
//	dw[ky,kx,ci,co] = sum_{n,y,x} in[n, y*sh+ky*dh-PadTop, x*sw+kx*dw-PadLeft, ci] * dout[n,y,x,co]
//
// It is the GEMM dw = colsᵀ·dout over the virtual im2col matrix cols: the
// transposed patches are gathered straight into the GEMM's row tiles
// (convAT), so no patch matrix is built; dout is packed once per call into
// a recycled buffer.
func Conv2DFilterGrad(p ConvParams, in, dout, dw []float32) {
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	m, k := p.Batch*oh*ow, p.KH*p.KW*p.InC
	if len(in) < p.Batch*p.InH*p.InW*p.InC || len(dout) < m*p.OutC || len(dw) < k*p.OutC {
		panic("kernels: Conv2DFilterGrad: input, output gradient or kernel gradient too short")
	}
	if k == 0 || p.OutC == 0 {
		return
	}
	if m == 0 {
		clear(dw[:k*p.OutC])
		return
	}
	pb := packBRecycled(m, p.OutC, dout, p.OutC)
	defer recyclePackedB(pb)
	gemmSource(k, p.OutC, m, newConvAT(p, in, oh, ow), pb, dw, p.OutC, false, nil)
}

// convAT is the transpose of convA: row r = (ky*KW+kx)*InC + ci, column i =
// output pixel (n, y, x in order).
type convAT struct {
	p      ConvParams
	in     []float32
	oh, ow int
}

func newConvAT(p ConvParams, in []float32, oh, ow int) *convAT {
	return &convAT{p: p, in: in, oh: oh, ow: ow}
}

// packA gathers rows [r0, r0+rows) and pixels [i0, i0+kc). Consecutive
// rows of one tap are consecutive input channels, so each pixel reads a
// contiguous run of the input and writes it down a column of the tile.
func (s *convAT) packA(dst []float32, ld, r0, rows, i0, kc int) {
	p := &s.p
	cin, sw := p.InC, p.StrideW
	for r := 0; r < rows; {
		tap, ci := (r0+r)/cin, (r0+r)%cin
		cnt := min(cin-ci, rows-r)
		ky, kx := tap/p.KW, tap%p.KW
		dy, dx := ky*p.DilationH-p.PadTop, kx*p.DilationW-p.PadLeft
		d := dst[r*ld : (r+cnt-1)*ld+kc]
		x := i0 % s.ow
		line := i0 / s.ow // n*oh + y
		for q := 0; q < kc; {
			run := min(s.ow-x, kc-q)
			n, y := line/s.oh, line%s.oh
			iy := y*p.StrideH + dy
			if uint(iy) >= uint(p.InH) {
				for i := 0; i < cnt; i++ {
					clear(d[i*ld+q : i*ld+q+run])
				}
			} else {
				// Output columns x+t (t < run) read input column (x+t)*sw+dx;
				// those in [t0, t1) lie inside the image.
				t0, t1 := 0, run
				for t0 < run && (x+t0)*sw+dx < 0 {
					t0++
				}
				for t1 > t0 && (x+t1-1)*sw+dx >= p.InW {
					t1--
				}
				for i := 0; i < cnt; i++ {
					clear(d[i*ld+q : i*ld+q+t0])
					clear(d[i*ld+q+t1 : i*ld+q+run])
				}
				row := s.in[(n*p.InH+iy)*p.InW*cin+ci:]
				t := t0
				for ; t+4 <= t1; t += 4 {
					o := ((x+t)*sw + dx) * cin
					st := sw * cin
					s0 := row[o : o+cnt]
					s1 := row[o+st : o+st+len(s0)]
					s2 := row[o+2*st : o+2*st+len(s0)]
					s3 := row[o+3*st : o+3*st+len(s0)]
					for i, v := range s0 {
						c := d[i*ld+q+t : i*ld+q+t+4]
						c[0], c[1], c[2], c[3] = v, s1[i], s2[i], s3[i]
					}
				}
				for ; t < t1; t++ {
					o := ((x+t)*sw + dx) * cin
					for i, v := range row[o : o+cnt] {
						d[i*ld+q+t] = v
					}
				}
			}
			q += run
			x = 0
			line++
		}
		r += cnt
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
			gemmSource(rows, k, cout, denseA{dout[(n*oh*ow+r0)*cout:], cout}, bt, tile, k, false, nil)
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

// packedBPool recycles the data of PackedB values made per call (an
// activation gradient packed as the B operand).
var packedBPool sync.Pool

// packBRecycled is PackB into a recycled buffer; give the result back with
// recyclePackedB once the product is done. A matrix exactly one panel wide
// is already in the packed layout and is used in place (read-only).
func packBRecycled(k, n int, b []float32, ldb int) *PackedB {
	checkMatrix("PackB", "b", k, n, b, ldb)
	nr := kernelFor(active).nr
	p := &PackedB{k: k, n: n, nr: nr}
	if n == nr && ldb == n {
		// One full-width panel: the packed layout is b itself.
		p.data = b[: k*n : k*n]
		p.borrowed = true
		return p
	}
	size := p.panels() * k * nr
	if bp, ok := packedBPool.Get().(*[]float32); ok && cap(*bp) >= size {
		p.data = (*bp)[:size]
	} else {
		p.data = make([]float32, size)
	}
	packBInto(p, b, ldb)
	return p
}

func recyclePackedB(p *PackedB) {
	if p.borrowed {
		return
	}
	d := p.data
	packedBPool.Put(&d)
}
