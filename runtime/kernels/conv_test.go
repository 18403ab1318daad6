package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// convRef is the float64 reference convolution (depthwise when mult > 0).
func convRef(p ConvParams, mult int, in, w, bias []float32) (want, mag []float64) {
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	want, mag = make([]float64, p.Batch*oh*ow*p.OutC), make([]float64, p.Batch*oh*ow*p.OutC)
	for n := 0; n < p.Batch; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for co := 0; co < p.OutC; co++ {
					var s, g float64
					if bias != nil {
						s, g = float64(bias[co]), math.Abs(float64(bias[co]))
					}
					for ky := 0; ky < p.KH; ky++ {
						for kx := 0; kx < p.KW; kx++ {
							iy := y*p.StrideH + ky*p.DilationH - p.PadTop
							ix := x*p.StrideW + kx*p.DilationW - p.PadLeft
							if iy < 0 || iy >= p.InH || ix < 0 || ix >= p.InW {
								continue
							}
							base := ((n*p.InH+iy)*p.InW + ix) * p.InC
							if mult > 0 {
								ci := co / mult
								t := float64(in[base+ci]) * float64(w[(ky*p.KW+kx)*p.OutC+co])
								s += t
								g += math.Abs(t)
								continue
							}
							for ci := 0; ci < p.InC; ci++ {
								t := float64(in[base+ci]) * float64(w[((ky*p.KW+kx)*p.InC+ci)*p.OutC+co])
								s += t
								g += math.Abs(t)
							}
						}
					}
					i := ((n*oh+y)*ow+x)*p.OutC + co
					want[i], mag[i] = s, g
				}
			}
		}
	}
	return
}

func randConvParams(r *rand.Rand) ConvParams {
	return ConvParams{
		Batch: 1 + r.IntN(2), InH: 1 + r.IntN(9), InW: 1 + r.IntN(9), InC: 1 + r.IntN(20),
		KH: 1 + r.IntN(4), KW: 1 + r.IntN(4), OutC: 1 + r.IntN(40),
		StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3),
		DilationH: 1 + r.IntN(2), DilationW: 1 + r.IntN(3),
		PadTop: r.IntN(3), PadBottom: r.IntN(3), PadLeft: r.IntN(3), PadRight: r.IntN(2),
	}
}

func checkConv(t *testing.T, p ConvParams, mult int, in, w, bias []float32) {
	t.Helper()
	size := p.Batch * p.OutH() * p.OutW() * p.OutC
	const pad = 19
	out, buf := guarded(size, pad)
	k := p.KH * p.KW * p.InC
	if mult > 0 {
		DepthwiseConv2D(p, mult, in, w, out, bias)
		k = p.KH * p.KW
	} else {
		Conv2D(p, in, PackConv(p.KH, p.KW, p.InC, p.OutC, w), out, bias)
	}
	checkGuards(t, "conv", buf, pad, size)
	if mult == 0 {
		// The clamp applied in the tiles' epilogue is the clamp of the
		// result, bit for bit.
		act := Clamp{-1, 2}
		got, gbuf := guarded(size, pad)
		Conv2DClamp(p, in, PackConv(p.KH, p.KW, p.InC, p.OutC, w), got, bias, act)
		checkGuards(t, "conv clamp", gbuf, pad, size)
		for i, v := range out {
			if c := min(max(v, act.Lo), act.Hi); math.Float32bits(got[i]) != math.Float32bits(c) {
				t.Fatalf("%+v: Conv2DClamp out[%d] = %v, want %v", p, i, got[i], c)
			}
		}
	}
	want, mag := convRef(p, mult, in, w, bias)
	for i := range out {
		if !closeTo(out[i], want[i], mag[i], k) {
			t.Fatalf("%+v mult %d: out[%d] = %v, want %v", p, mult, i, out[i], want[i])
		}
	}
}

func TestConv2DRandom(t *testing.T) {
	for _, minC := range []int{1, 1 << 30} { // in-place patches; packed patches
		oldC, oldW := convDirectMinC, convDirectMaxWeights
		convDirectMinC, convDirectMaxWeights = minC, 1<<30
		testConv2DRandom(t)
		convDirectMinC, convDirectMaxWeights = oldC, oldW
	}
}

