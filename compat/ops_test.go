package compat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kerasrun/kerasrun"
	"github.com/kerasrun/kerasrun/internal/npy"
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
	raw, err := os.ReadFile(filepath.Join(opsDir(), "ops.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man transformerManifest
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	for _, c := range man.Cases {
		dir := filepath.Join(opsDir(), c.Dir)
		arrays, err := npy.ReadNPZ(filepath.Join(dir, "data.npz"))
		if err != nil {
			t.Fatal(err)
		}
		expect, err := npy.ReadNPZ(filepath.Join(dir, "expect.npz"))
		if err != nil {
			t.Fatal(err)
		}
		var x, y []*kerasrun.Tensor
		for _, k := range c.Inputs {
			x = append(x, toTensor(arrays[k]))
		}
		for _, k := range c.Targets {
			y = append(y, toTensor(arrays[k]))
		}
		for _, mf := range c.Models {
			t.Run(c.Name+"/"+mf.ID, func(t *testing.T) {
				var opts []kerasrun.LoadOption
				if mf.Weights != "" {
					opts = append(opts, kerasrun.WithWeights(filepath.Join(dir, mf.Weights)))
				}
				m, err := kerasrun.Load(filepath.Join(dir, mf.Model), opts...)
				if err != nil {
					t.Fatalf("load: %v", err)
				}
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
