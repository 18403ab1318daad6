package kernels

import "math"

// The activations write f(x[i]) to dst[i] for i < len(dst); dst may be x.
// They compute in float32 with range reduction and minimax polynomials
// (Cephes's expf and tanhf), within a few float32 ulps of the exact value,
// except GeluErf which evaluates erf in float64.

const (
	expHi   = 88.72283   // exp overflows float32 above this
	expLo   = -103.97208 // exp is 0 in float32 below this
	log2e   = 1.44269504088896341
	ln2Hi   = 0.693359375
	ln2Lo   = -2.12194440e-4
	sqrt2pi = 0.7978845608028654 // sqrt(2/pi)
)

func checkUnary(fn string, dst, x []float32) {
	if len(x) < len(dst) {
		panic("kernels: " + fn + ": x shorter than dst")
	}
}

// unaryAsm is an assembly activation loop: dst[i] = f(x[i]) for i < n.
type unaryAsm func(dst, x *float32, n int)

// The AVX-512 activation loops, set by the amd64 start-up code.
var expAsm, sigmoidAsm, siluAsm, hardSiluAsm, tanhAsm, geluTanhAsm, reluAsm unaryAsm

// clampAsm is the AVX-512 loop of ClampTo, set by the amd64 start-up code.
var clampAsm func(dst, x *float32, n int, lo, hi float32)

// runAsm runs f on dst and x when the AVX-512 level is active and reports
// whether it did.
func runAsm(f unaryAsm, dst, x []float32) bool {
	if f == nil || active < levelAVX512 {
		return false
	}
	if len(dst) > 0 {
		f(&dst[0], &x[0], len(dst))
	}
	return true
}

// expf returns e**x in float32.
func expf(x float32) float32 {
	switch {
	case x > expHi:
		return float32(math.Inf(1))
	case x < expLo:
		return 0
	case x != x:
		return x
	}
	t := x*log2e + 0.5
	ni := int32(t) // |t| < 151: no overflow
	if float32(ni) > t {
		ni-- // floor, not truncation
	}
	n := float32(ni)
	r := x - n*ln2Hi - n*ln2Lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	// Scale by 2**n in two steps so that subnormal results stay right.
	if ni < -126 {
		y *= math.Float32frombits(uint32(ni+126+127) << 23)
		return y * math.Float32frombits(1<<23) // 2**-126
	}
	if ni > 127 {
		return y * 2 * math.Float32frombits(uint32(ni-1+127)<<23)
	}
	return y * math.Float32frombits(uint32(ni+127)<<23)
}

// tanhf returns tanh(x) in float32.
func tanhf(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	switch {
	case x != x:
		return x
	case a > 9:
		if x < 0 {
			return -1
		}
		return 1
	case a >= 0.625:
		t := 1 - 2/(expf(2*a)+1)
		if x < 0 {
			return -t
		}
		return t
	}
	z := x * x
	p := float32(-5.70498872745e-3)
	p = p*z + 2.06390887954e-2
	p = p*z - 5.37397155531e-2
	p = p*z + 1.33314422036e-1
	p = p*z - 3.33332819422e-1
	return p*z*x + x
}

// Exp writes e**x[i] to dst[i].
func Exp(dst, x []float32) {
	checkUnary("Exp", dst, x)
	if runAsm(expAsm, dst, x) {
		return
	}
	for i := range dst {
		dst[i] = expf(x[i])
	}
}

// Tanh writes tanh(x[i]) to dst[i].
func Tanh(dst, x []float32) {
	checkUnary("Tanh", dst, x)
	if runAsm(tanhAsm, dst, x) {
		return
	}
	for i := range dst {
		dst[i] = tanhf(x[i])
	}
}

// Sigmoid writes 1/(1+e**-x[i]) to dst[i].
func Sigmoid(dst, x []float32) {
	checkUnary("Sigmoid", dst, x)
	if runAsm(sigmoidAsm, dst, x) {
		return
	}
	for i := range dst {
		dst[i] = sigmoidf(x[i])
	}
}

// sigmoidf returns 1/(1+e**-x), through e**x for negative x so that tiny
// results keep their precision.
func sigmoidf(x float32) float32 {
	if x < 0 {
		e := expf(x)
		return e / (1 + e)
	}
	return 1 / (1 + expf(-x))
}

// Silu writes x[i]/(1+e**-x[i]) (x times its sigmoid: silu, swish) to
// dst[i], as siluf computes it.
func Silu(dst, x []float32) {
	checkUnary("Silu", dst, x)
	if runAsm(siluAsm, dst, x) {
		return
	}
	for i := range dst {
		dst[i] = siluf(x[i])
	}
}

// siluf returns x/(1+e**-x) with one division: x/(1+e) for x >= 0 and
// (x*e)/(1+e) below, e = e**-|x|.
func siluf(x float32) float32 {
	if x < 0 {
		e := expf(x)
		return x * e / (1 + e)
	}
	return x / (1 + expf(-x))
}

// HardSilu writes x[i]*(min(max(x[i]+3, 0), 6)/6) (hard_silu, hard_swish)
// to dst[i], rounding as Keras's float32 formula does.
func HardSilu(dst, x []float32) {
	checkUnary("HardSilu", dst, x)
	if runAsm(hardSiluAsm, dst, x) {
		return
	}
	for i := range dst {
		v := x[i]
		dst[i] = v * (min(max(v+3, 0), 6) / 6)
	}
}

// Relu writes max(x[i], 0) to dst[i] (NaN stays NaN).
func Relu(dst, x []float32) {
	checkUnary("Relu", dst, x)
	if runAsm(reluAsm, dst, x) {
		return
	}
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = max(v, 0)
	}
}

// ClampTo writes act's min(max(x[i], Lo), Hi) to dst[i] (NaN stays NaN):
// relu6 and the other clipped activations.
func ClampTo(dst, x []float32, act Clamp) {
	checkUnary("ClampTo", dst, x)
	if act.Lo == 0 && math.IsInf(float64(act.Hi), 1) {
		Relu(dst, x)
		return
	}
	if clampAsm != nil && active >= levelAVX512 {
		if len(dst) > 0 {
			clampAsm(&dst[0], &x[0], len(dst), act.Lo, act.Hi)
		}
		return
	}
	x = x[:len(dst)]
	lo, hi := act.Lo, act.Hi
	for i, v := range x {
		dst[i] = min(max(v, lo), hi)
	}
}

// GeluTanh writes Keras's approximate GELU,
// 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x**3))), to dst[i].
func GeluTanh(dst, x []float32) {
	checkUnary("GeluTanh", dst, x)
	if runAsm(geluTanhAsm, dst, x) {
		return
	}
	for i := range dst {
		v := x[i]
		dst[i] = 0.5 * v * (1 + tanhf(sqrt2pi*(v+0.044715*v*v*v)))
	}
}

// GeluErf writes the exact GELU, 0.5*x*(1+erf(x/sqrt(2))), to dst[i].
func GeluErf(dst, x []float32) {
	checkUnary("GeluErf", dst, x)
	for i := range dst {
		v := float64(x[i])
		dst[i] = float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
	}
}
