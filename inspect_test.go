package kerasrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectRealWorld inspects every model of the real-world corpus,
// including those kerasrun cannot run: each must report its layers, and
// its parameter count, taken from the weight shapes in the file, must equal
// Keras's model.count_params() wherever Keras could load the file.
func TestInspectRealWorld(t *testing.T) {
	if _, err := os.Stat(realworldDir); err != nil {
		t.Skip("real-world corpus absent")
	}
	for _, f := range realworldFiles {
		t.Run(f.Case+"/"+f.Model, func(t *testing.T) {
			var opts []LoadOption
			if f.Weights != "" {
				opts = append(opts, WithWeights(filepath.Join(realworldDir, f.Case, f.Weights)))
			}
			in, err := Inspect(filepath.Join(realworldDir, f.Case, f.Model), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Layers) == 0 && in.Config != nil {
				t.Error("no layers")
			}
			if in.Config != nil && len(in.Inputs) == 0 {
				t.Error("no inputs")
			}
			if !strings.Contains(in.String(), in.Name) {
				t.Errorf("String() does not name the model:\n%s", in)
			}
			rec, ok := readKerasRecords(t, f.Case)[f.Model]
			if ok && rec.Loaded && rec.Params != nil && in.Params.Total != rec.Params.Total {
				t.Errorf("params %d, Keras %d\n%s", in.Params.Total, rec.Params.Total, in)
			}
			m, lerr := Load(filepath.Join(realworldDir, f.Case, f.Model), opts...)
			if (lerr == nil) != (len(in.Unsupported) == 0 && in.Config != nil) {
				t.Errorf("Load error %v, but Inspect lists unsupported %v", lerr, in.Unsupported)
			}
			if m != nil {
				if len(in.Outputs) != len(m.Outputs()) {
					t.Errorf("outputs %v, Load %v", in.Outputs, m.Outputs())
				}
				if in.Params != m.Params() {
					t.Errorf("params %+v, Load %+v", in.Params, m.Params())
				}
			}
		})
	}
}

// TestInspectFixture checks Inspect on a Keras 3 fixture in every format:
// Keras version, compile config, shapes and per-layer counts.
func TestInspectFixture(t *testing.T) {
	dir := "testdata/mlp_relu"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skip(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".keras") && !strings.HasSuffix(name, ".h5") || strings.HasSuffix(name, ".weights.h5") {
			continue
		}
		path := filepath.Join(dir, name)
		if _, err := Inspect(path); err != nil && strings.Contains(err.Error(), "weights only") {
			continue
		}
		n++
		in, err := Inspect(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if in.KerasVersion == "" || in.KerasVersion != m.Info().KerasVersion {
			t.Errorf("%s: Keras version %q, Load %q", name, in.KerasVersion, m.Info().KerasVersion)
		}
		if (in.TrainingConfig == nil) != (m.TrainingConfig() == nil) {
			t.Errorf("%s: training config %v, Load %v", name, in.TrainingConfig, m.TrainingConfig())
		}
		if in.Params != m.Params() {
			t.Errorf("%s: params %+v, Load %+v", name, in.Params, m.Params())
		}
		sum := 0
		for _, l := range in.Layers {
			sum += l.Params
		}
		if sum != in.Params.Total {
			t.Errorf("%s: layers sum to %d params, total %d", name, sum, in.Params.Total)
		}
		if len(in.Inputs) != 1 || len(in.Outputs) != 1 || in.Outputs[0].Shape[0] != -1 {
			t.Errorf("%s: inputs %v outputs %v", name, in.Inputs, in.Outputs)
		}
	}
	if n == 0 {
		t.Fatal("no model files in", dir)
	}
}
