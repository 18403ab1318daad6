package main

/*
#cgo CFLAGS: -O2
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
#include <immintrin.h>

// fmaPeak runs n iterations of 24 independent 16-lane FMA chains and returns
// a value that depends on them (so they are not optimised away).
__attribute__((target("avx512f")))
static float fmaPeak(long n) {
	__m512 acc[24];
	__m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
	for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i);
	for (long it = 0; it < n; it++) {
#pragma GCC unroll 24
		for (int i = 0; i < 24; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
	}
	__m512 s = acc[0];
	for (int i = 1; i < 24; i++) s = _mm512_add_ps(s, acc[i]);
	return _mm512_reduce_add_ps(s);
}
*/
import "C"

import "unsafe"

func blasSetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

func blasCoreName() string { return C.GoString(C.openblas_get_corename()) }

func blasConfig() string { return C.GoString(C.openblas_get_config()) }

// blasSgemm computes C = A·B for row-major A (m x k), B (k x n), C (m x n).
func blasSgemm(m, n, k int, a, b, c []float32) {
	C.cblas_sgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasNoTrans, C.blasint(m), C.blasint(n), C.blasint(k),
		1, (*C.float)(unsafe.Pointer(&a[0])), C.blasint(k), (*C.float)(unsafe.Pointer(&b[0])), C.blasint(n),
		0, (*C.float)(unsafe.Pointer(&c[0])), C.blasint(n))
}

// blasSgemv computes y = xᵀ·B for B row-major k x n (one-row product).
func blasSgemv(n, k int, x, b, y []float32) {
	C.cblas_sgemv(C.CblasRowMajor, C.CblasTrans, C.blasint(k), C.blasint(n), 1,
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(n), (*C.float)(unsafe.Pointer(&x[0])), 1,
		0, (*C.float)(unsafe.Pointer(&y[0])), 1)
}

// fmaPeak runs n iterations of 24 AVX-512 FMAs (768 flops each).
func fmaPeak(n int) float32 { return float32(C.fmaPeak(C.long(n))) }
