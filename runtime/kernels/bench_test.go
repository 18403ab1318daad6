package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the reference shapes (M x K x N).
var benchShapes = [][3]int{
	{64, 64, 64}, {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
	{32, 784, 128}, {128, 512, 512}, {1, 784, 128}, {1, 4096, 4096},
}

// BenchmarkGemm reports GFLOP/s of Gemm on pre-packed weights for every
// implementation and for one and two threads; compare the avx512/avx2 rows
// with the generic row of the same shape.
func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		a, w := randSlice(r, m*k), randSlice(r, k*n)
		c := make([]float32, m*n)
		for _, l := range levels() {
			if l == levelGeneric && m*n*k > 1<<27 {
				continue // minutes per op
			}
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%dx%dx%d/%s/t%d", m, k, n, l, th), func(b *testing.B) {
					old := setLevel(l)
					defer setLevel(old)
					defer SetThreads(SetThreads(th))
					pb := PackB(k, n, w, n)
					b.ResetTimer()
					for b.Loop() {
						Gemm(m, n, k, a, k, pb, c, n, false, nil)
					}
					b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkConv2D reports GFLOP/s of a 3x3 same convolution, 56x56x64 ->
// 56x56x64 (the GEMM 3136x576x64).
func BenchmarkConv2D(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	p := ConvParams{Batch: 1, InH: 56, InW: 56, InC: 64, KH: 3, KW: 3, OutC: 64, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	in, w := randSlice(r, 56*56*64), randSlice(r, 9*64*64)
	out := make([]float32, 56*56*64)
	flops := 2 * float64(56*56) * 576 * 64
	for _, l := range levels() {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("3136x576x64/%s/t%d", l, th), func(b *testing.B) {
				old := setLevel(l)
				defer setLevel(old)
				defer SetThreads(SetThreads(th))
				pw := PackConv(3, 3, 64, 64, w)
				b.ResetTimer()
				for b.Loop() {
					Conv2D(p, in, pw, out, nil)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkActivations reports the throughput of each activation per
// implementation on 64K values (in cache).
func BenchmarkActivations(b *testing.B) {
	x := randSlice(rand.New(rand.NewPCG(3, 3)), 1<<16)
	dst := make([]float32, len(x))
	for _, f := range []struct {
		name string
		f    func(dst, x []float32)
	}{{"Exp", Exp}, {"Sigmoid", Sigmoid}, {"Tanh", Tanh}, {"GeluTanh", GeluTanh}, {"GeluErf", GeluErf}, {"Relu", Relu}} {
		for _, l := range levels() {
			b.Run(f.name+"/"+l.String(), func(b *testing.B) {
				old := setLevel(l)
				defer setLevel(old)
				b.SetBytes(int64(4 * len(x)))
				for b.Loop() {
					f.f(dst, x)
				}
			})
		}
	}
}

// BenchmarkConv2DGrads reports GFLOP/s of the forward pass, the kernel
// gradient and the input gradient of the tutorial CNN's two convolutions
// on a batch of 32 (3x3 valid: 32x32x3 -> 30x30x32, 15x15x32 -> 13x13x64).
func BenchmarkConv2DGrads(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, p := range []ConvParams{
		{Batch: 32, InH: 32, InW: 32, InC: 3, KH: 3, KW: 3, OutC: 32},
		{Batch: 32, InH: 15, InW: 15, InC: 32, KH: 3, KW: 3, OutC: 64},
	} {
		oh, ow := p.OutH(), p.OutW()
		in, w := randSlice(r, p.Batch*p.InH*p.InW*p.InC), randSlice(r, 9*p.InC*p.OutC)
		dout := randSlice(r, p.Batch*oh*ow*p.OutC)
		din, dw := make([]float32, len(in)), make([]float32, len(w))
		flops := 2 * float64(p.Batch*oh*ow) * float64(9*p.InC*p.OutC)
		name := fmt.Sprintf("%dx%dx%d-%d", p.InH, p.InW, p.InC, p.OutC)
		pw, pg := PackConv(3, 3, p.InC, p.OutC, w), PackConvInputGrad(3, 3, p.InC, p.OutC, w)
		for _, c := range []struct {
			what string
			f    func()
		}{
			{"forward", func() { Conv2D(p, in, pw, dout, nil) }},
			{"filter", func() { Conv2DFilterGrad(p, in, dout, dw) }},
			{"input", func() { Conv2DInputGrad(p, dout, pg, din) }},
		} {
			b.Run(name+"/"+c.what, func(b *testing.B) {
				for b.Loop() {
					c.f()
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkMaxPool2D reports the time of 2x2 max pooling over the tutorial
// CNN's first activation (32x30x30x32, relu'd random values), with and
// without the argmax, and of the reference loop.
func BenchmarkMaxPool2D(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	p := PoolParams{Batch: 32, InH: 30, InW: 30, C: 32, PoolH: 2, PoolW: 2}
	in := randSlice(r, 32*30*30*32)
	Relu(in, in)
	out := make([]float32, 32*15*15*32)
	arg := make([]int32, len(out))
	b.Run("MaxPool2D", func(b *testing.B) {
		for b.Loop() {
			MaxPool2D(p, in, out)
		}
	})
	b.Run("MaxPool2DArgmax", func(b *testing.B) {
		for b.Loop() {
			MaxPool2DArgmax(p, in, out, arg)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			pool2D(p, in, out, false)
		}
	})
}

// BenchmarkDepthwiseConv2D reports GFLOP/s of MobileNetV2's depthwise
// convolutions (3x3, padding same) per implementation, forward and backward
// (input and kernel gradients).
func BenchmarkDepthwiseConv2D(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, s := range []struct{ hw, c, stride int }{{112, 32, 1}, {112, 96, 2}, {56, 144, 1}, {14, 576, 1}, {7, 960, 1}} {
		p := ConvParams{Batch: 1, InH: s.hw, InW: s.hw, InC: s.c, KH: 3, KW: 3, OutC: s.c, StrideH: s.stride, StrideW: s.stride}
		p.PadTop, p.PadBottom = SamePadding(s.hw, 3, s.stride, 1)
		p.PadLeft, p.PadRight = p.PadTop, p.PadBottom
		in, w := randSlice(r, s.hw*s.hw*s.c), randSlice(r, 9*s.c)
		n := p.OutH() * p.OutW() * s.c
		out, dy, dw := make([]float32, n), randSlice(r, n), make([]float32, 9*s.c)
		dx := make([]float32, len(in))
		flops := 2 * float64(n) * 9
		for _, l := range levels() {
			name := fmt.Sprintf("%dx%dx%d/s%d/%s", s.hw, s.hw, s.c, s.stride, l)
			b.Run("forward/"+name, func(b *testing.B) {
				old := setLevel(l)
				defer setLevel(old)
				defer SetThreads(SetThreads(1))
				for b.Loop() {
					DepthwiseConv2D(p, 1, in, w, out, nil)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			b.Run("backward/"+name, func(b *testing.B) {
				old := setLevel(l)
				defer setLevel(old)
				defer SetThreads(SetThreads(1))
				for b.Loop() {
					DepthwiseConv2DBackward(p, 1, in, w, dy, dx, dw)
				}
				b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
