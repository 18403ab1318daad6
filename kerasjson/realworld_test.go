package kerasjson

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkInvariants verifies what every parsed model promises: unique layer
// names, references that resolve to a recorded call, an InputLayer behind
// every model input, dtype as a string, no batch_input_shape left.
func checkInvariants(t *testing.T, m *Model, where string) {
	t.Helper()
	byName := map[string]*Layer{}
	for _, l := range m.Layers {
		if l.Name == "" || byName[l.Name] != nil {
			t.Errorf("%s: bad or duplicate layer name %q", where, l.Name)
		}
		byName[l.Name] = l
		if l.Config == nil {
			t.Errorf("%s: layer %s has nil Config", where, l.Name)
		}
		if l.Config.Has("batch_input_shape") {
			t.Errorf("%s: layer %s keeps batch_input_shape", where, l.Name)
		}
		if _, err := l.Config.String("dtype", ""); err != nil {
			t.Errorf("%s: layer %s: %v", where, l.Name, err)
		}
		if m.ClassName == "Sequential" && len(l.Inbound) > 0 {
			t.Errorf("%s: Sequential layer %s has inbound nodes", where, l.Name)
		}
		if l.Model != nil {
			checkInvariants(t, l.Model, where+"/"+l.Name)
		}
	}
	err := forEachRef(m, func(r *TensorRef, what string) error {
		if r.Layer == ConstantValue {
			return nil
		}
		l := byName[r.Layer]
		switch {
		case l == nil:
			t.Errorf("%s: %s: unknown layer %q", where, what, r.Layer)
		case l.ClassName == "InputLayer" && r.NodeIndex != 0:
			t.Errorf("%s: %s: InputLayer ref %+v", where, what, *r)
		case l.ClassName != "InputLayer" && m.ClassName == "Functional" && r.NodeIndex >= len(l.Inbound):
			t.Errorf("%s: %s: ref %+v beyond %d calls", where, what, *r, len(l.Inbound))
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	for _, in := range m.Inputs {
		if l := byName[in.Layer]; l == nil || l.ClassName != "InputLayer" {
			t.Errorf("%s: input %q is not an InputLayer", where, in.Layer)
		}
	}
	if len(m.Layers) > 0 && len(m.Outputs) == 0 {
		t.Errorf("%s: no outputs", where)
	}
}

// Every model config extracted from the real-world files parses, except
// the subclassed model, which is refused by name.
func TestRealworldExtracted(t *testing.T) {
	files, err := filepath.Glob("testdata/realworld/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no extracted configs: %v", err)
	}
	models := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".training_config.json") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseModel(data)
		if strings.Contains(f, "keras3-nested-container") {
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Errorf("%s: want UnsupportedError, got %v", f, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		checkInvariants(t, m, f)
		models++
	}
	if models < 20 {
		t.Errorf("only %d model configs parsed", models)
	}
}

// The to_json() outputs and .keras archives in the shared folder, read in
// place (the .h5 ones are covered by the extracted copies).
func TestRealworldInPlace(t *testing.T) {
	if _, err := os.Stat(realworld); err != nil {
		t.Skipf("%s not present", realworld)
	}
	jsons, _ := filepath.Glob(realworld + "/*/*.json")
	archives, _ := filepath.Glob(realworld + "/*/*.keras")
	parsed := 0
	for _, f := range jsons {
		if strings.HasSuffix(f, "variables.json") || strings.Contains(f, "best_practice.json") {
			continue // lwtnn's input description, keras2circom's test data
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseModel(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		checkInvariants(t, m, f)
		parsed++
	}
	for _, f := range archives {
		data := readZipMember(t, f, "config.json")
		m, err := ParseModel(data)
		if strings.Contains(f, "nested_container") {
			if err == nil {
				t.Errorf("%s: subclassed model parsed", f)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		checkInvariants(t, m, f)
		if _, err := CompileConfig(data); err != nil {
			t.Errorf("%s: compile config: %v", f, err)
		}
		parsed++
	}
	if parsed < 10 {
		t.Errorf("only %d files parsed", parsed)
	}
}

func readZipMember(t *testing.T, path, name string) []byte {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, f := range z.File {
		if f.Name == name {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			data, err := io.ReadAll(io.LimitReader(r, 1<<20))
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatalf("%s has no %s", path, name)
	return nil
}

// lwtnn's b-tagger: Keras 2.0.3 "Model" with two inputs and two outputs.
func TestRealworldMultiIO(t *testing.T) {
	m, err := ParseModel(readRealworld(t, "lwtnn-btag-gru-multiio/arch.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `Functional "model_1" in=[tracks:0:0 vertices:0:0] out=[flavor:0:0 charge:0:0]
  InputLayer tracks
  GRU gru_1 (tracks:0:0)
  InputLayer vertices
  Concatenate concatenate_1 (gru_1:0:0 vertices:0:0)
  Dense dense_1 (concatenate_1:0:0)
  Dense flavor (dense_1:0:0)
  Dense charge (dense_1:0:0)
`
	if got := dumpModel(m); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if s := shapeOf(t, m.Layers[0], "batch_shape"); len(s) != 3 || s[1] != -1 || s[2] != 4 {
		t.Errorf("tracks shape %v", s)
	}
	if m.Layers[0].OriginalClassName != "InputLayer" {
		t.Errorf("OriginalClassName %q", m.Layers[0].OriginalClassName)
	}
}

// Keras 3 .keras archives: Sequential with an explicit InputLayer, and a
// Functional LSTM whose kwargs hold plain values.
func TestRealworldKeras3(t *testing.T) {
	m := parseFile(t, "testdata/realworld/gurobi-diabetes-keras3.config.json")
	if m.Layers[0].Name != "dense_26_input" || len(m.Layers) != 6 || m.Layers[2].ClassName != "ReLU" {
		t.Errorf("%s", dumpModel(m))
	}
	m = parseFile(t, "testdata/realworld/keras3-stock-lstm-functional.config.json")
	n := layerByName(t, m, "lstm").Inbound[0]
	if n.Kwargs["training"] != false || n.Kwargs["mask"] != nil || len(n.Args) != 1 {
		t.Errorf("lstm node %+v", n)
	}
	if dt, _ := layerByName(t, m, "lstm").Config.String("dtype", ""); dt != "float32" {
		t.Errorf("dtype %q", dt)
	}
}
