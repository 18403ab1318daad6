package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDepthwiseSpan compares the span kernel of every level with the
// portable one and a float64 sum, on channel counts and pixel counts around
// the vector widths and pixel groups, with guard values around the output.
func TestDepthwiseSpan(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	acts := []Clamp{NoClamp, {0, float32(math.Inf(1))}, {0, 6}, {-0.5, 0.25}}
	for _, c := range []int{1, 2, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47, 64, 100} {
		for _, npix := range []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 19} {
			ntaps := r.IntN(10)
			instep := c * (1 + r.IntN(2))
			ldo := c + r.IntN(3)
			ioffs, woffs := make([]int32, ntaps), make([]int32, ntaps)
			for i := range ioffs {
				ioffs[i] = int32(r.IntN(5) * c)
				woffs[i] = int32(r.IntN(9) * c)
			}
			in := randSlice(r, (npix-1)*instep+5*c)
			w := randSlice(r, 9*c)
			var bias []float32
			if npix%2 == 1 {
				bias = randSlice(r, c)
			}
			act := acts[r.IntN(len(acts))]
			n := (npix-1)*ldo + c
			ref := make([]float32, n)
			depthwiseSpanGeneric(in, ioffs, woffs, w, ref, npix, instep, ldo, c, bias, &act)
			forLevels(t, func(t *testing.T) {
				const pad = 17
				out, buf := guarded(n, pad)
				depthwiseSpan(in, ioffs, woffs, w, out, npix, instep, ldo, c, bias, &act)
				checkGuards(t, "depthwiseSpan", buf, pad, n)
				for p := 0; p < npix; p++ {
					for j := 0; j < c; j++ {
						var s, mag float64
						if bias != nil {
							s, mag = float64(bias[j]), math.Abs(float64(bias[j]))
						}
						for k := range ioffs {
							v := float64(in[p*instep+int(ioffs[k])+j]) * float64(w[int(woffs[k])+j])
							s, mag = s+v, mag+math.Abs(v)
						}
						s = math.Min(math.Max(s, float64(act.Lo)), float64(act.Hi))
						i := p*ldo + j
						if !closeTo(out[i], s, mag, ntaps+1) || !closeTo(ref[i], s, mag, ntaps+1) {
							t.Fatalf("c %d npix %d taps %d: out[%d] = %v, portable %v, want %v", c, npix, ntaps, i, out[i], ref[i], s)
						}
					}
				}
			})
		}
	}
}

// TestDepthwiseSpanNaN checks that the fused clamp keeps NaN, as the
// portable loop does.
func TestDepthwiseSpanNaN(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		c := 20
		in := make([]float32, c)
		in[3], in[18] = float32(math.NaN()), float32(math.NaN())
		w := make([]float32, c)
		for i := range w {
			w[i] = 1
		}
		out := make([]float32, c)
		act := Clamp{0, 6}
		depthwiseSpan(in, []int32{0}, []int32{0}, w, out, 1, 0, c, c, nil, &act)
		for j, v := range out {
			if isNaN := v != v; isNaN != (j == 3 || j == 18) {
				t.Fatalf("out[%d] = %v", j, v)
			}
		}
	})
}

// TestDepthwiseConv2DClamp checks the fused activation on whole
// convolutions against the float64 reference, clamped.
func TestDepthwiseConv2DClamp(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(23, 24))
		for it := 0; it < 60; it++ {
			p := randConvParams(r)
			mult := 1 + it%3/2
			p.InC = 1 + r.IntN(40)
			p.OutC = p.InC * mult
			in := randSlice(r, p.Batch*p.InH*p.InW*p.InC)
			w := randSlice(r, p.KH*p.KW*p.OutC)
			bias := randSlice(r, p.OutC)
			act := Clamp{0, 0.5}
			size := p.Batch * p.OutH() * p.OutW() * p.OutC
			out, buf := guarded(size, 9)
			DepthwiseConv2DClamp(p, mult, in, w, out, bias, act)
			checkGuards(t, "DepthwiseConv2DClamp", buf, 9, size)
			want, mag := convRef(p, mult, in, w, bias)
			for i := range out {
				v := math.Min(math.Max(want[i], 0), 0.5)
				if !closeTo(out[i], v, mag[i], p.KH*p.KW) {
					t.Fatalf("%+v: out[%d] = %v, want %v", p, i, out[i], v)
				}
			}
		}
	})
}