func testConv2DRandom(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for it := 0; it < 300; it++ {
			p := randConvParams(r)
			if it%5 == 0 { // 1x1 fast path
				p.KH, p.KW, p.StrideH, p.StrideW = 1, 1, 1, 1
				p.PadTop, p.PadBottom, p.PadLeft, p.PadRight = 0, 0, 0, 0
			}
			in := randSlice(r, p.Batch*p.InH*p.InW*p.InC)
			w := randSlice(r, p.KH*p.KW*p.InC*p.OutC)
			var bias []float32
			if it%2 == 0 {
				bias = randSlice(r, p.OutC)
			}
			checkConv(t, p, 0, in, w, bias)
		}
		// A larger case spanning several K blocks and row tiles.
		p := ConvParams{Batch: 2, InH: 17, InW: 15, InC: 37, KH: 3, KW: 3, OutC: 45, StrideH: 1, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
		checkConv(t, p, 0, randSlice(r, 2*17*15*37), randSlice(r, 9*37*45), randSlice(r, 45))
		// Deep input: taps cross the packed B's row blocks (InC*taps > kcBlock).
		p = ConvParams{Batch: 1, InH: 9, InW: 30, InC: 100, KH: 3, KW: 2, OutC: 33, StrideW: 2, DilationH: 2, PadTop: 2, PadBottom: 1, PadLeft: 1, PadRight: 2}
		checkConv(t, p, 0, randSlice(r, 9*30*100), randSlice(r, 6*100*33), nil)
	})
}

func TestDepthwiseConv2DRandom(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for it := 0; it < 200; it++ {
			p := randConvParams(r)
			mult := 1
			if it%3 == 0 {
				mult = 1 + r.IntN(3)
			}
			p.InC = 1 + r.IntN(40)
			p.OutC = p.InC * mult
			in := randSlice(r, p.Batch*p.InH*p.InW*p.InC)
			w := randSlice(r, p.KH*p.KW*p.OutC)
			var bias []float32
			if it%2 == 0 {
				bias = randSlice(r, p.OutC)
			}
			checkConv(t, p, mult, in, w, bias)
		}
	})
}

func TestConvOutSizeAndSamePadding(t *testing.T) {
	// Keras: Conv2D(3, strides 2, padding same) on 7x7 gives 4x4, padding 1/1;
	// on 8x8 it gives 4x4 with padding 0 before and 1 after.
	if b, a := SamePadding(7, 3, 2, 1); b != 1 || a != 1 {
		t.Errorf("SamePadding(7,3,2,1) = %d,%d", b, a)
	}
	if b, a := SamePadding(8, 3, 2, 1); b != 0 || a != 1 {
		t.Errorf("SamePadding(8,3,2,1) = %d,%d", b, a)
	}
	p := ConvParams{InH: 8, InW: 7, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadBottom: 1, PadTop: 0, PadLeft: 1, PadRight: 1}
	if p.OutH() != 4 || p.OutW() != 4 {
		t.Errorf("out %dx%d, want 4x4", p.OutH(), p.OutW())
	}
	if (ConvParams{InH: 2, KH: 3}).OutH() != 0 {
		t.Error("kernel larger than input must give 0")
	}
}

func TestPool2D(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for it := 0; it < 100; it++ {
		p := PoolParams{Batch: 1 + r.IntN(2), InH: 1 + r.IntN(8), InW: 1 + r.IntN(8), C: 1 + r.IntN(17),
			PoolH: 1 + r.IntN(3), PoolW: 1 + r.IntN(3), StrideH: r.IntN(3), StrideW: r.IntN(3)}
		p.PadTop, p.PadBottom = r.IntN(p.PoolH), r.IntN(p.PoolH)
		p.PadLeft, p.PadRight = r.IntN(p.PoolW), r.IntN(p.PoolW)
		in := randSlice(r, p.Batch*p.InH*p.InW*p.C)
		size := p.Batch * p.OutH() * p.OutW() * p.C
		mx, bufm := guarded(size, 5)
		av, bufa := guarded(size, 5)
		MaxPool2D(p, in, mx)
		AvgPool2D(p, in, av)
		checkGuards(t, "MaxPool2D", bufm, 5, size)
		checkGuards(t, "AvgPool2D", bufa, 5, size)
		q := p.norm()
		oh, ow := p.OutH(), p.OutW()
		for n := 0; n < p.Batch; n++ {
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					for c := 0; c < p.C; c++ {
						best, sum, cnt := math.Inf(-1), 0.0, 0
						for ky := 0; ky < p.PoolH; ky++ {
							for kx := 0; kx < p.PoolW; kx++ {
								iy, ix := y*q.StrideH+ky-p.PadTop, x*q.StrideW+kx-p.PadLeft
								if iy < 0 || ix < 0 || iy >= p.InH || ix >= p.InW {
									continue
								}
								v := float64(in[((n*p.InH+iy)*p.InW+ix)*p.C+c])
								best, sum, cnt = math.Max(best, v), sum+v, cnt+1
							}
						}
						i := ((n*oh+y)*ow+x)*p.C + c
						if float64(mx[i]) != best {
							t.Fatalf("%+v: max[%d] = %v, want %v", p, i, mx[i], best)
						}
						if cnt > 0 && !closeTo(av[i], sum/float64(cnt), math.Abs(sum)+float64(cnt)*3, cnt) {
							t.Fatalf("%+v: avg[%d] = %v, want %v", p, i, av[i], sum/float64(cnt))
						}
					}
				}
			}
		}
	}
}
