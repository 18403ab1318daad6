package kerasrun

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"testing"
)

// TestOptimizerTolerance loads the files Keras loads although their saved
// optimizer state does not fit the model's optimizer
// (testdata/optimizer_tolerance, from export_optimizer_tolerance.py):
// each predicts as Keras did; where Keras skipped the state, kerasrun
// warns through the caller's logger, and training says it starts fresh.
func TestOptimizerTolerance(t *testing.T) {
	dir := "testdata/optimizer_tolerance/"
	var doc struct {
		Cases []struct {
			Name, Description, Model, Input, Output string
			KerasSkipped                            bool `json:"keras_skipped_optimizer"`
		}
	}
	if err := json.Unmarshal(readFile(t, dir+"cases.json"), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range doc.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var log bytes.Buffer
			m, err := Load(dir+c.Model, WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
			if err != nil {
				t.Fatalf("%s: %v", c.Description, err)
			}
			x, err := ReadNPY(dir + c.Input)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadNPY(dir + c.Output)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want.Data {
				if d := math.Abs(float64(got[0].Data[i] - w)); d > 1e-5+1e-4*math.Abs(float64(w)) {
					t.Fatalf("output %d = %v, Keras %v", i, got[0].Data[i], w)
				}
			}
			warned := strings.Contains(log.String(), "skipping the saved optimizer state")
			if c.KerasSkipped && !warned {
				t.Errorf("Keras skipped the optimizer state, kerasrun did not warn (log %q)", log.String())
			}
			if !warned {
				return
			}
			if !strings.Contains(log.String(), dir+c.Model) {
				t.Errorf("the warning does not name the file: %q", log.String())
			}
			log.Reset()
			if _, err := m.Optimizer(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(log.String(), "training starts with a fresh optimizer") {
				t.Errorf("building the optimizer after a skip says %q, want that it starts fresh", log.String())
			}
		})
	}
}
