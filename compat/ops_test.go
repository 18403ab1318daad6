package compat

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kerasrun/kerasrun"
)

// The operation-node fixtures of testdata/ops, written by
// compat/python/export_ops.py: a Keras 3 model over more than 60 keras.ops
// functions and a tf-keras model over TFOpLambda and SlicingOpLambda
// layers, with the predictions of every file and the weights after one
// training step from every compiled file (the manifest has the layout of
// transformer.json).

func opsDir() string {
	if d := os.Getenv("KERASRUN_OPS_TESTDATA"); d != "" {
		return d
	}
	return filepath.Join("..", "testdata", "ops")
}

// TestOpsModels loads every file, predicts, and for the compiled files
// takes one TrainOnBatch step, comparing every weight with Keras's.
func TestOpsModels(t *testing.T) {
	man := readManifest(t, filepath.Join(opsDir(), "ops.json"))
	for _, c := range man.Cases {
		dir := filepath.Join(opsDir(), c.Dir)
		x, y, expect := readCaseArrays(t, dir, c.Inputs, c.Targets)
		for _, mf := range c.Models {
			t.Run(c.Name+"/"+mf.ID, func(t *testing.T) {
				m := loadManifestModel(t, dir, mf.Model, mf.Weights)
				got, err := m.Predict(x...)
				if err != nil {
					t.Fatalf("predict: %v", err)
				}
				if err := man.Tolerance.CheckArray(got[0].Shape, got[0].Data, expect[mf.ID+"/pred0"]); err != nil {
					t.Errorf("prediction: %v", err)
				}
				if mf.Step1 == nil {
					return
				}
				if _, err := m.TrainOnBatch(x, y, nil); err != nil {
					t.Fatalf("train: %v", err)
				}
				vars := map[string]*kerasrun.Tensor{}
				for _, v := range m.Variables() {
					vars[v.Path] = v.Value
				}
				for _, p := range mf.Step1 {
					g, ok := vars[p]
					if !ok {
						t.Errorf("no variable %q in the Go model", p)
						continue
					}
					if err := man.Tolerance.CheckArray(g.Shape, g.Data, expect[mf.ID+"/step1/"+p]); err != nil {
						t.Errorf("after one step, %s: %v", p, err)
					}
				}
			})
		}
	}
}
