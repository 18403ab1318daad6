package main

import (
	"fmt"
	"math"
)

// Activation loops (AVX-512F): dst[i] = f(x[i]) for i < n, 16 lanes at a
// time with a masked tail, computing as the portable expf/tanhf do.

// actConsts is the constant table actc<> (one float32 each, broadcast at use).
var actConsts = []struct {
	name string
	v    float32
}{
	{"lo", -103.97208}, {"hi", 88.72283}, {"log2e", 1.44269504088896341}, {"half", 0.5},
	{"ln2hi", 0.693359375}, {"ln2lo", -2.12194440e-4},
	{"e0", 1.9875691500e-4}, {"e1", 1.3981999507e-3}, {"e2", 8.3334519073e-3},
	{"e3", 4.1665795894e-2}, {"e4", 1.6666665459e-1}, {"e5", 5.0000001201e-1},
	{"one", 1}, {"two", 2}, {"inf", float32(math.Inf(1))},
	{"t0", -5.70498872745e-3}, {"t1", 2.06390887954e-2}, {"t2", -5.37397155531e-2},
	{"t3", 1.33314422036e-1}, {"t4", -3.33332819422e-1}, {"tsmall", 0.625},
	{"gelu", 0.044715}, {"sqrt2pi", 0.7978845608028654}, {"three", 3}, {"six", 6},
}

// c returns the broadcast memory operand of constant name.
func c(name string) string {
	for i, k := range actConsts {
		if k.name == name {
			return fmt.Sprintf("actc<>+%d(SB)", 4*i)
		}
	}
	panic("no constant " + name)
}

func (g *gen) actTable() {
	g.p("")
	for i, k := range actConsts {
		g.p("DATA actc<>+%d(SB)/4, $0x%08x // %s = %v", 4*i, math.Float32bits(k.v), k.name, k.v)
	}
	g.p("GLOBL actc<>(SB), RODATA|NOPTR, $%d", 4*len(actConsts))
}

// exp512 writes exp(Z<x>) to Z<y> using Z2..Z7 and K3, K4 (x is kept).
func (g *gen) exp512(x, y int) {
	z := func(i int) string { return fmt.Sprintf("Z%d", i) }
	X, Y := z(x), z(y)
	g.p("\tVBROADCASTSS %s, Z2", c("lo"))
	g.p("\tVMAXPS %s, Z2, Z2", X) // NaN passes (second source)
	g.p("\tVBROADCASTSS %s, Z3", c("hi"))
	g.p("\tVMINPS Z2, Z3, Z2") // t = clamp(x)
	g.p("\tVBROADCASTSS %s, Z3", c("half"))
	g.p("\tVFMADD231PS.BCST %s, Z2, Z3", c("log2e"))  // t*log2e + 0.5
	g.p("\tVRNDSCALEPS $9, Z3, Z3")                   // n = floor
	g.p("\tVFNMADD231PS.BCST %s, Z3, Z2", c("ln2hi")) // r = t - n*ln2hi
	g.p("\tVFNMADD231PS.BCST %s, Z3, Z2", c("ln2lo"))
	g.p("\tVBROADCASTSS %s, Z4", c("e0"))
	for _, k := range []string{"e1", "e2", "e3", "e4", "e5"} {
		g.p("\tVFMADD213PS.BCST %s, Z2, Z4", c(k))
	}
	g.p("\tVMULPS Z2, Z2, Z5")
	g.p("\tVFMADD213PS Z2, Z5, Z4") // p*r*r + r
	g.p("\tVADDPS.BCST %s, Z4, Z4", c("one"))
	// Scale by 2**n as 2**(n>>1) * 2**(n-(n>>1)), both normal.
	g.p("\tVCVTPS2DQ Z3, Z5")
	g.p("\tVPSRAD $1, Z5, Z6")
	g.p("\tVPSUBD Z6, Z5, Z7")
	g.p("\tMOVL $127, AX")
	g.p("\tVPBROADCASTD AX, Z5")
	g.p("\tVPADDD Z5, Z6, Z6")
	g.p("\tVPADDD Z5, Z7, Z7")
	g.p("\tVPSLLD $23, Z6, Z6")
	g.p("\tVPSLLD $23, Z7, Z7")
	g.p("\tVMULPS Z6, Z4, Z4")
	g.p("\tVMULPS Z7, Z4, %s", Y)
	g.p("\tVCMPPS.BCST $0x1e, %s, %s, K3", c("hi"), X) // x > hi
	g.p("\tVBROADCASTSS %s, K3, %s", c("inf"), Y)
	g.p("\tVCMPPS.BCST $0x11, %s, %s, K4", c("lo"), X) // x < lo
	g.p("\tVPXORD %s, %s, K4, %s", Y, Y, Y)
}

