package kerasrun

import (
	"path/filepath"
	"runtime"
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

// TestSoakMemory: many Predicts on one model and many Load/drop cycles
// keep the live heap flat (within a generous bound; no timing involved).
func TestSoakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	m, x, _ := soakModel(t)
	for range 20 {
		if _, err := m.Predict(x); err != nil {
			t.Fatal(err)
		}
	}
	const predicts, loads = 5000, 100
	before := heapAfterGC()
	for range predicts {
		if _, err := m.Predict(x); err != nil {
			t.Fatal(err)
		}
	}
	afterPredict := heapAfterGC()
	for range loads {
		l, err := Load("testdata/mlp_relu/model_k3.keras")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Predict(x); err != nil {
			t.Fatal(err)
		}
	}
	afterLoad := heapAfterGC()
	runtime.KeepAlive(m)
	t.Logf("live heap: %d KiB before, %d KiB after %d Predicts, %d KiB after %d Load+Predict cycles",
		before>>10, afterPredict>>10, predicts, afterLoad>>10, loads)
	const bound = 16 << 20
	if afterPredict > before+bound || afterLoad > before+bound {
		t.Fatalf("the live heap grew by more than %d MiB", bound>>20)
	}
}
