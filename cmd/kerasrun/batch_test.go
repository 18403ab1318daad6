package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun"
)

// bigInput writes n samples of func_in_seq's 5 features to a .npy.
func bigInput(t *testing.T, n int) string {
	t.Helper()
	x := &kerasrun.Tensor{Shape: []int{n, 5}, Data: make([]float32, n*5)}
	for i := range x.Data {
		x.Data[i] = float32(i%97)/48 - 1
	}
	path := filepath.Join(t.TempDir(), "big.npy")
	if err := kerasrun.WriteNPY(path, x); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPredictRunsInBatches replays "predict runs the whole input as one
// batch: 2,048 images took 1.36 GB": 2,048 samples run as 64 batches of
// 32 (Keras's default), or 21 of at most 100 with --batch-size 100, read
// from the .npy a batch at a time, and give what one whole batch gives.
func TestPredictRunsInBatches(t *testing.T) {
	model := filepath.Join(testdata, "func_in_seq", "model_k3.keras")
	x := bigInput(t, 2048)
	m, err := kerasrun.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := kerasrun.ReadNPY(x)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Predict(whole)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { onBatch = nil }()
	for _, c := range []struct {
		args             []string
		batches, largest int
	}{
		{nil, 64, 32},
		{[]string{"--batch-size", "100"}, 21, 100},
	} {
		var sizes []int
		onBatch = func(n int) { sizes = append(sizes, n) }
		out, err := runCLI(t, append([]string{"predict", model, x, "--verbose", "0"}, c.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		total, largest := 0, 0
		for _, n := range sizes {
			total += n
			largest = max(largest, n)
		}
		if len(sizes) != c.batches || largest != c.largest || total != 2048 {
			t.Errorf("%v: %d batches, the largest %d, %d samples; want %d batches of at most %d", c.args, len(sizes), largest, total, c.batches, c.largest)
		}
		checkPredictJSON(t, strings.Join(c.args, " "), out, map[string]*kerasrun.Tensor{"head": want[0]})
	}
}

// TestPredictProgress: Keras's progress bar on stderr when asked (1: the
// bar, 2: one line), nothing when stderr is not a terminal and --verbose
// is not given; stdout holds the results either way.
func TestPredictProgress(t *testing.T) {
	model := filepath.Join(testdata, "func_in_seq", "model_k3.keras")
	x := bigInput(t, 100)
	quiet, stderr, code := runMain(t, "predict", model, x)
	if code != 0 || stderr != "" {
		t.Fatalf("piped: exit %d, stderr %q; want no progress", code, stderr)
	}
	out, stderr, code := runMain(t, "predict", model, x, "--verbose", "2")
	if code != 0 || out != quiet || !strings.HasPrefix(stderr, "4/4 - ") || !strings.Contains(stderr, "/step\n") {
		t.Errorf("--verbose 2: exit %d, stderr %q; want one line 4/4 - ... and the same stdout", code, stderr)
	}
	out, stderr, code = runMain(t, "predict", model, x, "--verbose", "1")
	if code != 0 || out != quiet || !strings.Contains(stderr, "4/4\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m") {
		t.Errorf("--verbose 1: exit %d, stderr %q; want Keras's bar", code, stderr)
	}
	for _, v := range []string{"3", "-2"} {
		if _, err := runCLI(t, "predict", model, x, "--verbose", v); err == nil || !strings.Contains(err.Error(), "--verbose "+v+": must be") {
			t.Errorf("--verbose %s: %v", v, err)
		}
	}
	if _, err := runCLI(t, "predict", model, x, "--batch-size", "0"); err == nil || !strings.Contains(err.Error(), "--batch-size 0: must be at least 1") {
		t.Errorf("--batch-size 0: %v", err)
	}
}

// TestEvaluateProgress: evaluate --verbose 2 ends with Keras's line of
// the loss and metrics on stderr; stdout holds the results.
func TestEvaluateProgress(t *testing.T) {
	dir := filepath.Join(testdata, "cifar_cnn")
	args := []string{"evaluate", filepath.Join(dir, "model_k3.keras"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy"), "--batch-size", "3"}
	quiet, stderr, code := runMain(t, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	out, stderr, code := runMain(t, append(args, "--verbose", "2")...)
	if code != 0 || out != quiet || !strings.HasPrefix(stderr, "3/3 - ") || !strings.Contains(stderr, " - accuracy: 0.1250 - loss: 2.1499\n") {
		t.Errorf("--verbose 2: exit %d, stderr %q", code, stderr)
	}
}

// TestPredictTop: --top K ranks each sample's classes as Keras's
// predictions order them, named by --labels; a labels file of the wrong
// length and --top on a non-classifier are refused before any work.
func TestPredictTop(t *testing.T) {
	model := filepath.Join(inputsDir, "model_rgb.keras")
	pred, err := kerasrun.ReadNPY(filepath.Join(inputsDir, "pred_rgb.npy"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"cat", "dog", "bird"}
	tmp := t.TempDir()
	labels := filepath.Join(tmp, "labels.txt")
	if err := os.WriteFile(labels, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "predict", model, filepath.Join(inputsDir, "images"), "--top", "2", "--labels", labels)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string][][]struct {
		Class int
		Label string
		Score float32
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rows := got["dense"]
	if len(rows) != pred.Shape[0] {
		t.Fatalf("%d samples, want %d", len(rows), pred.Shape[0])
	}
	for s, r := range rows {
		p := pred.Data[s*3 : s*3+3]
		best := 0
		for j := range p {
			if p[j] > p[best] {
				best = j
			}
		}
		if len(r) != 2 || r[0].Class != best || r[0].Label != names[best] || r[0].Score < r[1].Score || abs(r[0].Score-p[best]) > 2e-3 {
			t.Errorf("sample %d: %+v; Keras's scores %v", s, r, p)
		}
	}
	if _, err := runCLI(t, "predict", model, filepath.Join(inputsDir, "images"), "--top", "2", "-o", filepath.Join(tmp, "top.csv")); err != nil {
		t.Fatal(err)
	}
	csvText, err := os.ReadFile(filepath.Join(tmp, "top.csv"))
	if err != nil || !strings.HasPrefix(string(csvText), "sample,output,rank,class,score\n0,dense,1,") || strings.Count(string(csvText), "\n") != 1+2*pred.Shape[0] {
		t.Errorf("top.csv (%v):\n%s", err, csvText)
	}
	if err := os.WriteFile(labels, []byte("cat\ndog\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"predict", model, "missing.png", "--top", "1", "--labels", labels}, `--labels ` + labels + ` has 2 names, output "dense" 3 classes`},
		{[]string{"predict", filepath.Join(testdata, "cifar_cnn", "model_k3.keras"), "missing.npy", "--labels", labels}, "--labels needs it"},
		{[]string{"predict", model, "missing.png", "--top", "1", "-o", filepath.Join(tmp, "t.npy")}, "--top writes JSON or CSV"},
	} {
		if _, err := runCLI(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "missing") {
			t.Errorf("%v: %v; want %q before reading the inputs", c.args, err, c.want)
		}
	}
}

// TestEvaluateStreamsInBatches: evaluate on 2,048 streamed samples runs
// 64 steps of 32 and gives what Evaluate on the whole arrays gives.
func TestEvaluateStreamsInBatches(t *testing.T) {
	model := filepath.Join(testdata, "func_in_seq", "model_k3.keras")
	x := bigInput(t, 2048)
	m, err := kerasrun.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	xs, err := kerasrun.ReadNPY(x)
	if err != nil {
		t.Fatal(err)
	}
	ys, err := m.Predict(xs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ys[0].Data {
		ys[0].Data[i] = float32(i % 2)
	}
	y := filepath.Join(t.TempDir(), "y.npy")
	if err := kerasrun.WriteNPY(y, ys[0]); err != nil {
		t.Fatal(err)
	}
	want, err := m.Evaluate([]*kerasrun.Tensor{xs}, ys, kerasrun.EvaluateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runMain(t, "evaluate", model, x, y, "--json", "--verbose", "2")
	if code != 0 || !strings.HasPrefix(stderr, "64/64 - ") {
		t.Fatalf("exit %d, stderr %q; want 64 steps", code, stderr)
	}
	var got map[string]float64
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != len(want) {
		t.Fatalf("%s: %v; want %v", out, err, want)
	}
	for k, w := range want {
		if d := got[k] - w; d > 1e-6 || d < -1e-6 {
			t.Errorf("%s = %v, Evaluate %v", k, got[k], w)
		}
	}
}
