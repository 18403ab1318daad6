package kerasrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertRealWorld converts real-world files of several writers
// (Keras 1 JSON + weights, Keras 2 .h5 with Theano kernels, Keras 3
// .keras) to every writable format and checks that each converted file
// predicts what the original does.
func TestConvertRealWorld(t *testing.T) {
	if _, err := os.Stat(realworldDir); err != nil {
		t.Skip("real-world corpus absent")
	}
	for _, f := range []realworldFile{
		{"dl4j-tfscope", "model.json", "model.weight"},
		{"dl4j-conv2d_th_2", "conv2d_theano_2.h5", ""},
		{"dl4j-act-ELU_0", "ELU_0_model.h5", ""},
		{"gurobi-diabetes-keras3", "diabetes_v2.keras", ""},
		{"hls4ml-3layer-batchnorm", "KERAS_3layer_batch_norm.json", "KERAS_3layer_batch_norm_weights.h5"},
	} {
		t.Run(f.Case, func(t *testing.T) {
			var opts []LoadOption
			if f.Weights != "" {
				opts = append(opts, WithWeights(filepath.Join(realworldDir, f.Case, f.Weights)))
			}
			in := filepath.Join(realworldDir, f.Case, f.Model)
			orig, err := Load(in, opts...)
			if err != nil {
				t.Fatal(err)
			}
			x := deterministicInputs(orig)
			want, err := orig.Predict(x...)
			if err != nil {
				t.Fatal(err)
			}
			for _, ext := range []string{".keras", ".h5"} {
				out := filepath.Join(t.TempDir(), "converted"+ext)
				if err := Convert(in, out, opts...); err != nil {
					t.Fatalf("%s: %v", ext, err)
				}
				m, err := Load(out)
				if err != nil {
					t.Fatalf("%s: %v", ext, err)
				}
				got, err := m.Predict(x...)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if msg := compareTensors(got[i], want[i]); msg != "" {
						t.Errorf("%s output %d: %s", ext, i, msg)
					}
				}
				if m.Params() != orig.Params() {
					t.Errorf("%s: params %+v, original %+v", ext, m.Params(), orig.Params())
				}
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	if err := Convert("testdata/sharded/model.json", filepath.Join(t.TempDir(), "x.txt")); err == nil || !strings.Contains(err.Error(), "x.txt") {
		t.Errorf("unknown output extension: %v", err)
	}
	if err := Convert("testdata/sharded/model.json", filepath.Join(t.TempDir(), "x.keras")); err == nil || !strings.Contains(err.Error(), "weights") {
		t.Errorf("JSON without weights: %v", err)
	}
}

// deterministicInputs makes one batch of two samples per model input,
// with unknown dimensions set to 4.
func deterministicInputs(m *Model) []*Tensor {
	var xs []*Tensor
	for k, in := range m.Inputs() {
		shape := append([]int(nil), in.Shape...)
		shape[0] = 2
		for i := range shape {
			if shape[i] < 0 {
				shape[i] = 4
			}
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32((i*7+k*3)%11)/5 - 1
		}
		xs = append(xs, &Tensor{Shape: shape, Data: data})
	}
	return xs
}