// actLoop writes a function name(dst, x *float32, n int) whose body maps Z0
// to Z1.
func (g *gen) actLoop(name string, body func()) { g.actLoopArgs(name, "", 24, nil, body) }

// actLoopArgs is actLoop for a function with more arguments after n
// (args, of frame bytes in all), which pre loads.
func (g *gen) actLoopArgs(name, args string, frame int, pre, body func()) {
	g.p("")
	g.p("// func %s(dst, x *float32, n int%s)", name, args)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-%d", name, frame)
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ x+8(FP), SI")
	g.p("\tMOVQ n+16(FP), CX")
	if pre != nil {
		pre()
	}
	g.p("%s_loop:", name)
	g.p("\tTESTQ CX, CX")
	g.p("\tJEQ %s_done", name)
	g.p("\tMOVQ $-1, AX")
	g.p("\tCMPQ CX, $16")
	g.p("\tJGE %s_full", name)
	g.p("\tMOVL $1, AX")
	g.p("\tSHLL CX, AX")
	g.p("\tDECL AX")
	g.p("%s_full:", name)
	g.p("\tKMOVW AX, K1")
	g.p("\tVMOVUPS.Z (SI), K1, Z0")
	body()
	g.p("\tVMOVUPS Z1, K1, (DI)")
	g.p("\tADDQ $64, SI")
	g.p("\tADDQ $64, DI")
	g.p("\tSUBQ $16, CX")
	g.p("\tJGT %s_loop", name)
	g.p("%s_done:", name)
	g.p("\tVZEROUPPER")
	g.p("\tRET")
}

// tanh512 writes tanh(Z<x>) to Z1 using Z2..Z11, K2..K4.
func (g *gen) tanh512(x int) {
	X := fmt.Sprintf("Z%d", x)
	// Large branch: 1 - 2/(exp(2|x|)+1) with the sign of x.
	g.p("\tMOVL $0x7fffffff, AX")
	g.p("\tVPBROADCASTD AX, Z10")
	g.p("\tVPANDD %s, Z10, Z8", X) // a = |x|
	g.p("\tVADDPS Z8, Z8, Z9")     // 2a
	g.exp512(9, 1)
	g.p("\tVADDPS.BCST %s, Z1, Z1", c("one"))
	g.p("\tVBROADCASTSS %s, Z2", c("two"))
	g.p("\tVDIVPS Z1, Z2, Z1") // 2/(e+1)
	g.p("\tVBROADCASTSS %s, Z2", c("one"))
	g.p("\tVSUBPS Z1, Z2, Z1")       // 1 - 2/(e+1)
	g.p("\tVPANDND %s, Z10, Z11", X) // sign bit of x
	g.p("\tVPORD Z11, Z1, Z1")
	// Small branch: x + x*z*P(z), z = x*x, where |x| < 0.625.
	g.p("\tVMULPS %s, %s, Z3", X, X)
	g.p("\tVBROADCASTSS %s, Z4", c("t0"))
	for _, k := range []string{"t1", "t2", "t3", "t4"} {
		g.p("\tVFMADD213PS.BCST %s, Z3, Z4", c(k))
	}
	g.p("\tVMULPS Z3, Z4, Z4")
	g.p("\tVFMADD213PS %s, %s, Z4", X, X) // p*z*x + x
	g.p("\tVCMPPS.BCST $0x11, %s, Z8, K2", c("tsmall"))
	g.p("\tVMOVAPS Z4, K2, Z1")
}

