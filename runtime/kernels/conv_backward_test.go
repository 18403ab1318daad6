package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// convGradRef returns, in float64, the kernel gradient and the input
// gradient of Conv2D for the output gradient dout, with the magnitudes of
// their terms.
func convGradRef(p ConvParams, in, w, dout []float32) (dw, dwMag, din, dinMag []float64) {
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	dw, dwMag = make([]float64, p.KH*p.KW*p.InC*p.OutC), make([]float64, p.KH*p.KW*p.InC*p.OutC)
	din, dinMag = make([]float64, p.Batch*p.InH*p.InW*p.InC), make([]float64, p.Batch*p.InH*p.InW*p.InC)
	for n := 0; n < p.Batch; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for ky := 0; ky < p.KH; ky++ {
					for kx := 0; kx < p.KW; kx++ {
						iy, ix := y*p.StrideH+ky*p.DilationH-p.PadTop, x*p.StrideW+kx*p.DilationW-p.PadLeft
						if iy < 0 || iy >= p.InH || ix < 0 || ix >= p.InW {
							continue
						}
						for ci := 0; ci < p.InC; ci++ {
							xi := ((n*p.InH+iy)*p.InW+ix)*p.InC + ci
							for co := 0; co < p.OutC; co++ {
								g := float64(dout[((n*oh+y)*ow+x)*p.OutC+co])
								wi := ((ky*p.KW+kx)*p.InC+ci)*p.OutC + co
								t := float64(in[xi]) * g
								dw[wi] += t
								dwMag[wi] += math.Abs(t)
								u := float64(w[wi]) * g
								din[xi] += u
								dinMag[xi] += math.Abs(u)
							}
						}
					}
				}
			}
		}
	}
	return
}

func TestConv2DGradsRandom(t *testing.T) {
	for _, minC := range []int{1, 1 << 30} { // in-place patches; packed patches
		oldC := convDirectMinC
		convDirectMinC = minC
		forLevels(t, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, 12))
			for it := 0; it < 200; it++ {
				p := randConvParams(r)
				if it%3 == 0 {
					p.StrideH, p.StrideW = 1, 1
				}
				checkConvGrads(t, r, p)
			}
			// Many pixels (several K blocks of the filter gradient's GEMM),
			// deep input (taps across the packed B's row blocks).
			checkConvGrads(t, r, ConvParams{Batch: 3, InH: 17, InW: 19, InC: 37, KH: 3, KW: 3, OutC: 45, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1})
			checkConvGrads(t, r, ConvParams{Batch: 2, InH: 9, InW: 30, InC: 100, KH: 3, KW: 2, OutC: 33, DilationH: 2, PadTop: 2, PadBottom: 1, PadLeft: 1, PadRight: 0})
			// Output depths of one panel (16, 32); shallow and deep inputs,
			// many pixels (several blocks of the filter gradient).
			for _, co := range []int{16, 32} {
				checkConvGrads(t, r, ConvParams{Batch: 3, InH: 19, InW: 17, InC: 3, KH: 3, KW: 3, OutC: co})
				checkConvGrads(t, r, ConvParams{Batch: 2, InH: 11, InW: 13, InC: 32, KH: 3, KW: 3, OutC: co, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1})
			}
		})
		convDirectMinC = oldC
	}
}

func checkConvGrads(t *testing.T, r *rand.Rand, p ConvParams) {
	t.Helper()
	q := p.norm()
	oh, ow := q.OutH(), q.OutW()
	in := randSlice(r, p.Batch*p.InH*p.InW*p.InC)
	w := randSlice(r, p.KH*p.KW*p.InC*p.OutC)
	dout := randSlice(r, p.Batch*oh*ow*p.OutC)
	dwWant, dwMag, dinWant, dinMag := convGradRef(p, in, w, dout)
	const pad = 13
	dw, buf := guarded(len(dwWant), pad)
	Conv2DFilterGrad(p, in, dout, dw)
	checkGuards(t, "Conv2DFilterGrad", buf, pad, len(dw))
	for i := range dw {
		if !closeTo(dw[i], dwWant[i], dwMag[i], p.Batch*oh*ow) {
			t.Fatalf("%+v: dw[%d] = %v, want %v", p, i, dw[i], dwWant[i])
		}
	}
	din, buf := guarded(len(dinWant), pad)
	Conv2DInputGrad(p, dout, PackConvInputGrad(p.KH, p.KW, p.InC, p.OutC, w), din)
	checkGuards(t, "Conv2DInputGrad", buf, pad, len(din))
	for i := range din {
		if !closeTo(din[i], dinWant[i], dinMag[i], p.KH*p.KW*p.OutC) {
			t.Fatalf("%+v: din[%d] = %v, want %v", p, i, din[i], dinWant[i])
		}
	}
}

