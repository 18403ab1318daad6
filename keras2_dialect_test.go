package kerasrun

import (
	"os"
	"strings"
	"testing"
)

// A file written by Keras 1 or 2 computes hard_sigmoid as Keras 2 did
// (clip(0.2x + 0.5)), not as Keras 3 does (relu6(x + 3) / 6).
func TestKeras2FilesKeepKeras2HardSigmoid(t *testing.T) {
	data, err := os.ReadFile("testdata/mlp_relu/model_k2.json")
	if err != nil {
		t.Fatal(err)
	}
	k2 := strings.Replace(string(data), `"activation": "relu"`, `"activation": "hard_sigmoid"`, 1)
	if k2 == string(data) {
		t.Fatal("fixture has no relu activation to replace")
	}
	k3 := strings.Replace(k2, `"keras_version": "2.21.0"`, `"keras_version": "3.15.1"`, 1)
	if k3 == k2 {
		t.Fatal("fixture has no keras_version 2.21.0")
	}
	x, err := ReadNPY("testdata/mlp_relu/x.npy")
	if err != nil {
		t.Fatal(err)
	}
	load := func(config string) *Model {
		path := t.TempDir() + "/model.json"
		if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(path, WithWeights("testdata/mlp_relu/model_k2_weights.h5"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	predictWith := func(m *Model) []float32 {
		out, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Data
	}
	predict := func(config string) []float32 { return predictWith(load(config)) }
	a, b := predict(k2), predict(k3)
	same := true
	for i := range a {
		if a[i] != b[i] {
			same = false
		}
	}
	if same {
		t.Fatal("hard_sigmoid computes the same for a Keras 2 and a Keras 3 file; Keras 2's formula differs")
	}

	// Saved back as legacy .h5 it keeps Keras 2's formula; a .keras archive
	// cannot express it and is refused.
	m := load(k2)
	h5path := t.TempDir() + "/model.h5"
	if err := m.Save(h5path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(h5path)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range predictWith(back) {
		if v != a[i] {
			t.Fatalf("after saving to .h5, output %d = %v, want %v (Keras 2's hard_sigmoid)", i, v, a[i])
		}
	}
	if err := m.Save(t.TempDir() + "/model.keras"); err == nil || !strings.Contains(err.Error(), "hard_sigmoid") {
		t.Fatalf("saving Keras 2's hard_sigmoid as .keras: want an error naming hard_sigmoid, got %v", err)
	}
	// And the other way: Keras 3's hard_sigmoid cannot go into a Keras 2 file.
	k3json, err := os.ReadFile("testdata/mlp_relu/model_k3.json")
	if err != nil {
		t.Fatal(err)
	}
	k3path := t.TempDir() + "/k3.json"
	if err := os.WriteFile(k3path, []byte(strings.Replace(string(k3json), `"activation": "relu"`, `"activation": "hard_sigmoid"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	m3, err := Load(k3path, WithWeights("testdata/mlp_relu/model_k3.weights.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m3.Save(t.TempDir()+"/model.h5", Keras2Compatible()); err == nil || !strings.Contains(err.Error(), "hard_sigmoid") {
		t.Fatalf("saving Keras 3's hard_sigmoid for Keras 2: want an error naming hard_sigmoid, got %v", err)
	}
}
