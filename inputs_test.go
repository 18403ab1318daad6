package kerasrun

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readNPYT(t *testing.T, path string) *Tensor {
	t.Helper()
	x, err := ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func closeEnough(t *testing.T, what string, got, want *Tensor) {
	t.Helper()
	if len(got.Data) != len(want.Data) || len(got.Shape) != len(want.Shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	for i, w := range want.Data {
		if d := math.Abs(float64(got.Data[i] - w)); d > 1e-5+1e-4*math.Abs(float64(w)) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got.Data[i], w)
		}
	}
}

// TestPredictNamed: inputs by name in any order give Keras's outputs,
// keyed by output name; a missing or unknown name is an error naming the
// model's inputs.
func TestPredictNamed(t *testing.T) {
	dir := "testdata/func_two_io"
	m, err := Load(filepath.Join(dir, "model_k3.keras"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := readNPYT(t, filepath.Join(dir, "x0.npy")), readNPYT(t, filepath.Join(dir, "x1.npy"))
	out, err := m.PredictNamed(map[string]*Tensor{"in_b": b, "in_a": a})
	if err != nil {
		t.Fatal(err)
	}
	closeEnough(t, "out_reg", out["out_reg"], readNPYT(t, filepath.Join(dir, "k3_keras_pred0.npy")))
	closeEnough(t, "out_cls", out["out_cls"], readNPYT(t, filepath.Join(dir, "k3_keras_pred1.npy")))
	_, err = m.PredictNamed(map[string]*Tensor{"in_a": a, "numeric": b})
	if err == nil || !strings.Contains(err.Error(), `no value for input "in_b"; no input named "numeric"`) || !strings.Contains(err.Error(), `"in_a", "in_b"`) {
		t.Errorf("a wrong name: %v", err)
	}
}

// TestPredictBatches: batches of 3 over 8 samples run 3, 3, 2 and give
// Predict's outputs; a .npy streamed by OpenNPYRows gives the same, and a
// cancelled context stops before the first batch.
func TestPredictBatches(t *testing.T) {
	dir := "testdata/func_two_io"
	m, err := Load(filepath.Join(dir, "model_k3.keras"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := readNPYT(t, filepath.Join(dir, "x0.npy")), readNPYT(t, filepath.Join(dir, "x1.npy"))
	whole, err := m.Predict(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	opts := PredictOptions{BatchSize: 3, OnBatch: func(n int) { sizes = append(sizes, n) }}
	got, err := m.PredictBatches(context.Background(), []*Tensor{a, b}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 3 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 2 {
		t.Errorf("batches %v, want [3 3 2]", sizes)
	}
	for i := range whole {
		closeEnough(t, "batched", got[i], whole[i])
	}
	ra, err := OpenNPYRows(filepath.Join(dir, "x0.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	rb, err := OpenNPYRows(filepath.Join(dir, "x1.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	sizes = nil
	got, err = m.PredictSources(context.Background(), []InputSource{ra, rb}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range whole {
		closeEnough(t, "streamed", got[i], whole[i])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.PredictBatches(ctx, []*Tensor{a, b}, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := m.PredictContext(ctx, a, b); !errors.Is(err, context.Canceled) {
		t.Errorf("PredictContext cancelled: %v", err)
	}
	if _, err := m.PredictBatches(context.Background(), []*Tensor{b, a}, opts); err == nil || !strings.Contains(err.Error(), `input "in_a" has shape (8, 3), the model takes (None, 4)`) {
		t.Errorf("swapped inputs: %v", err)
	}
}

// TestCheckTargetsAcceptsFixtures: every fixture's targets, which Keras
// evaluated, pass CheckTargets; swapped ones of other shapes do not.
func TestCheckTargetsAcceptsFixtures(t *testing.T) {
	cases, _ := filepath.Glob("testdata/*/case.json")
	n := 0
	for _, c := range cases {
		raw, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		var k struct {
			Targets []string `json:"targets"`
			Models  []struct {
				Files    map[string]string  `json:"files"`
				Evaluate map[string]float64 `json:"evaluate"`
			} `json:"models"`
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(c)
		for _, mf := range k.Models {
			if len(mf.Evaluate) == 0 || mf.Files["weights"] != "" || len(k.Targets) == 0 {
				continue
			}
			m, err := Load(filepath.Join(dir, mf.Files["model"]))
			if err != nil {
				t.Fatal(err)
			}
			var ys []*Tensor
			for _, f := range k.Targets {
				ys = append(ys, readNPYT(t, filepath.Join(dir, f)))
			}
			if err := m.CheckTargets(ys); err != nil {
				t.Errorf("%s %s: %v", dir, mf.Files["model"], err)
			}
			n++
		}
	}
	if n < 10 {
		t.Fatalf("checked only %d fixture models", n)
	}
	m, err := Load("testdata/func_two_io/model_k3.keras")
	if err != nil {
		t.Fatal(err)
	}
	y0, y1 := readNPYT(t, "testdata/func_two_io/y0.npy"), readNPYT(t, "testdata/func_two_io/y1.npy")
	if err := m.CheckTargets([]*Tensor{y1, y0}); err == nil || !strings.Contains(err.Error(), `"out_reg" has shape (8, 3), the output (None, 2)`) {
		t.Errorf("swapped targets: %v", err)
	}
}

// TestReadNPYFromAndNPZ: the reader and .npz entry points give the arrays
// the path entry points give.
func TestReadNPYFromAndNPZ(t *testing.T) {
	f, err := os.Open("testdata/func_two_io/x0.npy")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadNPYFrom(f)
	if err != nil {
		t.Fatal(err)
	}
	want := readNPYT(t, "testdata/func_two_io/x0.npy")
	closeEnough(t, "ReadNPYFrom", got, want)
	path := filepath.Join(t.TempDir(), "a.npz")
	if err := WriteNPZ(path, []string{"in_a"}, []*Tensor{want}); err != nil {
		t.Fatal(err)
	}
	z, err := ReadNPZ(path)
	if err != nil || len(z) != 1 {
		t.Fatalf("ReadNPZ: %v %v", z, err)
	}
	closeEnough(t, "ReadNPZ", z["in_a"], want)
}

// TestEvaluateSources: inputs and targets streamed from their .npy files
// give Evaluate's results; swapped targets are refused before reading.
func TestEvaluateSources(t *testing.T) {
	dir := "testdata/func_two_io"
	m, err := Load(filepath.Join(dir, "model_k3.keras"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"x0.npy", "x1.npy", "y0.npy", "y1.npy"}
	var ts []*Tensor
	open := func(order []string) []InputSource {
		var srcs []InputSource
		for _, f := range order {
			r, err := OpenNPYRows(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			srcs = append(srcs, r)
		}
		return srcs
	}
	for _, f := range files {
		ts = append(ts, readNPYT(t, filepath.Join(dir, f)))
	}
	want, err := m.Evaluate(ts[:2], ts[2:], EvaluateOptions{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	srcs := open(files)
	got, err := m.EvaluateSources(context.Background(), srcs[:2], srcs[2:], EvaluateOptions{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-6*math.Max(1, math.Abs(w)) {
			t.Errorf("%s = %v, Evaluate %v", k, got[k], w)
		}
	}
	srcs = open([]string{"x0.npy", "x1.npy", "y1.npy", "y0.npy"})
	if _, err := m.EvaluateSources(context.Background(), srcs[:2], srcs[2:], EvaluateOptions{}); err == nil || !strings.Contains(err.Error(), `target for output "out_reg" has shape (8, 3)`) {
		t.Errorf("swapped targets: %v", err)
	}
}