func TestInputGradByConv(t *testing.T) {
	for _, tc := range []struct {
		p    ConvParams
		want bool
	}{
		{ConvParams{InH: 8, InW: 8, InC: 16, KH: 3, KW: 3}, true},                                                   // valid
		{ConvParams{InH: 8, InW: 8, InC: 16, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true}, // same
		{ConvParams{InH: 8, InW: 8, InC: 3, KH: 3, KW: 3}, false},
		{ConvParams{InH: 8, InW: 8, InC: 16, KH: 3, KW: 3, StrideH: 2}, false},
		{ConvParams{InH: 8, InW: 8, InC: 16, KH: 3, KW: 3, PadTop: 3}, false},
	} {
		if got := inputGradByConv(tc.p.norm()); got != tc.want {
			t.Errorf("inputGradByConv(%+v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestPackBTransMatchesPackB(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range [][2]int{{1, 1}, {5, 33}, {400, 17}, {800, 70}} {
		k, n := s[0], s[1]
		b := randSlice(r, k*n)
		bt := make([]float32, n*k)
		for i := 0; i < k; i++ {
			for j := 0; j < n; j++ {
				bt[j*k+i] = b[i*n+j]
			}
		}
		p, q := PackB(k, n, b, n), PackBTrans(k, n, bt, k)
		for i := range p.data {
			if p.data[i] != q.data[i] {
				t.Fatalf("%dx%d: packed data differ at %d", k, n, i)
			}
		}
		// A recycled buffer full of garbage packs to the same data.
		for i := range q.data {
			q.data[i] = float32(math.NaN())
		}
		packBInto(q, b, n)
		for i := range p.data {
			if p.data[i] != q.data[i] {
				t.Fatalf("%dx%d: packBInto over old data differs at %d", k, n, i)
			}
		}
	}
}

func TestPool2DGrads(t *testing.T) { forLevels(t, testPool2DGrads) }

func testPool2DGrads(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for it := 0; it < 150; it++ {
		p := PoolParams{Batch: 1 + r.IntN(2), InH: 1 + r.IntN(8), InW: 1 + r.IntN(8), C: 1 + r.IntN(17),
			PoolH: 1 + r.IntN(3), PoolW: 1 + r.IntN(3), StrideH: r.IntN(3), StrideW: r.IntN(3)}
		p.PadTop, p.PadBottom = r.IntN(p.PoolH), r.IntN(p.PoolH)
		p.PadLeft, p.PadRight = r.IntN(p.PoolW), r.IntN(p.PoolW)
		in := randSlice(r, p.Batch*p.InH*p.InW*p.C)
		if it%4 == 0 { // ties, signed zeros and a NaN
			for i := range in {
				in[i] = float32(r.IntN(3))
				if r.IntN(3) == 0 {
					in[i] = float32(math.Copysign(0, -1))
				}
			}
			if it%8 == 0 {
				in[r.IntN(len(in))] = float32(math.NaN())
			}
		}
		size := p.Batch * p.OutH() * p.OutW() * p.C
		mx, ref := make([]float32, size), make([]float32, size)
		arg := make([]int32, size)
		MaxPool2DArgmax(p, in, mx, arg)
		mx2 := make([]float32, size)
		MaxPool2D(p, in, mx2)
		for i := range mx {
			if math.Float32bits(mx[i]) != math.Float32bits(mx2[i]) {
				t.Fatalf("%+v: MaxPool2D out[%d] = %v, MaxPool2DArgmax %v", p, i, mx2[i], mx[i])
			}
		}
		pool2D(p, in, ref, false) // the reference loop
		dout := randSlice(r, size)
		img := p.InH * p.InW * p.C
		din, buf := guarded(p.Batch*img, 7)
		clear(din)
		MaxPool2DGrad(p, dout, arg, din)
		checkGuards(t, "MaxPool2DGrad", buf, 7, len(din))
		davg, bufa := guarded(p.Batch*img, 7)
		clear(davg)
		AvgPool2DGrad(p, dout, davg)
		checkGuards(t, "AvgPool2DGrad", bufa, 7, len(davg))
		wantMax, wantAvg := make([]float64, len(din)), make([]float64, len(din))
		q := p.norm()
		oh, ow := p.OutH(), p.OutW()
		for n := 0; n < p.Batch; n++ {
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					for c := 0; c < p.C; c++ {
						o := ((n*oh+y)*ow+x)*p.C + c
						if math.Float32bits(mx[o]) != math.Float32bits(ref[o]) {
							t.Fatalf("%+v: MaxPool2DArgmax out[%d] = %v, reference %v", p, o, mx[o], ref[o])
						}
						a, cnt := -1, 0
						var pos []int
						for ky := 0; ky < p.PoolH; ky++ {
							for kx := 0; kx < p.PoolW; kx++ {
								iy, ix := y*q.StrideH+ky-p.PadTop, x*q.StrideW+kx-p.PadLeft
								if iy < 0 || ix < 0 || iy >= p.InH || ix >= p.InW {
									continue
								}
								i := (iy*p.InW+ix)*p.C + c
								if a < 0 || in[n*img+i] > in[n*img+a] {
									a = i
								}
								cnt++
								pos = append(pos, i)
							}
						}
						if int(arg[o]) != a {
							t.Fatalf("%+v: arg[%d] = %d, want %d", p, o, arg[o], a)
						}
						if a >= 0 {
							wantMax[n*img+a] += float64(dout[o])
						}
						for _, i := range pos {
							wantAvg[n*img+i] += float64(dout[o]) / float64(cnt)
						}
					}
				}
			}
		}
		for i := range din {
			if math.Abs(float64(din[i])-wantMax[i]) > 1e-5 || math.Abs(float64(davg[i])-wantAvg[i]) > 1e-5 {
				t.Fatalf("%+v: din[%d] = %v / %v, want %v / %v", p, i, din[i], davg[i], wantMax[i], wantAvg[i])
			}
		}
	}
}

// TestConv2DWeightGradsRelu checks the fused bias gradient and relu
// derivative against Conv2DFilterGrad of the masked output gradient and
// its column sums; NaN gradients stay NaN where the relu passes them.
func TestConv2DWeightGradsRelu(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		for it := 0; it < 40; it++ {
			p := randConvParams(r)
			if it == 0 {
				p = ConvParams{Batch: 3, InH: 19, InW: 17, InC: 3, KH: 3, KW: 3, OutC: 32}
			}
			q := p.norm()
			m, k := q.Batch*q.OutH()*q.OutW(), q.KH*q.KW*q.InC
			in, dout := randSlice(r, q.Batch*q.InH*q.InW*q.InC), randSlice(r, m*q.OutC)
			y := randSlice(r, m*q.OutC)
			for i := range y {
				if y[i] < 0 {
					y[i] = 0
				}
			}
			if len(dout) > 2 {
				dout[1], y[1] = float32(math.NaN()), 1
			}
			masked := make([]float32, len(dout))
			dbWant := make([]float32, q.OutC)
			for i, g := range dout {
				if y[i] > 0 {
					masked[i] = g
				}
				dbWant[i%q.OutC] += masked[i]
			}
			dwWant := make([]float32, k*q.OutC)
			Conv2DFilterGrad(p, in, masked, dwWant)
			dw, db := make([]float32, k*q.OutC), make([]float32, q.OutC)
			Conv2DWeightGrads(p, in, dout, y, dw, db)
			for i := range dw {
				if !(dw[i] == dwWant[i] || math.Abs(float64(dw[i]-dwWant[i])) <= 1e-4*(1+math.Abs(float64(dwWant[i])))) {
					if !(math.IsNaN(float64(dw[i])) && math.IsNaN(float64(dwWant[i]))) {
						t.Fatalf("%+v: dw[%d] = %v, want %v", p, i, dw[i], dwWant[i])
					}
				}
			}
			for i := range db {
				if !(math.Abs(float64(db[i]-dbWant[i])) <= 1e-4*(1+math.Abs(float64(dbWant[i])))) &&
					!(math.IsNaN(float64(db[i])) && math.IsNaN(float64(dbWant[i]))) {
					t.Fatalf("%+v: db[%d] = %v, want %v", p, i, db[i], dbWant[i])
				}
			}
		}
	})
}
