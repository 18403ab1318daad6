package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps returns the distance between got and the float32 rounding of want in
// units in the last place.
func ulps(got float32, want float64) float64 {
	w := float32(want)
	if got == w || (got != got && w != w) {
		return 0
	}
	if math.IsInf(float64(w), 0) || math.IsInf(float64(got), 0) {
		return math.Inf(1)
	}
	u := math.Abs(float64(math.Nextafter32(w, float32(math.Inf(1)))) - float64(w))
	if u == 0 || w == 0 {
		u = float64(math.SmallestNonzeroFloat32)
	}
	return math.Abs(float64(got)-want) / u
}

func TestActivations(t *testing.T) { forLevels(t, testActivations) }

func testActivations(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var xs []float32
	for i := 0; i < 20000; i++ {
		xs = append(xs, float32((r.Float64()*2-1)*float64([]float32{1, 10, 100}[i%3])))
	}
	xs = append(xs, 0, -0.0, 1e-30, -1e-30, 0.625, -0.625, 9, -9, 88.7, 88.8, -87.3, -88, -100, -104, -200, 200,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()))
	gelu := func(v float64) float64 { return 0.5 * v * (1 + math.Tanh(sqrt2pi*(v+0.044715*v*v*v))) }
	for _, tc := range []struct {
		name string
		f    func(dst, x []float32)
		ref  func(float64) float64
		ulp  float64
		abs  float64 // absolute tolerance where cancellation makes ulps meaningless
	}{
		{"Exp", Exp, math.Exp, 2, 0},
		{"Tanh", Tanh, math.Tanh, 3, 0},
		{"Sigmoid", Sigmoid, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, 3, 0},
		{"Silu", Silu, func(v float64) float64 { return v / (1 + math.Exp(-v)) }, 4, 1e-37}, // x*sigmoid(x) is subnormal below x = -87
		{"HardSilu", HardSilu, func(v float64) float64 { return v * math.Min(math.Max(v+3, 0), 6) / 6 }, 2, 0},
		{"Relu", Relu, func(v float64) float64 { return math.Max(v, 0) }, 0, 0},
		{"Relu6", func(dst, x []float32) { ClampTo(dst, x, Clamp{0, 6}) }, func(v float64) float64 { return math.Min(math.Max(v, 0), 6) }, 0, 0},
		{"Clamp", func(dst, x []float32) { ClampTo(dst, x, Clamp{-2.5, 40}) }, func(v float64) float64 { return math.Min(math.Max(v, -2.5), 40) }, 0, 0},
		{"GeluTanh", GeluTanh, gelu, 4, 1e-7},
		{"GeluErf", GeluErf, func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }, 1, 1e-30},
	} {
		dst, buf := guarded(len(xs), 3)
		tc.f(dst, xs)
		checkGuards(t, tc.name, buf, 3, len(xs))
		worst := 0.0
		for i, x := range xs {
			want := tc.ref(float64(x))
			if (tc.name == "Relu" || tc.name == "Relu6" || tc.name == "Clamp") && x != x {
				want = math.NaN()
			}
			u := ulps(dst[i], want)
			if u > tc.ulp && !(tc.abs > 0 && math.Abs(float64(dst[i])-want) <= tc.abs) {
				t.Errorf("%s(%v) = %v, want %v (%.1f ulps)", tc.name, x, dst[i], want, u)
				break
			}
			if !math.IsInf(u, 0) && u <= tc.ulp {
				worst = max(worst, u)
			}
		}
		t.Logf("%s: worst %.2f ulps", tc.name, worst)
		// Every length around the vector width, compared with the portable code.
		for n := 0; n <= 33; n++ {
			d, b := guarded(n, 3)
			tc.f(d, xs[:n])
			checkGuards(t, tc.name, b, 3, n)
			for i := range d {
				if u := ulps(d[i], tc.ref(float64(xs[i]))); u > tc.ulp && math.Abs(float64(d[i])-tc.ref(float64(xs[i]))) > tc.abs {
					t.Fatalf("%s n=%d: [%d] = %v", tc.name, n, i, d[i])
				}
			}
		}
		// In place.
		in := append([]float32(nil), xs...)
		tc.f(in, in)
		for i := range in {
			if math.Float32bits(in[i]) != math.Float32bits(dst[i]) && !(in[i] != in[i] && dst[i] != dst[i]) {
				t.Fatalf("%s in place differs at %d", tc.name, i)
			}
		}
	}
}