// sigmoid512 writes sigmoid(Z0) to Z1 using Z2..Z12, K2..K4.
func (g *gen) sigmoid512() {
	// e = exp(-|x|); x >= 0: 1/(1+e); x < 0: e/(1+e).
	g.p("\tMOVL $0x80000000, AX")
	g.p("\tVPBROADCASTD AX, Z10")
	g.p("\tVPORD Z0, Z10, Z8") // -|x|
	g.exp512(8, 9)
	g.p("\tVADDPS.BCST %s, Z9, Z11", c("one"))
	g.p("\tVBROADCASTSS %s, Z1", c("one"))
	g.p("\tVDIVPS Z11, Z1, Z1")
	g.p("\tVXORPS Z12, Z12, Z12")
	g.p("\tVCMPPS $0x11, Z12, Z0, K2") // x < 0
	g.p("\tVDIVPS Z11, Z9, K2, Z1")
}

func (g *gen) activations() {
	g.actTable()
	g.actLoop("exp512", func() { g.exp512(0, 1) })
	g.actLoop("sigmoid512", g.sigmoid512)
	g.actLoop("silu512", func() {
		// e = exp(-|x|); x >= 0: x/(1+e); x < 0: (x*e)/(1+e): one division.
		g.p("\tMOVL $0x80000000, AX")
		g.p("\tVPBROADCASTD AX, Z10")
		g.p("\tVPORD Z0, Z10, Z8") // -|x|
		g.exp512(8, 9)
		g.p("\tVADDPS.BCST %s, Z9, Z11", c("one"))
		g.p("\tVMOVAPS Z0, Z1")
		g.p("\tVXORPS Z12, Z12, Z12")
		g.p("\tVCMPPS $0x11, Z12, Z0, K2") // x < 0
		g.p("\tVMULPS Z9, Z0, K2, Z1")
		g.p("\tVDIVPS Z11, Z1, Z1")
	})
	g.actLoop("hardSilu512", func() {
		// x * (min(max(x+3, 0), 6) / 6), in Keras's order.
		g.p("\tVADDPS.BCST %s, Z0, Z1", c("three"))
		g.p("\tVXORPS Z2, Z2, Z2")
		g.p("\tVMAXPS Z1, Z2, Z1") // NaN passes (second source)
		g.p("\tVBROADCASTSS %s, Z3", c("six"))
		g.p("\tVMINPS Z1, Z3, Z1")
		g.p("\tVDIVPS Z3, Z1, Z1")
		g.p("\tVMULPS Z0, Z1, Z1")
	})
	g.actLoop("tanh512", func() { g.tanh512(0) })
	g.actLoop("geluTanh512", func() {
		// u = sqrt(2/pi)*(x + 0.044715*x**3); 0.5*x*(1+tanh(u)).
		g.p("\tVMULPS.BCST %s, Z0, Z12", c("gelu"))
		g.p("\tVMULPS Z0, Z12, Z12")
		g.p("\tVFMADD213PS Z0, Z0, Z12")
		g.p("\tVMULPS.BCST %s, Z12, Z12", c("sqrt2pi"))
		g.p("\tVMOVAPS Z0, Z13")
		g.tanh512(12)
		g.p("\tVADDPS.BCST %s, Z1, Z1", c("one"))
		g.p("\tVMULPS Z13, Z1, Z1")
		g.p("\tVMULPS.BCST %s, Z1, Z1", c("half"))
	})
	g.actLoop("relu512", func() {
		g.p("\tVXORPS Z2, Z2, Z2")
		g.p("\tVMAXPS Z0, Z2, Z1") // NaN and -0 pass (second source)
	})
	// clamp512: min(max(x, lo), hi); a NaN x passes both (second source).
	g.actLoopArgs("clamp512", ", lo, hi float32", 32, func() {
		g.p("\tVBROADCASTSS lo+24(FP), Z2")
		g.p("\tVBROADCASTSS hi+28(FP), Z3")
	}, func() {
		g.p("\tVMAXPS Z0, Z2, Z1")
		g.p("\tVMINPS Z1, Z3, Z1")
	})
}
