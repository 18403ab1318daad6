package main

import "fmt"

// Depthwise span kernels (see depthwiseSpanGeneric and
// depthwiseBackSpanGeneric in depthwise_span.go for the loops they compute).
//
// The forward kernel walks the channels in blocks of the vector width (16
// lanes with AVX-512F, 8 with AVX2) and, inside a block, the pixels in
// groups of 8, then 4, then 1: a group keeps one accumulator per pixel, so
// that each tap's weights are loaded once per group and every input value
// read feeds one FMA straight from memory. The accumulators start at the
// bias and end clamped to [clamp[0], clamp[1]] (max then min, with x as the
// operand returned on NaN, so NaN stays NaN), which fuses relu and relu6.

// dwForward writes dwConv512 (wide) or dwConv256.
func (g *gen) dwForward(wide bool) {
	name, lanes := "dwConv256", 8
	if wide {
		name, lanes = "dwConv512", 16
	}
	g.p("")
	g.p("// func %s(in *float32, ioffs, woffs *int32, ntaps int, w, out *float32, npix, instep, ldo, c int, bias, clamp *float32, masks *int32)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $8-104", name)
	g.p("\tMOVQ ioffs+8(FP), R8")
	g.p("\tMOVQ woffs+16(FP), R9")
	g.p("\tMOVQ ntaps+24(FP), R10")
	g.p("\tMOVQ instep+56(FP), R11")
	g.p("\tSHLQ $2, R11")
	g.p("\tLEAQ (R11)(R11*2), R12")
	g.p("\tMOVQ clamp+88(FP), AX")
	if wide {
		g.p("\tVBROADCASTSS (AX), Z29")
		g.p("\tVBROADCASTSS 4(AX), Z30")
	} else {
		g.p("\tVBROADCASTSS (AX), Y10")
		g.p("\tVBROADCASTSS 4(AX), Y11")
	}
	g.p("\tMOVQ $0, 0(SP)") // channel j
	g.p("%s_chan:", name)
	g.p("\tMOVQ 0(SP), AX")
	g.p("\tMOVQ c+72(FP), CX")
	g.p("\tSUBQ AX, CX")
	g.p("\tJLE %s_done", name)
	if wide {
		g.p("\tMOVQ $-1, BX")
		g.p("\tCMPQ CX, $16")
		g.p("\tJGE %s_full", name)
		g.p("\tMOVL $1, BX")
		g.p("\tSHLL CX, BX")
		g.p("\tDECL BX")
		g.p("%s_full:", name)
		g.p("\tKMOVW BX, K1")
		g.p("\tVPXORD Z28, Z28, Z28")
	} else {
		// Y12 = lanes < min(CX, 8): &masks[16-CX] when CX < 8.
		g.p("\tMOVQ $8, R13")
		g.p("\tCMPQ CX, $8")
		g.p("\tCMOVQLT CX, R13")
		g.p("\tMOVQ $16, R14")
		g.p("\tSUBQ R13, R14")
		g.p("\tMOVQ masks+96(FP), R13")
		g.p("\tVMOVUPS (R13)(R14*4), Y12")
		g.p("\tVXORPS Y9, Y9, Y9")
	}
	g.p("\tMOVQ bias+80(FP), R13")
	g.p("\tTESTQ R13, R13")
	g.p("\tJEQ %s_nobias", name)
	if wide {
		g.p("\tVMOVUPS.Z (R13)(AX*4), K1, Z28")
	} else {
		g.p("\tVMASKMOVPS (R13)(AX*4), Y12, Y9")
	}
	g.p("%s_nobias:", name)
	g.p("\tMOVQ in+0(FP), SI")
	g.p("\tLEAQ (SI)(AX*4), SI")
	g.p("\tMOVQ out+40(FP), DI")
	g.p("\tLEAQ (DI)(AX*4), DI")
	g.p("\tMOVQ w+32(FP), DX")
	g.p("\tLEAQ (DX)(AX*4), DX")
	g.p("\tMOVQ npix+48(FP), BX")
	if wide {
		g.dwPixelGroups(name, true, false)
	} else {
		g.p("\tCMPQ CX, $8")
		g.p("\tJLT %s_masked", name)
		g.dwPixelGroups(name+"_f", false, false)
		g.p("\tJMP %s_next", name)
		g.p("%s_masked:", name)
		g.dwPixelGroups(name+"_m", false, true)
	}
	g.p("%s_next:", name)
	g.p("\tMOVQ 0(SP), AX")
	g.p("\tADDQ $%d, AX", lanes)
	g.p("\tMOVQ AX, 0(SP)")
	g.p("\tJMP %s_chan", name)
	g.p("%s_done:", name)
	g.p("\tVZEROUPPER")
	g.p("\tRET")
}

