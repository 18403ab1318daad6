package kerasrun

import (
	"path/filepath"
	"testing"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/saving"
)

// TestNormalizationCountSavedAsInt64: an adapted Normalization saves its
// sample count as the int64 scalar Keras keeps (its SaveOwnVars), the
// other variables as float32, and the count loads back.
func TestNormalizationCountSavedAsInt64(t *testing.T) {
	m, err := Load("testdata/family_preprocessing/model_k3.keras")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "m.weights.h5")
	if err := m.Save(out); err != nil {
		t.Fatal(err)
	}
	f, err := h5.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := 0
	err = saving.WalkSaveable(m.net, func(path string, l layers.Layer) error {
		n, ok := l.(*layers.Normalization)
		if !ok || n.Count == nil {
			return nil
		}
		groups, err := saving.H5Store{Root: f.Root()}.Get(path)
		if err != nil || len(groups) != 1 {
			t.Fatalf("%s: vars groups %v, %v", path, groups, err)
		}
		for i, want := range []h5.Kind{h5.Float32, h5.Float32, h5.Int64} {
			ds, err := groups[0].Dataset([]string{"0", "1", "2"}[i])
			if err != nil {
				t.Fatal(err)
			}
			if k := ds.DType().Kind; k != want {
				t.Errorf("%s: vars/%d is %v, want %v", path, i, k, want)
			}
		}
		found++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no adapted Normalization in the fixture")
	}
	back, err := Load("testdata/family_preprocessing/model_k3.json", WithWeights(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range back.Variables() {
		for _, w := range m.Variables() {
			if v.Path == w.Path && v.Value.Data[0] != w.Value.Data[0] {
				t.Errorf("%s: %v after saving, %v before", v.Path, v.Value.Data[0], w.Value.Data[0])
			}
		}
	}
}
