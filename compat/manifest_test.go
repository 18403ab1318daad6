package compat

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The cases export.py writes (issues 3, 4 and 5); a missing one means
// testdata was not regenerated with `make fixtures`.
var wantCases = []string{
	"cifar_cnn", "func_in_seq", "func_residual", "func_siamese",
	"func_two_io", "mlp_relu", "mlp_sigmoid", "seq_in_func",
	"family_activations", "family_conv", "family_core", "family_merging",
	"family_normalization", "family_normalization_rms", "family_pooling",
	"family_pooling_adaptive", "family_preprocessing", "family_regularization",
	"family_reshaping",
}

// keras3Only reports whether a case has no Keras 2 files because tf-keras
// lacks one of its layers, which its notes must say.
func keras3Only(c *Case) bool {
	for _, n := range c.Notes {
		if strings.HasPrefix(n, "Keras 3 only:") {
			return true
		}
	}
	return false
}

func loadAll(t *testing.T) []*Case {
	t.Helper()
	cases, err := LoadCases(TestdataDir())
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestCommittedCasesParse(t *testing.T) {
	cases := loadAll(t)
	have := map[string]bool{}
	for _, c := range cases {
		have[c.Name] = true
	}
	for _, n := range wantCases {
		if !have[n] {
			t.Errorf("case %s missing from %s", n, TestdataDir())
		}
	}
	for _, c := range cases {
		if c.Generator.Keras == "" || c.Generator.TFKeras == "" || c.Generator.TensorFlow == "" {
			t.Errorf("%s: generator versions missing: %+v", c.Name, c.Generator)
		}
		if c.Tolerance != DefaultTolerance && c.Tolerance.Reason == "" {
			t.Errorf("%s: tolerance %+v differs from the default without a reason", c.Name, c.Tolerance)
		}
		formats := map[string]int{}
		for _, m := range c.Models {
			formats[m.Format]++
			if m.Params.Total != m.Params.Trainable+m.Params.NonTrainable || m.Params.Total <= 0 {
				t.Errorf("%s/%s: params %+v do not add up", c.Name, m.ID, m.Params)
			}
		}
		if keras3Only(c) {
			if formats[FormatKeras] != 1 || formats[FormatH5] != 1 || formats[FormatJSONWeights] != 1 {
				t.Errorf("%s: formats %v, want Keras 3's .keras, .h5 and json+weights", c.Name, formats)
			}
		} else if formats[FormatKeras] != 1 || formats[FormatH5] != 2 || formats[FormatJSONWeights] != 2 {
			t.Errorf("%s: formats %v, want one .keras, two .h5 (Keras 3 and 2), two json+weights", c.Name, formats)
		}
	}
}

func TestCommittedFilesExist(t *testing.T) {
	for _, c := range loadAll(t) {
		referenced := map[string]bool{ManifestName: true}
		for _, name := range c.ReferencedFiles() {
			referenced[name] = true
			if st, err := os.Stat(c.Path(name)); err != nil || st.Size() == 0 {
				t.Errorf("%s: referenced file %s: missing or empty (%v)", c.Name, name, err)
			}
		}
		for _, m := range c.Models {
			for _, p := range []string{m.ModelPath(), m.WeightsPath()} {
				if p == "" {
					continue
				}
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s/%s: %v", c.Name, m.ID, err)
				}
			}
		}
		// Every file in the case directory is named by the manifest, so no
		// stale file from an earlier export lingers.
		entries, err := os.ReadDir(c.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !referenced[e.Name()] {
				t.Errorf("%s: file %s is not referenced by case.json", c.Name, e.Name())
			}
		}
	}
}

