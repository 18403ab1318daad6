package kerasrun

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/kerasrun/kerasrun/internal/npy"
)

// TestFitRandomAugmentation trains the model of testdata/augment
// (compat/python/export_augment.py: every augmentation layer kerasrun
// trains, before a small CNN) with Fit: no layer refuses training, the
// weights move, two runs from the same file give the same weights, and
// at inference the layers are the identity, so Predict gives Keras's
// numbers before and the trained model still predicts.
func TestFitRandomAugmentation(t *testing.T) {
	dir := filepath.Join("testdata", "augment")
	read := func(name string) *Tensor {
		a, err := npy.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return &Tensor{Shape: a.Shape, Data: a.Data}
	}
	x, y, want := read("x.npy"), read("y.npy"), read("pred.npy")
	fit := func() *Model {
		m, err := Load(filepath.Join(dir, "model.keras"))
		if err != nil {
			t.Fatal(err)
		}
		pred, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want.Data {
			if d := math.Abs(float64(pred[0].Data[i] - w)); d > 1e-5+1e-4*math.Abs(float64(w)) {
				t.Fatalf("predict[%d] = %v, Keras %v", i, pred[0].Data[i], w)
			}
		}
		before := m.Variables()[0].Value.Clone()
		h, err := m.Fit([]*Tensor{x}, []*Tensor{y}, FitOptions{Epochs: 3, BatchSize: 8})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range h.Logs["loss"] {
			if math.IsNaN(l) || math.IsInf(l, 0) {
				t.Fatalf("loss %v", h.Logs["loss"])
			}
		}
		moved := false
		for i, v := range m.Variables()[0].Value.Data {
			moved = moved || v != before.Data[i]
		}
		if !moved {
			t.Error("training left the first kernel unchanged")
		}
		if _, err := m.Predict(x); err != nil {
			t.Fatal(err)
		}
		return m
	}
	sameVariables(t, fit(), fit())
}
