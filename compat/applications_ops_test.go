package compat

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kerasrun/kerasrun"
	"github.com/kerasrun/kerasrun/internal/npy"
)

// TestMobileNetV3Ops replays keras.applications.MobileNetV3Small (its
// hard-swish and squeeze-excite written with operators: operation nodes in
// Keras 3, TFOpLambda in tf-keras), exported by
// compat/python/export_ops.py --mobilenet DIR (make compat, into a
// temporary folder: the files are ~7 MB each). Skipped without
// KERASRUN_MOBILENET_TESTDATA.
func TestMobileNetV3Ops(t *testing.T) {
	dir := os.Getenv("KERASRUN_MOBILENET_TESTDATA")
	if dir == "" {
		t.Skip("KERASRUN_MOBILENET_TESTDATA not set (make compat sets it)")
	}
	xa, err := npy.ReadFile(filepath.Join(dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	tol := Tolerance{Atol: 1e-5, Rtol: 1e-4}
	for _, c := range []struct{ file, pred string }{
		{"mnv3_k3.keras", "pred_k3.npy"}, {"mnv3_k3.h5", "pred_k3.npy"}, {"mnv3_k2.h5", "pred_k2.npy"},
	} {
		t.Run(c.file, func(t *testing.T) {
			want, err := npy.ReadFile(filepath.Join(dir, c.pred))
			if err != nil {
				t.Fatal(err)
			}
			m, err := kerasrun.Load(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			got, err := m.Predict(toTensor(xa))
			if err != nil {
				t.Fatalf("predict: %v", err)
			}
			if err := tol.CheckArray(got[0].Shape, got[0].Data, want); err != nil {
				t.Errorf("prediction: %v", err)
			}
		})
	}
}
