package main

// maxPool512 writes maxPool512(in *float32, offs *int32, npos int, out
// *float32, arg *int32, c int) int: for channel i < c, the first largest (by
// ">") of in[offs[k]+i] over k < npos into out[i] and its index offs[k]+i
// into arg[i], 16 channels at a time with a masked tail. It returns non-zero
// when any value read was a NaN (the caller then redoes the pixel).
func (g *gen) maxPool512() {
	g.p("")
	g.p("DATA pooliota<>+0(SB)/4, $0")
	for i := 1; i < 16; i++ {
		g.p("DATA pooliota<>+%d(SB)/4, $%d", 4*i, i)
	}
	g.p("GLOBL pooliota<>(SB), RODATA|NOPTR, $64")
	g.p("")
	g.p("// func maxPool512(in *float32, offs *int32, npos int, out *float32, arg *int32, c int) int")
	g.p("TEXT ·maxPool512(SB), NOSPLIT, $0-56")
	g.p("\tMOVQ in+0(FP), SI")
	g.p("\tMOVQ offs+8(FP), R8")
	g.p("\tMOVQ npos+16(FP), R9")
	g.p("\tMOVQ out+24(FP), DI")
	g.p("\tMOVQ arg+32(FP), R10")
	g.p("\tMOVQ c+40(FP), DX")
	g.p("\tVMOVDQU32 pooliota<>(SB), Z31")
	g.p("\tKXORW K5, K5, K5") // NaN lanes seen
	g.p("\tXORQ R11, R11")    // channel
	g.p("maxpool_loop:")
	g.p("\tMOVQ DX, CX")
	g.p("\tSUBQ R11, CX")
	g.p("\tJLE maxpool_done")
	g.p("\tMOVQ $-1, BX")
	g.p("\tCMPQ CX, $16")
	g.p("\tJGE maxpool_full")
	g.p("\tMOVL $1, BX")
	g.p("\tSHLL CX, BX")
	g.p("\tDECL BX")
	g.p("maxpool_full:")
	g.p("\tKMOVW BX, K1")
	g.p("\tMOVLQSX (R8), AX")
	g.p("\tADDQ R11, AX")
	g.p("\tVMOVUPS.Z (SI)(AX*4), K1, Z0") // best
	g.p("\tVPBROADCASTD AX, Z1")
	g.p("\tVPADDD Z31, Z1, Z1") // its indices
	g.p("\tVCMPPS $3, Z0, Z0, K1, K2")
	g.p("\tKORW K2, K5, K5")
	g.p("\tMOVQ $1, R12")
	g.p("maxpool_pos:")
	g.p("\tCMPQ R12, R9")
	g.p("\tJGE maxpool_store")
	g.p("\tMOVLQSX (R8)(R12*4), AX")
	g.p("\tADDQ R11, AX")
	g.p("\tVMOVUPS.Z (SI)(AX*4), K1, Z3")
	g.p("\tVCMPPS $3, Z3, Z3, K1, K2")
	g.p("\tKORW K2, K5, K5")
	g.p("\tVCMPPS $0x1e, Z0, Z3, K1, K3") // v > best (ordered)
	g.p("\tVMOVAPS Z3, K3, Z0")
	g.p("\tVPBROADCASTD AX, Z4")
	g.p("\tVPADDD Z31, Z4, K3, Z1")
	g.p("\tINCQ R12")
	g.p("\tJMP maxpool_pos")
	g.p("maxpool_store:")
	g.p("\tVMOVUPS Z0, K1, (DI)(R11*4)")
	g.p("\tVMOVDQU32 Z1, K1, (R10)(R11*4)")
	g.p("\tADDQ $16, R11")
	g.p("\tJMP maxpool_loop")
	g.p("maxpool_done:")
	g.p("\tKMOVW K5, AX")
	g.p("\tMOVQ AX, ret+48(FP)")
	g.p("\tVZEROUPPER")
	g.p("\tRET")
}
