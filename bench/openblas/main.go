// Command openblas compares kerasrun's kernels with OpenBLAS (cgo) and with
// gonum's pure-Go BLAS (the pure-Go baseline) on the reference shapes of the
// kernels issue, one and two threads, interleaving the libraries in each
// round so that machine noise hits all alike.
//
// It prints, per shape and thread count, the median over rounds (and the
// best) of GFLOP/s for ours and OpenBLAS, the ratio ours/OpenBLAS, the median
// of gonum and the ratio ours/gonum, and the fraction of the FMA peak (the
// issue's 116 GFLOP/s per core and the peak measured here). gonum runs as
// many goroutines as GOMAXPROCS, which is set to the thread count.
// Run it through bench/run.sh, which unsets OPENBLAS_CORETYPE/L2_SIZE.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/kerasrun/kerasrun/runtime/kernels"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

const issuePeak = 116.0 // GFLOP/s per core, FMA peak of the issue's reference machine

type shape struct {
	name    string
	m, k, n int
	conv    bool // ours: Conv2D 56x56x64 3x3 pad 1; OpenBLAS, gonum: sgemm on a precomputed im2col
}

var shapes = []shape{
	{name: "square 64", m: 64, k: 64, n: 64},
	{name: "square 256", m: 256, k: 256, n: 256},
	{name: "square 512", m: 512, k: 512, n: 512},
	{name: "square 1024", m: 1024, k: 1024, n: 1024},
	{name: "square 2048", m: 2048, k: 2048, n: 2048},
	{name: "32x784x128", m: 32, k: 784, n: 128},
	{name: "128x512x512", m: 128, k: 512, n: 512},
	{name: "conv 3136x576x64", m: 3136, k: 576, n: 64, conv: true},
	{name: "1x784x128", m: 1, k: 784, n: 128},
	{name: "1x4096x4096", m: 1, k: 4096, n: 4096},
}

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds per shape")
	minTime := flag.Duration("time", 150*time.Millisecond, "minimum time per measurement")
	only := flag.String("shape", "", "run only the shape with this name")
	settle := flag.Duration("settle", 300*time.Millisecond, "pause after OpenBLAS runs so that its spinning threads go idle")
	flag.Parse()

	peak := measurePeak()
	fmt.Printf("kernels: %s; OpenBLAS core: %s (%s); GOMAXPROCS %d\n", kernels.Implementation(), blasCoreName(), blasConfig(), runtime.GOMAXPROCS(0))
	fmt.Printf("OPENBLAS_CORETYPE=%q OPENBLAS_L2_SIZE=%q\n", os.Getenv("OPENBLAS_CORETYPE"), os.Getenv("OPENBLAS_L2_SIZE"))
	fmt.Printf("FMA peak measured here: %.1f GFLOP/s per core (issue's machine: %.0f)\n", peak, issuePeak)
	fmt.Printf("GFLOP/s over %d interleaved rounds: wall-clock median and best of ours and OpenBLAS, ratios\n", *rounds)
	fmt.Printf("ours/OpenBLAS, median of gonum (pure Go) and ours/gonum, best of ours as %% of the FMA peak\n")
	fmt.Printf("(issue's 116/core, measured here);\n")
	fmt.Printf("for one thread also GFLOP/s per CPU-second (median), which leaves out time the core ran others\n\n")
	fmt.Printf("%-18s %3s %6s %6s %6s %6s %5s %5s %6s %6s %6s %6s   %6s %6s %5s\n", "shape MxKxN", "thr", "ours", "best", "blas", "best",
		"r.med", "r.bst", "gonum", "r.gn", "pk116", "pkHere", "oursC", "blasC", "r.cpu")
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		if *only != "" && s.name != *only {
			continue
		}
		ours, openblas, pure := setup(r, s)
		for _, th := range []int{1, 2} {
			kernels.SetThreads(th)
			blasSetThreads(th)
			runtime.GOMAXPROCS(th) // gonum's worker count
			flops := 2 * float64(s.m) * float64(s.k) * float64(s.n)
			var o, b, g, oc, bc []float64
			runOurs := func() {
				w, c := measure(ours, *minTime)
				o, oc = append(o, flops/w/1e9), append(oc, flops/c/1e9)
			}
			runBlas := func() {
				w, c := measure(openblas, *minTime)
				b, bc = append(b, flops/w/1e9), append(bc, flops/c/1e9)
			}
			runPure := func() {
				w, _ := measure(pure, *minTime)
				g = append(g, flops/w/1e9)
			}
			for i := 0; i < *rounds; i++ {
				// Alternate the order; after OpenBLAS, let its worker threads
				// stop spinning (they busy-wait ~0.1 s) before timing ours.
				if i%2 == 0 {
					runOurs()
					runPure()
					runBlas()
				} else {
					runBlas()
					time.Sleep(*settle)
					runPure()
					runOurs()
				}
				time.Sleep(*settle)
			}
			om, bm, ob, bb := median(o), median(b), slices.Max(o), slices.Max(b)
			cpuCol := ""
			if th == 1 {
				cpuCol = fmt.Sprintf("%6.1f %6.1f %5.2f", median(oc), median(bc), median(oc)/median(bc))
			}
			gm := median(g)
			fmt.Printf("%-18s %3d %6.1f %6.1f %6.1f %6.1f %5.2f %5.2f %6.1f %6.2f %5.0f%% %5.0f%%   %s\n", s.name, th,
				om, ob, bm, bb, om/bm, ob/bb, gm, om/gm, 100*ob/(issuePeak*float64(th)), 100*ob/(peak*float64(th)), cpuCol)
		}
	}
}