// dwPixelGroups writes the pixel loop of one channel block: BX pixels left,
// SI, DI at the block's first input and output pixel, DX its weights.
func (g *gen) dwPixelGroups(label string, wide, masked bool) {
	g.p("%s_g8:", label)
	g.p("\tCMPQ BX, $8")
	g.p("\tJLT %s_g4", label)
	g.dwGroup(label+"_8", 8, wide, masked)
	g.p("\tSUBQ $8, BX")
	g.p("\tJMP %s_g8", label)
	g.p("%s_g4:", label)
	g.p("\tCMPQ BX, $4")
	g.p("\tJLT %s_g1", label)
	g.dwGroup(label+"_4", 4, wide, masked)
	g.p("\tSUBQ $4, BX")
	g.p("%s_g1:", label)
	g.p("\tTESTQ BX, BX")
	g.p("\tJEQ %s_gdone", label)
	g.dwGroup(label+"_1", 1, wide, masked)
	g.p("\tDECQ BX")
	g.p("\tJMP %s_g1", label)
	g.p("%s_gdone:", label)
}

// groupAddr returns the address of pixel q of a group: base, base+s,
// base+2s, base+s3 for q < 4, then the same from base4 (= base + 4s).
func groupAddr(q int, base, base4, s, s3 string) string {
	b := base
	if q >= 4 {
		b, q = base4, q-4
	}
	switch q {
	case 0:
		return fmt.Sprintf("(%s)", b)
	case 1:
		return fmt.Sprintf("(%s)(%s*1)", b, s)
	case 2:
		return fmt.Sprintf("(%s)(%s*2)", b, s)
	}
	return fmt.Sprintf("(%s)(%s*1)", b, s3)
}

// dwGroup writes one group of P pixels: P accumulators from the bias, one
// FMA per tap and pixel, clamp, store, and SI, DI advanced by P pixels.
func (g *gen) dwGroup(label string, P int, wide, masked bool) {
	acc := func(q int) string {
		if wide {
			return fmt.Sprintf("Z%d", q)
		}
		return fmt.Sprintf("Y%d", q)
	}
	bias, wreg, lo, hi := "Y9", "Y8", "Y10", "Y11"
	if wide {
		bias, wreg, lo, hi = "Z28", "Z27", "Z29", "Z30"
	}
	for q := 0; q < P; q++ {
		g.p("\tVMOVAPS %s, %s", bias, acc(q))
	}
	g.p("\tXORQ CX, CX")
	g.p("\tTESTQ R10, R10")
	g.p("\tJEQ %s_store", label)
	g.p("%s_tap:", label)
	g.p("\tMOVLQSX (R9)(CX*4), R13")
	switch {
	case wide:
		g.p("\tVMOVUPS.Z (DX)(R13*4), K1, %s", wreg)
	case masked:
		g.p("\tVMASKMOVPS (DX)(R13*4), Y12, %s", wreg)
	default:
		g.p("\tVMOVUPS (DX)(R13*4), %s", wreg)
	}
	g.p("\tMOVLQSX (R8)(CX*4), R13")
	g.p("\tLEAQ (SI)(R13*4), AX")
	if P > 4 {
		g.p("\tLEAQ (AX)(R11*4), R14")
	}
	for q := 0; q < P; q++ {
		a := groupAddr(q, "AX", "R14", "R11", "R12")
		switch {
		case wide:
			g.p("\tVFMADD231PS %s, %s, K1, %s", a, wreg, acc(q))
		case masked:
			g.p("\tVMASKMOVPS %s, Y12, Y13", a)
			g.p("\tVFMADD231PS Y13, %s, %s", wreg, acc(q))
		default:
			g.p("\tVFMADD231PS %s, %s, %s", a, wreg, acc(q))
		}
	}
	g.p("\tINCQ CX")
	g.p("\tCMPQ CX, R10")
	g.p("\tJLT %s_tap", label)
	g.p("%s_store:", label)
	g.p("\tMOVQ ldo+64(FP), R13")
	g.p("\tSHLQ $2, R13")
	g.p("\tLEAQ (R13)(R13*2), R14")
	if P > 4 {
		g.p("\tLEAQ (DI)(R13*4), AX")
	}
	for q := 0; q < P; q++ {
		g.p("\tVMAXPS %s, %s, %s", acc(q), lo, acc(q))
		g.p("\tVMINPS %s, %s, %s", acc(q), hi, acc(q))
		a := groupAddr(q, "DI", "AX", "R13", "R14")
		switch {
		case wide:
			g.p("\tVMOVUPS %s, K1, %s", acc(q), a)
		case masked:
			g.p("\tVMASKMOVPS %s, Y12, %s", acc(q), a)
		default:
			g.p("\tVMOVUPS %s, %s", acc(q), a)
		}
	}
	if P == 1 {
		g.p("\tADDQ R11, SI")
		g.p("\tADDQ R13, DI")
	} else {
		g.p("\tLEAQ (SI)(R11*%d), SI", P)
		g.p("\tLEAQ (DI)(R13*%d), DI", P)
	}
}
