// Package kernels holds kerasrun's numeric core: single-precision matrix
// multiplication on weights packed once at load time (Gemm, with a GEMV path
// for one-row inputs), NHWC convolution as an implicit GEMM, depthwise
// convolution, pooling and elementwise activations.
//
// It knows nothing of layers or tensors: every function takes plain []float32
// slices with explicit dimensions and leading dimensions (row strides).
//
// Every kernel has a portable Go version, always compiled, which is the
// specification; on amd64 an AVX-512 or AVX2+FMA version is chosen once at
// start-up from the CPU features. The build tag noasm forces the portable path.
// Large problems run on several goroutines (see SetThreads).
package kernels

import (
	"runtime"
	"sync/atomic"
)

// level names an implementation of the micro-kernels.
type level int

const (
	levelGeneric level = iota // portable Go
	levelAVX2                 // AVX2 + FMA, 6x16 register tile
	levelAVX512               // AVX-512F, 12x32 register tile
)

func (l level) String() string {
	switch l {
	case levelAVX2:
		return "avx2"
	case levelAVX512:
		return "avx512"
	}
	return "generic"
}

// bestLevel is the fastest level this CPU (and build) supports; active is
// the level in use, which tests may lower through setLevel.
var (
	bestLevel = detectLevel()
	active    = bestLevel
)

// setLevel switches the implementation (test hook) and returns the previous
// one. Levels above bestLevel are clamped to it.
func setLevel(l level) level {
	old := active
	if l > bestLevel {
		l = bestLevel
	}
	active = l
	return old
}

// Implementation returns the name of the kernel set in use: "avx512",
// "avx2" or "generic".
func Implementation() string { return active.String() }

var threads atomic.Int64

// SetThreads sets how many goroutines a large kernel call may use; n <= 0
// restores the default, GOMAXPROCS. It returns the previous setting.
func SetThreads(n int) int {
	if n < 0 {
		n = 0
	}
	return int(threads.Swap(int64(n)))
}

// Threads returns the number of goroutines a large kernel call may use.
func Threads() int {
	if n := int(threads.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}
