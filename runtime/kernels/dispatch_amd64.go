//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// detectLevel picks the widest instruction set the CPU and OS support.
func detectLevel() level {
	switch {
	case cpu.X86.HasAVX512F:
		return levelAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return levelAVX2
	}
	return levelGeneric
}

func init() {
	asmKernels[levelAVX512] = &microKernel{mr: 12, nr: 32, run: run512}
	asmKernels[levelAVX2] = &microKernel{mr: 6, nr: 16, run: run256}
	if bestLevel >= levelAVX2 {
		mulAddAsm[levelAVX2] = mulAdd256
		dwSpanAsm[levelAVX2] = func(in *float32, ioffs, woffs *int32, ntaps int, w, out *float32, npix, instep, ldo, c int, bias, clamp *float32) {
			dwConv256(in, ioffs, woffs, ntaps, w, out, npix, instep, ldo, c, bias, clamp, &laneMasks[0])
		}
	}
	if bestLevel >= levelAVX512 {
		mulAddAsm[levelAVX512] = mulAdd512
		dwSpanAsm[levelAVX512] = func(in *float32, ioffs, woffs *int32, ntaps int, w, out *float32, npix, instep, ldo, c int, bias, clamp *float32) {
			dwConv512(in, ioffs, woffs, ntaps, w, out, npix, instep, ldo, c, bias, clamp, nil)
		}
		expAsm, sigmoidAsm, tanhAsm, geluTanhAsm, reluAsm = exp512, sigmoid512, tanh512, geluTanh512, relu512
		maxPoolAsm = maxPool512
		clampAsm = clamp512
		siluAsm, hardSiluAsm = silu512, hardSilu512
	}
}

// checkTile panics unless the slices hold the operands of a rows x nv tile;
// the assembly trusts them.
func checkTile(rows, k, nr int, a []float32, lda int, b, c []float32, ldc, nv int, bias []float32) {
	if len(a) < (rows-1)*lda+k || (rows > 1 && lda < k) || len(b) < k*nr || len(c) < (rows-1)*ldc+nv || nv > nr || (bias != nil && len(bias) < nv) {
		panic("kernels: micro-kernel operands too short")
	}
}

func run512(rows, k int, a []float32, lda int, b, c []float32, ldc, nv int, load bool, bias []float32) {
	checkTile(rows, k, 32, a, lda, b, c, ldc, nv, bias)
	var bp *float32
	if bias != nil {
		bp = &bias[0]
	}
	flags := 0
	if load {
		flags = 1
	}
	sgemm512Funcs[rows](k, &a[0], lda, &b[0], &c[0], ldc, uint32(uint64(1)<<nv-1), flags, bp)
}

// laneMasks holds 16 all-ones lanes then 16 zero lanes: &laneMasks[16-nv]
// is the VMASKMOVPS mask of the first nv lanes.
var laneMasks = [32]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

func run256(rows, k int, a []float32, lda int, b, c []float32, ldc, nv int, load bool, bias []float32) {
	checkTile(rows, k, 16, a, lda, b, c, ldc, nv, bias)
	var bp *float32
	if bias != nil {
		bp = &bias[0]
	}
	flags := 0
	if load {
		flags = 1
	}
	sgemm256Funcs[rows](k, &a[0], lda, &b[0], &c[0], ldc, &laneMasks[16-nv], flags, bp)
}
