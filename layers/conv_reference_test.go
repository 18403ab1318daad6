package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

// referenceConv is the convolution by its definition, one multiply-add per
// (output, tap, channel): the specification the GEMM paths must match.
func referenceConv(p *convProblem, x, w, bias []float32) []float32 {
	in, out := p.win.inSize(), p.win.outSize()
	cg, fg := p.cinG(), p.coutG()
	y := make([]float32, p.batch*out*p.cout)
	for n := 0; n < p.batch; n++ {
		p.win.forEachTap(func(o, t, i int) {
			for co := 0; co < p.cout; co++ {
				g := co / fg
				var s float32
				for c := 0; c < cg; c++ {
					s += x[(n*in+i)*p.cin+g*cg+c] * w[(t*cg+c)*p.cout+co]
				}
				y[(n*out+o)*p.cout+co] += s
			}
		})
		if bias != nil {
			addBias(y[n*out*p.cout:(n+1)*out*p.cout], bias)
		}
	}
	return y
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// TestConvProblemMatchesReference checks the kernel and im2col paths on
// random geometries (1-3 dimensions, groups, strides, dilation, padding)
// against referenceConv, and the backward passes through the adjoint
// identities <conv(x), dy> = <x, backwardData(dy)> = <w, backwardFilter(x, dy)>.
func TestConvProblemMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for iter := 0; iter < 200; iter++ {
		rank := 1 + r.IntN(3)
		a := windowArgs{rank: rank, padding: []string{"valid", "same", "causal"}[r.IntN(3)]}
		if a.padding == "causal" && rank != 1 {
			a.padding = "same"
		}
		in := make([]int, rank)
		for i := 0; i < rank; i++ {
			in[i] = 1 + r.IntN(7)
			a.kernel = append(a.kernel, 1+r.IntN(3))
			a.strides = append(a.strides, 1+r.IntN(3))
			a.dilation = append(a.dilation, 1+r.IntN(2))
		}
		win, err := newWindow(a, in)
		if err != nil {
			continue // window larger than the input
		}
		groups := 1 + r.IntN(3)
		p := convProblem{win: win, batch: 1 + r.IntN(3), cin: groups * (1 + r.IntN(3)), cout: groups * (1 + r.IntN(3)), groups: groups}
		name := fmt.Sprintf("%d: %+v", iter, p)
		x := randSlice(r, p.batch*win.inSize()*p.cin)
		w := randSlice(r, p.kG()*p.cout)
		bias := randSlice(r, p.cout)
		var cache convPack
		pk := cache.get(&runtime.Variable{Name: "kernel", Value: &runtime.Tensor{Shape: []int{len(w)}, Data: w}})
		got := make([]float32, p.rows()*p.cout)
		p.forward(x, pk, bias, got)
		want := referenceConv(&p, x, w, bias)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%s: forward[%d] = %g, want %g", name, i, got[i], want[i])
			}
		}
		dy := randSlice(r, len(got))
		lhs := dot(referenceConv(&p, x, w, nil), dy)
		if rhs := dot(x, p.backwardData(dy, pk)); math.Abs(lhs-rhs) > 1e-3*(1+math.Abs(lhs)) {
			t.Fatalf("%s: <conv(x), dy> = %g, <x, backwardData(dy)> = %g", name, lhs, rhs)
		}
		if rhs := dot(w, p.backwardFilter(x, dy)); math.Abs(lhs-rhs) > 1e-3*(1+math.Abs(lhs)) {
			t.Fatalf("%s: <conv(x), dy> = %g, <w, backwardFilter(x, dy)> = %g", name, lhs, rhs)
		}
	}
}

// tutorialConv is the tutorial CNN's first layer: Conv2D(32, (3, 3),
// relu) on a batch of 32x32x3 images.
func tutorialConv(b *testing.B, batch int, activation string) (Layer, *runtime.Tensor) {
	r := rand.New(rand.NewPCG(1, 2))
	l := newTestLayer(&testing.T{}, "Conv2D", `{"filters": 32, "kernel_size": [3, 3], "activation": "`+activation+`"}`)
	if _, err := l.Build([][]int{{-1, 32, 32, 3}}); err != nil {
		b.Fatal(err)
	}
	randomizeWeights(r, l)
	return l, randomTensor(r, batch, 32, 32, 3)
}

// BenchmarkConv2DTutorial measures the tutorial CNN's Conv2D forward pass
// and a training step (forward and backward), beside the reference loop.
func BenchmarkConv2DTutorial(b *testing.B) {
	const batch = 32
	l, x := tutorialConv(b, batch, "relu")
	flops := int64(2 * batch * 30 * 30 * 32 * 27)
	b.Run("forward-linear", func(b *testing.B) {
		lin, _ := tutorialConv(b, batch, "linear")
		b.SetBytes(flops)
		for i := 0; i < b.N; i++ {
			if _, _, err := lin.Forward(&runtime.Context{}, []*runtime.Tensor{x}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("forward", func(b *testing.B) {
		b.SetBytes(flops) // "MB/s" reads as MFLOP/s
		for i := 0; i < b.N; i++ {
			if _, _, err := l.Forward(&runtime.Context{}, []*runtime.Tensor{x}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("forward+backward", func(b *testing.B) {
		b.SetBytes(3 * flops)
		for i := 0; i < b.N; i++ {
			ctx := &runtime.Context{Grad: true}
			y, back, err := l.Forward(ctx, []*runtime.Tensor{x})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := back(y); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference-forward", func(b *testing.B) {
		c := l.(*Conv)
		p, _ := c.problem(x.Shape)
		p.batch = batch
		b.SetBytes(flops)
		for i := 0; i < b.N; i++ {
			referenceConv(&p, x.Data, c.Kernel.Value.Data, c.Bias.Value.Data)
		}
	})
}

// BenchmarkMaxPooling2DTutorial measures MaxPooling2D((2, 2)) on the
// tutorial CNN's first feature map.
func BenchmarkMaxPooling2DTutorial(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	l := newTestLayer(&testing.T{}, "MaxPooling2D", `{"pool_size": [2, 2]}`)
	x := randomTensor(r, 32, 30, 30, 32)
	b.SetBytes(int64(4 * x.Size()))
	b.Run("forward", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			l.Forward(&runtime.Context{}, []*runtime.Tensor{x})
		}
	})
	b.Run("forward+backward", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			y, back, _ := l.Forward(&runtime.Context{Grad: true}, []*runtime.Tensor{x})
			back(y)
		}
	})
}