// depthwiseGradRef returns the float64 gradients of DepthwiseConv2D and
// the sums of their absolute terms.
func depthwiseGradRef(p ConvParams, mult int, in, w, dy []float32) (dx, dxMag, dw, dwMag []float64) {
	p = p.norm()
	oh, ow, cout := p.OutH(), p.OutW(), p.OutC
	dx, dxMag = make([]float64, len(in)), make([]float64, len(in))
	dw, dwMag = make([]float64, p.KH*p.KW*cout), make([]float64, p.KH*p.KW*cout)
	for n := 0; n < p.Batch; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for ky := 0; ky < p.KH; ky++ {
					for kx := 0; kx < p.KW; kx++ {
						iy, ix := y*p.StrideH+ky*p.DilationH-p.PadTop, x*p.StrideW+kx*p.DilationW-p.PadLeft
						if iy < 0 || iy >= p.InH || ix < 0 || ix >= p.InW {
							continue
						}
						for co := 0; co < cout; co++ {
							i := ((n*p.InH+iy)*p.InW+ix)*p.InC + co/mult
							wi := (ky*p.KW+kx)*cout + co
							g := float64(dy[((n*oh+y)*ow+x)*cout+co])
							a, b := g*float64(w[wi]), float64(in[i])*g
							dx[i], dxMag[i] = dx[i]+a, dxMag[i]+math.Abs(a)
							dw[wi], dwMag[wi] = dw[wi]+b, dwMag[wi]+math.Abs(b)
						}
					}
				}
			}
		}
	}
	return
}

func TestDepthwiseConv2DBackward(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(25, 26))
		for it := 0; it < 120; it++ {
			p := randConvParams(r)
			mult := 1
			if it%3 == 0 {
				mult = 1 + r.IntN(3)
			}
			p.InC = 1 + r.IntN(40)
			if it == 0 {
				p.Batch, p.InH, p.InW, p.InC = 2, 17, 19, 70 // several goroutines' channel blocks
			}
			p.OutC = p.InC * mult
			in := randSlice(r, p.Batch*p.InH*p.InW*p.InC)
			w := randSlice(r, p.KH*p.KW*p.OutC)
			dy := randSlice(r, p.Batch*p.OutH()*p.OutW()*p.OutC)
			dx, bufx := guarded(len(in), 7)
			dw, bufw := guarded(len(w), 7)
			xin, win := in, w
			switch it % 4 {
			case 1:
				dx, win = nil, nil // the kernel gradient alone needs no kernel
			case 2:
				dw, xin = nil, nil // the input gradient alone needs no input
			}
			DepthwiseConv2DBackward(p, mult, xin, win, dy, dx, dw)
			checkGuards(t, "dx", bufx, 7, len(in))
			checkGuards(t, "dw", bufw, 7, len(w))
			wdx, mdx, wdw, mdw := depthwiseGradRef(p, mult, in, w, dy)
			k := p.OutH() * p.OutW() * p.Batch * mult
			for i := range dx {
				if !closeTo(dx[i], wdx[i], mdx[i], k) {
					t.Fatalf("%+v mult %d: dx[%d] = %v, want %v", p, mult, i, dx[i], wdx[i])
				}
			}
			for i := range dw {
				if !closeTo(dw[i], wdw[i], mdw[i], k) {
					t.Fatalf("%+v mult %d: dw[%d] = %v, want %v", p, mult, i, dw[i], wdw[i])
				}
			}
		}
	})
}
