package compat

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun"
)

// loadCaseModel loads one model file of a case the way a user would.
func loadCaseModel(m *ModelFile) (*kerasrun.Model, error) {
	if w := m.WeightsPath(); w != "" {
		return kerasrun.Load(m.ModelPath(), kerasrun.WithWeights(w))
	}
	return kerasrun.Load(m.ModelPath())
}

func caseInputs(t *testing.T, c *Case) (x, y []*kerasrun.Tensor) {
	t.Helper()
	xs, err := c.Inputs()
	if err != nil {
		t.Fatal(err)
	}
	ys, err := c.Targets()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range xs {
		x = append(x, &kerasrun.Tensor{Shape: a.Shape, Data: a.Data})
	}
	for _, a := range ys {
		y = append(y, &kerasrun.Tensor{Shape: a.Shape, Data: a.Data})
	}
	return x, y
}

// TestFixtures loads every model file of every case (each format, each
// Keras version that wrote it) and checks Predict, Evaluate and the
// parameter counts against what Keras computed.
func TestFixtures(t *testing.T) {
	cases, err := LoadCases(TestdataDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no fixture cases found in " + TestdataDir())
	}
	for _, c := range cases {
		for _, mf := range c.Models {
			t.Run(c.Name+"/"+mf.ID, func(t *testing.T) {
				m, err := loadCaseModel(mf)
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				x, y := caseInputs(t, c)
				got, err := m.Predict(x...)
				if err != nil {
					t.Fatalf("predict: %v", err)
				}
				want, err := mf.ExpectedOutputs()
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("%d outputs, Keras %d", len(got), len(want))
				}
				for i := range got {
					if err := c.Tolerance.CheckArray(got[i].Shape, got[i].Data, want[i]); err != nil {
						t.Errorf("output %d (%s): %v", i, mf.OutputNames[i], err)
					}
				}
				for i, o := range m.Outputs() {
					if i < len(mf.OutputNames) && o.Name != mf.OutputNames[i] {
						t.Errorf("output %d is named %q, Keras %q", i, o.Name, mf.OutputNames[i])
					}
				}
				p := m.Params()
				if p.Total != mf.Params.Total || p.Trainable != mf.Params.Trainable || p.NonTrainable != mf.Params.NonTrainable {
					t.Errorf("params %+v, Keras %+v", p, mf.Params)
				}
				if len(mf.Evaluate) == 0 {
					return
				}
				res, err := m.Evaluate(x, y, kerasrun.EvaluateOptions{})
				if mf.Format == FormatJSONWeights {
					// to_json() holds no compile settings (Keras compiled the
					// model in Python before evaluating): Go must say so.
					if err == nil || !strings.Contains(err.Error(), "without compiling") {
						t.Errorf("evaluate on a JSON model: want the not-compiled error, got %v, %v", res, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("evaluate: %v", err)
				}
				if len(res) != len(mf.Evaluate) {
					t.Errorf("evaluate gave %v, Keras %v", res, mf.Evaluate)
				}
				for k, want := range mf.Evaluate {
					got, ok := res[k]
					if !ok {
						t.Errorf("evaluate: no %q in %v", k, res)
						continue
					}
					if err := c.Tolerance.CheckValue(got, want); err != nil {
						t.Errorf("evaluate %s: %v", k, fmt.Sprint(err))
					}
				}
			})
		}
	}
}
