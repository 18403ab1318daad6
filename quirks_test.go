package kerasrun

import (
	"errors"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/layers"
)

// TestWeightsQuirks loads the weights-file layouts of FORMATS.md section B
// (testdata/quirks, from compat/python/export_quirks.py) and checks Keras's
// prediction.
func TestWeightsQuirks(t *testing.T) {
	const dir = "testdata/quirks/"
	x, err := ReadNPY(dir + "x.npy")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ model, weights, want string }{
		{"model.json", "plain.weights.h5", "y.npy"},
		{"model.json", "checkpoint_deps.weights.h5", "y.npy"},
		{"model.json", "backslash.weights.h5", "y.npy"},
		{"bf16.json", "bf16.weights.h5", ""},
	} {
		t.Run(c.weights, func(t *testing.T) {
			m, err := Load(dir+c.model, WithWeights(dir+c.weights))
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				// bfloat16 weights widen exactly to float32.
				want, err := ReadNPY(dir + "bf16_kernel0.npy")
				if err != nil {
					t.Fatal(err)
				}
				got := kerasLayers(m.net)[0].Weights()[0].Value
				if msg := compareTensors(got, want); msg != "" || got.Data[0] != want.Data[0] {
					t.Fatalf("bfloat16 kernel: %s", msg)
				}
				return
			}
			want, err := ReadNPY(dir + c.want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			if msg := compareTensors(got[0], want); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

// TestQuantizedRefused checks that int8-quantized models and weights are
// refused by name rather than loaded wrongly.
func TestQuantizedRefused(t *testing.T) {
	const dir = "testdata/quirks/"
	_, err := Load(dir+"int8.json", WithWeights(dir+"int8.weights.h5"))
	var ue *layers.UnsupportedError
	if !errors.As(err, &ue) || len(ue.Layers) != 2 || !strings.Contains(err.Error(), "(class Dense)") || !strings.Contains(err.Error(), "quantized") {
		t.Errorf("quantized model config: %v", err)
	}
	_, err = Load(dir+"model.json", WithWeights(dir+"int8.weights.h5"))
	var fe *UnsupportedError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "int8") || !strings.Contains(err.Error(), "layer dense (Dense)") {
		t.Errorf("int8 weights into a float model: %v", err)
	}
}
