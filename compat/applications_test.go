package compat

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/kerasrun/kerasrun"
	"github.com/kerasrun/kerasrun/internal/npy"
)

// The keras.applications models, written by
// compat/python/export_applications.py --out DIR (make compat, into a
// temporary folder: the files are large): every constructor of the
// installed keras.applications built with weights=None at its smallest
// input size, saved by Keras 3 (.keras, .h5) and by tf-keras (.h5), with
// each Keras's predictions before and after one fit step and a sample of
// every variable after it.

type applicationsManifest struct {
	Keras        string   `json:"keras"`
	TFKeras      string   `json:"tf_keras"`
	Constructors []string `json:"constructors"`
	TFKerasHas   []string `json:"tf_keras_constructors"`
	// Subset is set when the export was asked for some models only.
	Subset bool `json:"subset"`
	// Pending names the constructors not checked yet, with the reason.
	Pending map[string]string `json:"pending"`
	Samples int               `json:"samples"`
	Train   string            `json:"train"`
	Cases   []struct {
		Name      string    `json:"name"`
		Dir       string    `json:"dir"`
		Size      int       `json:"size"`
		Inputs    []string  `json:"inputs"`
		Targets   []string  `json:"targets"`
		Tolerance Tolerance `json:"tolerance"`
		Models    []struct {
			ID     string `json:"id"`
			Format string `json:"format"`
			Model  string `json:"model"`
			Expect string `json:"expect"`
			// Step1 names the variables in model.variables order;
			// Step1Sizes gives their sizes.
			Step1      []string `json:"step1"`
			Step1Sizes []int    `json:"step1_sizes"`
		} `json:"models"`
	} `json:"cases"`
}

// sampleIndices are the flat indices of an n-element variable whose values
// after the step the exporter records (its sample_indices): k evenly
// spaced ones, all of them when n <= k.
func sampleIndices(n, k int) []int {
	k = min(n, k)
	if k == 1 {
		return []int{0}
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i * (n - 1) / (k - 1)
	}
	return idx
}

// maxAbsDiff is the largest |got-want| of two equally long slices.
func maxAbsDiff(got, want []float32) float64 {
	d := 0.0
	for i := range min(len(got), len(want)) {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
	}
	return d
}

// TestApplications loads every keras.applications file, predicts, takes
// one Fit step (the batch Keras stepped on, shuffle off) with the compiled
// SGD and loss from the file, and compares the predictions after it and a
// sample of every variable with Keras's. Every constructor of the
// installed keras.applications must have its case, and a tf-keras file
// where tf-keras has the constructor. Skipped without
// KERASRUN_APPLICATIONS_TESTDATA.
func TestApplications(t *testing.T) {
	dir := os.Getenv("KERASRUN_APPLICATIONS_TESTDATA")
	if dir == "" {
		t.Skip("KERASRUN_APPLICATIONS_TESTDATA not set (make compat sets it)")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "applications.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man applicationsManifest
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Cases) == 0 || man.Samples <= 0 {
		t.Fatalf("manifest: %d cases, %d samples", len(man.Cases), man.Samples)
	}
	cases := map[string]bool{}
	for _, c := range man.Cases {
		cases[c.Name] = true
	}
	for _, name := range man.Constructors {
		switch {
		case man.Pending[name] != "":
			t.Logf("keras.applications.%s: NOT CHECKED: %s", name, man.Pending[name])
		case !cases[name] && !man.Subset:
			t.Errorf("keras.applications.%s has no case", name)
		}
	}
	k2 := map[string]bool{}
	for _, name := range man.TFKerasHas {
		k2[name] = true
	}
	for _, c := range man.Cases {
		tol := c.Tolerance
		if (tol.Atol > DefaultTolerance.Atol || tol.Rtol > DefaultTolerance.Rtol) && tol.Reason == "" {
			t.Errorf("%s: tolerance %+v is wider than the default without a reason", c.Name, tol)
		}
		writers := map[string]bool{}
		for _, mf := range c.Models {
			writers[mf.Expect] = true
		}
		if !writers["k3"] || (k2[c.Name] && !writers["k2"]) {
			t.Errorf("%s: files of %v; want Keras 3's and, where tf-keras has the constructor, tf-keras's", c.Name, writers)
		}
		cdir := filepath.Join(dir, c.Dir)
		x, y, expect := readCaseArrays(t, cdir, c.Inputs, c.Targets)
		for _, mf := range c.Models {
			t.Run(c.Name+"/"+mf.ID, func(t *testing.T) {
				defer debug.FreeOSMemory()
				checkApplication(t, filepath.Join(cdir, mf.Model), x, y, expect, mf.Expect, mf.Step1, mf.Step1Sizes, tol, man.Samples)
			})
		}
	}
}

func checkApplication(t *testing.T, path string, x, y []*kerasrun.Tensor, expect map[string]*npy.Array,
	tag string, step1 []string, sizes []int, tol Tolerance, samples int) {
	want := func(key string) *npy.Array {
		a := expect[tag+"/"+key]
		if a == nil {
			t.Fatalf("expect.npz has no %s/%s", tag, key)
		}
		return a
	}
	start := time.Now()
	m, err := kerasrun.Load(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	loaded := time.Now()
	got, err := m.Predict(x...)
	if err != nil {
		t.Fatalf("predict: %v", err)
	}
	predicted := time.Now()
	w0 := want("pred0")
	if err := tol.CheckArray(got[0].Shape, got[0].Data, w0); err != nil {
		t.Errorf("prediction: %v", err)
	}
	predDiff := maxAbsDiff(got[0].Data, w0.Data)
	if _, err := m.Fit(x, y, kerasrun.FitOptions{Epochs: 1, BatchSize: x[0].Shape[0]}); err != nil {
		t.Fatalf("fit: %v", err)
	}
	fitted := time.Now()
	got, err = m.Predict(x...)
	if err != nil {
		t.Fatalf("predict after the step: %v", err)
	}
	w1 := want("step1/pred0")
	if err := tol.CheckArray(got[0].Shape, got[0].Data, w1); err != nil {
		t.Errorf("prediction after one step: %v", err)
	}
	stepDiff := maxAbsDiff(got[0].Data, w1.Data)
	// By position: kerasrun's Model.Variables is in Keras 3's
	// model.variables order, the exporter's list too.
	vars := m.Variables()
	if len(vars) != len(step1) || len(sizes) != len(step1) {
		t.Fatalf("the Go model has %d variables, Keras's %d (%d sizes)", len(vars), len(step1), len(sizes))
	}
	varDiff := 0.0
	for i, v := range vars {
		g := v.Value.Data
		if len(g) != sizes[i] {
			t.Errorf("variable %d: Go's %s has %d values, Keras's %s %d", i, v.Path, len(g), step1[i], sizes[i])
			continue
		}
		idx := sampleIndices(len(g), samples)
		s := make([]float32, len(idx))
		for k, j := range idx {
			s[k] = g[j]
		}
		if err := tol.Check(s, want(fmt.Sprintf("step1/%d", i)).Data); err != nil {
			t.Errorf("after one step, variable %d %s (Keras's %s), sampled: %v", i, v.Path, step1[i], err)
		}
		varDiff = math.Max(varDiff, maxAbsDiff(s, want(fmt.Sprintf("step1/%d", i)).Data))
	}
	t.Logf("max |diff| predict %.3g, after one step predict %.3g, variables %.3g; load %.1fs predict %.1fs fit %.1fs",
		predDiff, stepDiff, varDiff, loaded.Sub(start).Seconds(), predicted.Sub(loaded).Seconds(), fitted.Sub(predicted).Seconds())
}
