// Command e2e is the kerasrun side of bench/e2e.py: it loads one model file,
// runs it on the first b samples of an input .npy for each batch size b, and
// prints one JSON line with the load time, the first call and every timed
// call per batch size, and the peak RSS of the process. The output of the
// largest batch is written to -out for the agreement check.
//
//	e2e -model m.keras -input x.npy -batches 1,32 -budget 2s -out y.npy [-cpuprofile cpu.out]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/kerasrun/kerasrun"
)

type batchResult struct {
	First float64   `json:"first_s"`
	Times []float64 `json:"times_s"`
}

func main() {
	model := flag.String("model", "", "model file")
	input := flag.String("input", "", "input .npy (at least the largest batch of samples)")
	batches := flag.String("batches", "1,32", "comma-separated batch sizes")
	budget := flag.Duration("budget", 2*time.Second, "timed calls per batch size run for at least this long")
	minCalls := flag.Int("min", 3, "at least this many timed calls per batch size")
	out := flag.String("out", "", "write the output of the largest batch here (.npy)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed calls here (go tool pprof)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if err := run(*model, *input, *batches, *budget, *minCalls, *out); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

func run(model, input, batches string, budget time.Duration, minCalls int, out string) error {
	x, err := kerasrun.ReadNPY(input)
	if err != nil {
		return err
	}
	t0 := time.Now()
	m, err := kerasrun.Load(model)
	if err != nil {
		return err
	}
	res := map[string]any{"engine": "kerasrun", "load_s": time.Since(t0).Seconds()}
	per := len(x.Data) / x.Shape[0]
	byBatch := map[string]batchResult{}
	var last *kerasrun.Tensor
	for _, s := range strings.Split(batches, ",") {
		b, err := strconv.Atoi(s)
		if err != nil || b < 1 || b > x.Shape[0] {
			return fmt.Errorf("batch size %q: want 1..%d", s, x.Shape[0])
		}
		shape := append([]int{b}, x.Shape[1:]...)
		xb, err := kerasrun.NewTensor(shape, x.Data[:b*per])
		if err != nil {
			return err
		}
		var r batchResult
		t := time.Now()
		y, err := m.Predict(xb)
		if err != nil {
			return err
		}
		r.First = time.Since(t).Seconds()
		start := time.Now()
		for len(r.Times) < minCalls || time.Since(start) < budget {
			t := time.Now()
			if y, err = m.Predict(xb); err != nil {
				return err
			}
			r.Times = append(r.Times, time.Since(t).Seconds())
		}
		byBatch[s] = r
		last = y[0]
	}
	res["batches"] = byBatch
	res["rss_mb"] = peakRSS()
	if out != "" && last != nil {
		if err := kerasrun.WriteNPY(out, last); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// peakRSS is VmHWM of /proc/self/status in MB (getrusage's ru_maxrss would
// carry the parent's peak across fork and exec).
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