// setup returns the closures to time for shape s: ours, OpenBLAS and gonum.
func setup(r *rand.Rand, s shape) (ours, openblas, pure func()) {
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	b := rnd(s.k * s.n)
	c1, c2, c3 := make([]float32, s.m*s.n), make([]float32, s.m*s.n), make([]float32, s.m*s.n)
	impl := gonum.Implementation{}
	if s.conv {
		p := kernels.ConvParams{Batch: 1, InH: 56, InW: 56, InC: 64, KH: 3, KW: 3, OutC: 64, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
		in := rnd(56 * 56 * 64)
		pw := kernels.PackConv(3, 3, 64, 64, b)
		cols := im2col(p, in)
		return func() { kernels.Conv2D(p, in, pw, c1, nil) },
			func() { blasSgemm(s.m, s.n, s.k, cols, b, c2) },
			func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, s.m, s.n, s.k, 1, cols, s.k, b, s.n, 0, c3, s.n) }
	}
	a := rnd(s.m * s.k)
	pb := kernels.PackB(s.k, s.n, b, s.n)
	ours = func() { kernels.Gemm(s.m, s.n, s.k, a, s.k, pb, c1, s.n, false, nil) }
	if s.m == 1 {
		return ours, func() { blasSgemv(s.n, s.k, a, b, c2) },
			func() { impl.Sgemv(blas.Trans, s.k, s.n, 1, b, s.n, a, 1, 0, c3, 1) }
	}
	return ours, func() { blasSgemm(s.m, s.n, s.k, a, b, c2) },
		func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, s.m, s.n, s.k, 1, a, s.k, b, s.n, 0, c3, s.n) }
}

// im2col builds the full patch matrix that OpenBLAS multiplies (not timed).
func im2col(p kernels.ConvParams, in []float32) []float32 {
	oh, ow := p.OutH(), p.OutW()
	k := p.KH * p.KW * p.InC
	cols := make([]float32, oh*ow*k)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			row := cols[(y*ow+x)*k:]
			for ky := 0; ky < p.KH; ky++ {
				for kx := 0; kx < p.KW; kx++ {
					iy, ix := y+ky-p.PadTop, x+kx-p.PadLeft
					if iy < 0 || ix < 0 || iy >= p.InH || ix >= p.InW {
						continue
					}
					copy(row[(ky*p.KW+kx)*p.InC:(ky*p.KW+kx+1)*p.InC], in[(iy*p.InW+ix)*p.InC:])
				}
			}
		}
	}
	return cols
}

// measure returns the mean wall-clock and process CPU seconds per call of f
// over at least minTime. On a shared machine the CPU time of a one-thread
// run excludes the time other processes held the core.
func measure(f func(), minTime time.Duration) (wall, cpu float64) {
	f() // warm caches and thread pools
	n := 1
	for {
		c0 := cpuTime()
		t0 := time.Now()
		for i := 0; i < n; i++ {
			f()
		}
		if d := time.Since(t0); d >= minTime {
			return d.Seconds() / float64(n), (cpuTime() - c0) / float64(n)
		}
		n *= 2
	}
}

// cpuTime returns the user+system CPU seconds used by the process so far.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func median(x []float64) float64 {
	y := slices.Clone(x)
	slices.Sort(y)
	return y[len(y)/2]
}

// measurePeak returns the best of a few runs of the AVX-512 FMA loop, per
// CPU-second so that other processes on the core do not lower it.
func measurePeak() float64 {
	best := 0.0
	for i := 0; i < 5; i++ {
		const n = 20_000_000
		c0 := cpuTime()
		fmaPeak(n)
		if d := cpuTime() - c0; d > 0 {
			best = max(best, n*768/d/1e9)
		}
	}
	return best
}
