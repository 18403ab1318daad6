package kerasrun

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixedBatchCase is one entry of testdata/fixed_batch/cases.json, written
// by compat/python/export_fixed_batch.py.
type fixedBatchCase struct {
	Name       string  `json:"name"`
	Model      string  `json:"model"`
	InCorpus   bool    `json:"in_corpus"`
	FixedBatch int     `json:"fixed_batch"`
	Samples    int     `json:"samples"`
	Input      string  `json:"input"`
	Pred       string  `json:"pred"`
	Atol       float64 `json:"atol"`
	Rtol       float64 `json:"rtol"`
}

// TestFixedBatchPredict: a model whose inputs declare a fixed batch size
// (batch_input_shape [25, 1, 1]) predicts more samples than one batch, in
// chunks of that size with a short last chunk, as tf-keras's
// predict(x, batch_size=25) does, and matches Keras.
func TestFixedBatchPredict(t *testing.T) {
	dir := "testdata/fixed_batch"
	data, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatalf("%v (run compat/python/export_fixed_batch.py)", err)
	}
	var meta struct {
		Cases []fixedBatchCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	corpus := realworldDir
	if d := os.Getenv("KERASRUN_REALWORLD"); d != "" {
		corpus = d
	}
	ran := 0
	for _, c := range meta.Cases {
		t.Run(c.Name, func(t *testing.T) {
			path := filepath.Join(dir, c.Model)
			if c.InCorpus {
				path = filepath.Join(corpus, c.Model)
				if _, err := os.Stat(path); err != nil {
					t.Skipf("real-world corpus absent: %v", err)
				}
			}
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Inputs()[0].Shape[0]; got != c.FixedBatch {
				t.Fatalf("input declares batch %d, fixture says %d", got, c.FixedBatch)
			}
			x, err := ReadNPY(filepath.Join(dir, c.Input))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadNPY(filepath.Join(dir, c.Pred))
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			got := out[0]
			if !slices.Equal(got.Shape, want.Shape) {
				t.Fatalf("shape %v, Keras %v", got.Shape, want.Shape)
			}
			for i, w := range want.Data {
				if d := math.Abs(float64(got.Data[i] - w)); d > c.Atol+c.Rtol*math.Abs(float64(w)) {
					t.Fatalf("element %d: got %v, Keras %v", i, got.Data[i], w)
				}
			}
			ran++
		})
	}
	if ran == 0 {
		t.Fatal("no fixed-batch case ran")
	}
}

// TestFixedBatchShapeError: an input whose feature shape does not fit is
// still refused with the declared and the given shapes.
func TestFixedBatchShapeError(t *testing.T) {
	m, err := Load("testdata/fixed_batch/own_lstm.h5")
	if err != nil {
		t.Fatal(err)
	}
	x, _ := NewTensor([]int{10, 3, 3}, make([]float32, 90))
	out, err := m.Predict(x)
	if err == nil || out != nil || !strings.Contains(err.Error(), "(4, 3, 2)") || !strings.Contains(err.Error(), "3, 3)") {
		t.Fatalf("got %v, %v; want an error naming (4, 3, 2) and the given shape", out, err)
	}
}
