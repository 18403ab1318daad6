package kerasrun

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// soakModel is the model the soak and race tests share: the tutorial MLP,
// with its training data.
func soakModel(t *testing.T) (m *Model, x, y *Tensor) {
	t.Helper()
	m, err := Load("testdata/mlp_relu/model_k3.keras")
	if err != nil {
		t.Fatal(err)
	}
	if x, err = ReadNPY("testdata/mlp_relu/x.npy"); err != nil {
		t.Fatal(err)
	}
	if y, err = ReadNPY("testdata/mlp_relu/y.npy"); err != nil {
		t.Fatal(err)
	}
	return m, x, y
}

// TestConcurrentPredictFitSave runs Predict, Evaluate, Fit, Save and Load
// on one model from many goroutines at once, as the package doc says is
// safe; `make race` runs it under the race detector. Every call succeeds
// and every prediction has the output's shape and finite values.
func TestConcurrentPredictFitSave(t *testing.T) {
	m, x, y := soakModel(t)
	dir := t.TempDir()
	want := m.Outputs()[0].Shape[1]
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- err
			}
		}()
	}
	for range 6 {
		run(func() error {
			for range 20 {
				out, err := m.Predict(x)
				if err != nil {
					return err
				}
				if o := out[0]; len(o.Shape) != 2 || o.Shape[0] != x.Shape[0] || o.Shape[1] != want || checkFinite(o) != nil {
					t.Errorf("prediction of shape %v (finite: %v)", o.Shape, checkFinite(o))
				}
			}
			return nil
		})
	}
	run(func() error {
		_, err := m.Fit([]*Tensor{x}, []*Tensor{y}, FitOptions{Epochs: 2, BatchSize: 8})
		return err
	})
	run(func() error {
		for range 3 {
			if _, err := m.Evaluate([]*Tensor{x}, []*Tensor{y}, EvaluateOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range 2 {
		run(func() error {
			p := filepath.Join(dir, []string{"a.keras", "b.h5"}[i])
			for range 2 {
				if err := m.Save(p); err != nil {
					return err
				}
				l, err := Load(p)
				if err != nil {
					return err
				}
				if _, err := l.Predict(x); err != nil {
					return err
				}
			}
			return nil
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// vmRSS is the process's resident set size from /proc/self/status (0
// where there is none).
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// soak runs predicts Predicts on one model, then loads Load+Predict+drop
// cycles, and fails if the live heap (after a full collection) or the
// resident set grows by more than bound over either phase. It logs both
// at the start, after half of each phase and at its end.
func soak(t *testing.T, predicts, loads int, bound uint64) {
	m, x, _ := soakModel(t)
	for range 20 {
		if _, err := m.Predict(x); err != nil {
			t.Fatal(err)
		}
	}
	type sample struct {
		what      string
		heap, rss uint64
	}
	var samples []sample
	// Each sample reads the resident set as the process runs, then the
	// live heap after a full collection and the resident set once the
	// runtime has returned its free pages (debug.FreeOSMemory): growth in
	// the first alone is pages the runtime keeps for reuse, growth in the
	// last would be a leak.
	mark := func(what string) {
		rss := vmRSS()
		heap := heapAfterGC()
		debug.FreeOSMemory()
		samples = append(samples, sample{what, heap, vmRSS()})
		t.Logf("%-34s live heap %6d KiB, RSS %6d KiB (%6d KiB after FreeOSMemory)", what, heap>>10, rss>>10, samples[len(samples)-1].rss>>10)
	}
	mark("start")
	for i := range predicts {
		if _, err := m.Predict(x); err != nil {
			t.Fatal(err)
		}
		if i+1 == predicts/2 {
			mark(fmt.Sprintf("after %d Predicts", i+1))
		}
	}
	mark(fmt.Sprintf("after %d Predicts", predicts))
	for i := range loads {
		l, err := Load("testdata/mlp_relu/model_k3.keras")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Predict(x); err != nil {
			t.Fatal(err)
		}
		if i+1 == loads/2 {
			mark(fmt.Sprintf("after %d Load+Predict cycles", i+1))
		}
	}
	mark(fmt.Sprintf("after %d Load+Predict cycles", loads))
	runtime.KeepAlive(m)
	start := samples[0]
	for _, s := range samples[1:] {
		if s.heap > start.heap+bound || (start.rss > 0 && s.rss > start.rss+bound) {
			t.Errorf("%s: live heap %d KiB, RSS %d KiB; at the start %d KiB and %d KiB (bound: %d MiB of growth)", s.what, s.heap>>10, s.rss>>10, start.heap>>10, start.rss>>10, bound>>20)
		}
	}
}

// TestSoakMemory: many Predicts on one model and many Load/drop cycles
// keep the live heap and the resident set flat (within a generous bound;
// no timing involved).
func TestSoakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	soak(t, 5000, 100, 16<<20)
}

// TestSoakLong is TestSoakMemory at the scale, 100,000 Predicts
// and 1,000 Load/drop cycles, run only with KERASRUN_SOAK set:
//
//	KERASRUN_SOAK=1 go test -run '^TestSoakLong$' -v -timeout 30m .
func TestSoakLong(t *testing.T) {
	if os.Getenv("KERASRUN_SOAK") == "" {
		t.Skip("set KERASRUN_SOAK=1 to run 100,000 Predicts and 1,000 Load cycles")
	}
	soak(t, 100000, 1000, 32<<20)
}