func TestCommittedArraysAgree(t *testing.T) {
	for _, c := range loadAll(t) {
		inputs, err := c.Inputs()
		if err != nil {
			t.Fatal(err)
		}
		targets, err := c.Targets()
		if err != nil {
			t.Fatal(err)
		}
		batch := inputs[0].Shape[0]
		for i, a := range append(append(inputs[:0:0], inputs...), targets...) {
			if len(a.Shape) == 0 || a.Shape[0] != batch || a.DType != "<f4" {
				t.Errorf("%s: array %d has shape %v dtype %s, want batch %d of <f4", c.Name, i, a.Shape, a.DType, batch)
			}
		}
		// All five files hold the same weights (tf-keras received Keras 3's
		// with set_weights), so Keras's outputs for them must agree: a check
		// that the fixtures describe one model.
		var first *ModelFile
		var want [][]float32
		for _, m := range c.Models {
			outs, err := m.ExpectedOutputs()
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range outs {
				if o.Shape[0] != batch {
					t.Errorf("%s/%s: output %d shape %v, want batch %d", c.Name, m.ID, i, o.Shape, batch)
				}
			}
			if first == nil {
				first = m
				for _, o := range outs {
					want = append(want, o.Data)
				}
				continue
			}
			for i, o := range outs {
				if err := c.Tolerance.Check(o.Data, want[i]); err != nil {
					t.Errorf("%s: %s output %d vs %s: %v", c.Name, m.ID, i, first.ID, err)
				}
			}
			for k, v := range first.Evaluate {
				if err := c.Tolerance.CheckValue(m.Evaluate[k], v); err != nil {
					t.Errorf("%s: %s evaluate %s vs %s: %v", c.Name, m.ID, k, first.ID, err)
				}
			}
		}
	}
}

func TestToleranceCheck(t *testing.T) {
	tol := DefaultTolerance
	want := []float32{0, 1, -2, 1000, float32(math.Inf(1)), float32(math.NaN())}
	if err := tol.Check(append([]float32(nil), want...), want); err != nil {
		t.Errorf("exact copy rejected: %v", err)
	}
	// Within atol + rtol*|want|: 1000 may move by 0.1 + 1e-5.
	near := []float32{5e-6, 1.00005, -2.0001, 1000.09, float32(math.Inf(1)), float32(math.NaN())}
	if err := tol.Check(near, want); err != nil {
		t.Errorf("values within tolerance rejected: %v", err)
	}

	perturbed := append([]float32(nil), want...)
	perturbed[1] = 1.001  // beyond 1e-5 + 1e-4
	perturbed[3] = 1001.5 // the worst
	err := tol.Check(perturbed, want)
	if err == nil {
		t.Fatal("perturbed array accepted")
	}
	for _, s := range []string{"2 of 6 values", "first at [1] got 1.00100", "want 1 ", "worst at [3] got 1001.5 want 1000"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}

	nanWhereNumber := append([]float32(nil), want...)
	nanWhereNumber[0] = float32(math.NaN())
	if err := tol.Check(nanWhereNumber, want); err == nil || !strings.Contains(err.Error(), "[0]") {
		t.Errorf("NaN for 0 accepted or misreported: %v", err)
	}
	wrongInf := append([]float32(nil), want...)
	wrongInf[4] = float32(math.Inf(-1))
	if err := tol.Check(wrongInf, want); err == nil {
		t.Error("-Inf for +Inf accepted")
	}
	if err := tol.Check(want[:2], want); err == nil {
		t.Error("length mismatch accepted")
	}
	if err := tol.CheckValue(0.5+1e-6, 0.5); err != nil {
		t.Errorf("CheckValue within tolerance: %v", err)
	}
	if err := tol.CheckValue(0.51, 0.5); err == nil {
		t.Error("CheckValue accepted 0.51 for 0.5")
	}
}

