package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

func TestNormalizationLayersContract(t *testing.T) {
	runContractCases(t, []layerCase{
		{"BatchNormalization", `{}`, [][]int{{3, 4}}, nil},
		{"BatchNormalization", `{"axis": 1, "center": false}`, [][]int{{2, 3, 2}}, nil},
		{"LayerNormalization", `{}`, [][]int{{2, 5}}, nil},
		{"LayerNormalization", `{"axis": [1, 2], "center": false}`, [][]int{{2, 3, 2}}, nil},
		{"LayerNormalization", `{"rms_scaling": true}`, [][]int{{2, 4}}, nil},
		{"GroupNormalization", `{"groups": 2}`, [][]int{{2, 3, 4}}, nil},
		{"GroupNormalization", `{"groups": -1, "axis": 1}`, [][]int{{2, 3, 4}}, nil},
		{"UnitNormalization", `{"axis": [1, 2]}`, [][]int{{2, 3, 2}}, nil},
		{"RMSNormalization", `{}`, [][]int{{2, 5}}, nil},
	}, 31)
}

// TestBatchNormalizationUpdates checks the moving statistics recorded in
// ctx.Updates against the values Keras assigned in the recorded training
// calls.
func TestBatchNormalizationUpdates(t *testing.T) {
	ff := readFixture[updatesFile](t, "testdata/normalization.json")
	n := 0
	for _, c := range ff.Cases {
		if c.Updates == nil {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			spec, err := specFromKeras(c.ClassName, c.Config)
			if err != nil {
				t.Fatal(err)
			}
			f, _ := Lookup(spec)
			l, err := f(spec)
			if err != nil {
				t.Fatal(err)
			}
			s := copyShape(c.Inputs[0].Shape)
			s[0] = -1
			if _, err := l.Build([][]int{s}); err != nil {
				t.Fatal(err)
			}
			for i, w := range l.Weights() {
				copy(w.Value.Data, c.Weights[i].Data)
			}
			ctx := &runtime.Context{Training: c.Training}
			if _, _, err := l.Forward(ctx, []*runtime.Tensor{c.Inputs[0].tensor()}); err != nil {
				t.Fatal(err)
			}
			bn := l.(*BatchNormalization)
			got := map[*runtime.Variable]*runtime.Tensor{}
			for _, u := range ctx.Updates {
				got[u.Variable] = u.Value
			}
			for i, v := range []*runtime.Variable{bn.MovingMean, bn.MovingVariance} {
				want := c.Updates[i]
				g := got[v]
				if g == nil {
					// No update recorded: the variable keeps its value.
					g = v.Value
				}
				if err := compareArrays(want.Name, g, want, ff.Tolerance); err != nil {
					t.Error(err)
				}
			}
			if !c.Training && len(ctx.Updates) != 0 {
				t.Errorf("inference recorded %d updates", len(ctx.Updates))
			}
		})
	}
	if n == 0 {
		t.Fatal("no cases with updates")
	}
}

// TestBatchNormalizationInferencePath checks the inference fast path
// against the general path (the one the Keras fixtures replay with
// gradients).
func TestBatchNormalizationInferencePath(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, c := range []struct {
		config string
		shape  []int
	}{{`{}`, []int{3, 4}}, {`{"axis": 1}`, []int{2, 3, 2, 2}}, {`{"axis": 2, "center": false}`, []int{2, 3, 4}}, {`{"scale": false}`, []int{2, 2, 3}}} {
		l := newTestLayer(t, "BatchNormalization", c.config)
		s := copyShape(c.shape)
		s[0] = -1
		if _, err := l.Build([][]int{s}); err != nil {
			t.Fatal(err)
		}
		randomizeWeights(r, l)
		bn := l.(*BatchNormalization)
		for i := range bn.MovingVariance.Value.Data {
			bn.MovingVariance.Value.Data[i] += 1.5
		}
		x := randomTensor(r, c.shape...)
		fast, _, err := l.Forward(&runtime.Context{}, []*runtime.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		slow, _, err := l.Forward(&runtime.Context{Grad: true}, []*runtime.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		for i := range fast[0].Data {
			if d := fast[0].Data[i] - slow[0].Data[i]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("%s: element %d fast %v, general %v", c.config, i, fast[0].Data[i], slow[0].Data[i])
			}
		}
	}
}

// TestNormalizationMalformedConfig: an argument Keras refuses is a
// *ConfigError naming the layer, its class and the argument; renorm, valid
// but not implemented, is not.
func TestNormalizationMalformedConfig(t *testing.T) {
	for _, c := range []struct{ class, config, arg string }{
		{"BatchNormalization", `{"axis": [1, 2]}`, "axis"},
		{"BatchNormalization", `{"axis": "last"}`, "axis"},
		{"BatchNormalization", `{"momentum": "high"}`, "momentum"},
		{"BatchNormalization", `{"epsilon": true}`, "epsilon"},
		{"BatchNormalization", `{"center": 1}`, "center"},
		{"BatchNormalization", `{"scale": "yes"}`, "scale"},
		{"BatchNormalization", `{"renorm": "no"}`, "renorm"},
	} {
		wantConfigError(t, c.class, c.config, c.arg)
	}
	wantOtherError(t, "BatchNormalization", `{"renorm": true}`)
}
