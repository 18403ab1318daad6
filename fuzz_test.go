package kerasrun

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/internal/npy"
	"github.com/kerasrun/kerasrun/runtime"
)

// The fuzz targets below feed Load, the input reader and Load + Predict
// arbitrary bytes. Their seeds are the small model files of testdata (and
// of the real-world corpus when present), so `go test` runs every seed;
// `make fuzz` mutates them for a while. A target fails on a panic and on
// an error saying "internal error" (a recovered panic inside a reader).

// fuzzSeedLimit keeps seeds small: mutating a large file is slow and
// finds nothing a small one does not.
const fuzzSeedLimit = 64 << 10

// addSeeds adds every file of testdata and the real-world corpus whose
// name ends in one of exts and that is under fuzzSeedLimit bytes.
func addSeeds(f *testing.F, exts ...string) {
	n := 0
	for _, root := range []string{"testdata", realworldDir} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil || info.Size() > fuzzSeedLimit {
				return nil
			}
			for _, e := range exts {
				if strings.HasSuffix(p, e) {
					if data, err := os.ReadFile(p); err == nil {
						f.Add(data)
						n++
					}
					return nil
				}
			}
			return nil
		})
	}
	if n == 0 {
		f.Fatalf("no seed file ending in %v under testdata", exts)
	}
}

// checkErr fails on an error that hides a panic; it reports whether err
// is nil.
func checkErr(t *testing.T, err error) bool {
	if err != nil && strings.Contains(err.Error(), "internal error") {
		t.Fatalf("hidden panic: %v", err)
	}
	return err == nil
}

// FuzzLoadKeras: Load on the bytes of a .keras archive.
func FuzzLoadKeras(f *testing.F) {
	addSeeds(f, ".keras")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadBytes(data, WithName("fuzz.keras"))
		if checkErr(t, err) {
			checkLoaded(t, m)
		} else if m != nil {
			t.Fatalf("a model came back with the error %v", err)
		}
	})
}

// FuzzLoadH5: Load on the bytes of a legacy .h5.
func FuzzLoadH5(f *testing.F) {
	addSeeds(f, ".h5")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadBytes(data, WithName("fuzz.h5"))
		if checkErr(t, err) {
			checkLoaded(t, m)
		} else if m != nil {
			t.Fatalf("a model came back with the error %v", err)
		}
	})
}

// FuzzLoadJSONWeights: Load on a model JSON and the bytes of its weights
// file.
func FuzzLoadJSONWeights(f *testing.F) {
	for _, dir := range []string{"mlp_relu", "func_two_io", "family_core"} {
		for _, pair := range [][2]string{{"model_k3.json", "model_k3.weights.h5"}, {"model_k2.json", "model_k2_weights.h5"}} {
			js, err1 := os.ReadFile(filepath.Join("testdata", dir, pair[0]))
			w, err2 := os.ReadFile(filepath.Join("testdata", dir, pair[1]))
			if err1 == nil && err2 == nil && len(w) <= fuzzSeedLimit {
				f.Add(js, w)
			}
		}
	}
	f.Fuzz(func(t *testing.T, js, w []byte) {
		m, err := LoadBytes(js, WithName("fuzz.json"), WithWeightsReader(bytes.NewReader(w), int64(len(w))))
		if checkErr(t, err) {
			checkLoaded(t, m)
		} else if m != nil {
			t.Fatalf("a model came back with the error %v", err)
		}
	})
}

// FuzzReadNPY: the .npy input reader.
func FuzzReadNPY(f *testing.F) {
	addSeeds(f, ".npy")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := npy.Read(bytes.NewReader(data))
		if !checkErr(t, err) {
			return
		}
		if a.Len() != len(a.Data) || runtime.ShapeSize(a.Shape) != len(a.Data) {
			t.Fatalf("shape %v holds %d values, data has %d", a.Shape, runtime.ShapeSize(a.Shape), len(a.Data))
		}
	})
}

// FuzzLoadPredict: a model that loads predicts a correctly shaped input,
// or says why not, without a panic.
func FuzzLoadPredict(f *testing.F) {
	addSeeds(f, ".keras", ".h5")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadBytes(data, WithName("fuzz"))
		if !checkErr(t, err) {
			return
		}
		xs := make([]*Tensor, len(m.Inputs()))
		for i, in := range m.Inputs() {
			shape := append([]int(nil), in.Shape...)
			for j, d := range shape {
				if d < 0 {
					shape[j] = 2
				}
			}
			n := runtime.ShapeSize(shape)
			if n <= 0 || n > 1<<20 {
				return
			}
			x := runtime.NewTensor(shape...)
			for k := range x.Data {
				x.Data[k] = float32(k%7) / 7
			}
			xs[i] = x
		}
		out, err := m.Predict(xs...)
		if checkErr(t, err) && len(out) != len(m.Outputs()) {
			t.Fatalf("%d outputs, the model declares %d", len(out), len(m.Outputs()))
		}
	})
}

// checkLoaded runs what needs no input on a loaded model.
func checkLoaded(t *testing.T, m *Model) {
	if m == nil {
		t.Fatal("Load returned neither a model nor an error")
	}
	var b bytes.Buffer
	checkErr(t, m.Summary(&b))
	_ = m.Inputs()
	_ = m.Outputs()
}