func TestToleranceCheckArray(t *testing.T) {
	c := loadAll(t)[0]
	outs, err := c.Models[0].ExpectedOutputs()
	if err != nil {
		t.Fatal(err)
	}
	want := outs[0]
	if err := c.Tolerance.CheckArray(want.Shape, want.Data, want); err != nil {
		t.Errorf("exact array rejected: %v", err)
	}
	swapped := append([]int{want.Len() / want.Shape[0]}, want.Shape[0])
	if err := c.Tolerance.CheckArray(swapped, want.Data, want); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("wrong shape: %v", err)
	}
	got := append([]float32(nil), want.Data...)
	got[len(got)-1] += 0.01
	if err := c.Tolerance.CheckArray(want.Shape, got, want); err == nil {
		t.Error("perturbed array accepted")
	}
}

func writeCase(t *testing.T, name, manifest string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadCaseInvalid(t *testing.T) {
	model := `{"id":"k3_json","format":"json+weights","files":{"model":"m.json","weights":"w.h5"},"outputs":["p.npy"],"output_names":["d"],"evaluate":{"loss":1},"params":{"total":1,"trainable":1,"non_trainable":0}}`
	good := `{"case":"c","tolerance":{"atol":1e-5,"rtol":1e-4,"reason":""},"inputs":["x.npy"],"targets":["y.npy"],"models":[` + model + `]}`
	if _, err := LoadCase(writeCase(t, "c", good)); err != nil {
		t.Fatalf("minimal manifest rejected: %v", err)
	}
	for _, tc := range []struct{ name, dir, manifest, errText string }{
		{"name mismatch", "other", good, `case "c" is in directory "other"`},
		{"unknown field", "c", strings.Replace(good, `"inputs"`, `"inptus":[],"inputs"`, 1), "unknown field"},
		{"wide tolerance", "c", strings.Replace(good, `"atol":1e-5`, `"atol":1e-3`, 1), "without a reason"},
		{"negative tolerance", "c", strings.Replace(good, `"rtol":1e-4`, `"rtol":-1`, 1), "non-negative"},
		{"no weights", "c", strings.Replace(good, `,"weights":"w.h5"`, ``, 1), "needs files model and weights"},
		{"bad format", "c", strings.Replace(good, `json+weights`, `pickle`, 1), `unknown format "pickle"`},
		{"outputs vs names", "c", strings.Replace(good, `"output_names":["d"]`, `"output_names":["d","e"]`, 1), "1 output files for 2 output names"},
		{"no models", "c", strings.Replace(good, model, ``, 1), "no inputs or no models"},
		{"not json", "c", `{"case":`, "unexpected EOF"},
	} {
		_, err := LoadCase(writeCase(t, tc.dir, tc.manifest))
		if err == nil || !strings.Contains(err.Error(), tc.errText) || !strings.Contains(err.Error(), ManifestName) {
			t.Errorf("%s: error %v, want one naming %s and containing %q", tc.name, err, ManifestName, tc.errText)
		}
	}
}

func TestLoadCasesSkipsOtherDirs(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "not_a_case"), 0o755)
	os.WriteFile(filepath.Join(root, "README"), []byte("x"), 0o644)
	cases, err := LoadCases(root)
	if err != nil || len(cases) != 0 {
		t.Errorf("LoadCases = %v, %v; want no cases", cases, err)
	}
	if _, err := LoadCases(filepath.Join(root, "missing")); err == nil {
		t.Error("LoadCases of a missing directory succeeded")
	}
}

func TestTestdataDir(t *testing.T) {
	t.Setenv("KERASRUN_TESTDATA", "/elsewhere")
	if d := TestdataDir(); d != "/elsewhere" {
		t.Errorf("TestdataDir with KERASRUN_TESTDATA = %q", d)
	}
	t.Setenv("KERASRUN_TESTDATA", "")
	d := TestdataDir()
	abs, _ := filepath.Abs(filepath.Join("..", "testdata"))
	if got, _ := filepath.Abs(d); got != abs {
		t.Errorf("TestdataDir = %q, want the repository's %q", d, abs)
	}
	names := []string{}
	for _, c := range loadAll(t) {
		names = append(names, c.Name)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("LoadCases order %v is not sorted", names)
	}
}
