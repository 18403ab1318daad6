package layers

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// TestRecurrentModelFixtures runs small Keras 3 models in which masks
// travel between layers (Embedding(mask_zero=True), Masking, Concatenate,
// Add, Bidirectional, TimeDistributed, Attention) and an LSTM takes
// initial_state, against Keras's predictions
// (testdata/recurrent_models.json, compat/python/export_layers_recurrent.py),
// and Keras 3 and tf-keras models passing RNN(StackedRNNCells) nested
// initial states (testdata/recurrent_cells_models.json,
// compat/python/export_layers_recurrent_cells.py).
func TestRecurrentModelFixtures(t *testing.T) {
	for _, path := range []string{"testdata/recurrent_models.json", "testdata/recurrent_cells_models.json"} {
		testRecurrentModels(t, path)
	}
}

func testRecurrentModels(t *testing.T, path string) {
	type modelsFile struct {
		Models []struct {
			Name    string          `json:"name"`
			Model   json.RawMessage `json:"model"`
			Weights []fixtureArray  `json:"weights"`
			Inputs  []fixtureArray  `json:"inputs"`
			Outputs []fixtureArray  `json:"outputs"`
		} `json:"models"`
	}
	doc := readFixture[modelsFile](t, path)
	if len(doc.Models) == 0 {
		t.Fatalf("%s holds no models", path)
	}
	tol := fixtureTolerance{Atol: 1e-5, Rtol: 1e-4}
	for _, c := range doc.Models {
		t.Run(c.Name, func(t *testing.T) {
			spec, err := kerasjson.ParseModel(c.Model)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewModel(spec)
			if err != nil {
				t.Fatal(err)
			}
			var ws []*runtime.Variable
			for _, l := range m.Layers {
				if _, isInput := l.(*InputLayer); !isInput {
					ws = append(ws, AllWeights(l)...)
				}
			}
			if len(ws) != len(c.Weights) {
				t.Fatalf("model has %d weights, Keras %d", len(ws), len(c.Weights))
			}
			for i, w := range c.Weights {
				if len(w.Data) != len(ws[i].Value.Data) {
					t.Fatalf("weight %d (%s): %d values, Keras %d", i, ws[i].Name, len(ws[i].Value.Data), len(w.Data))
				}
				copy(ws[i].Value.Data, w.Data)
				ws[i].Touch()
			}
			var in []*runtime.Tensor
			for _, x := range c.Inputs {
				in = append(in, x.tensor())
			}
			out, _, err := m.Forward(&runtime.Context{}, in)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range c.Outputs {
				if err := compareArrays(fmt.Sprintf("output %d", i), out[i], want, tol); err != nil {
					t.Error(err)
				}
			}
			// The backward pass runs through the masks too.
			_, back, err := m.Forward(&runtime.Context{Grad: true}, in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := back(out); err != nil {
				t.Fatalf("backward: %v", err)
			}
		})
	}
}
