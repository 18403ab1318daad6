package layers

import (
	"encoding/json"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// TestKeras2LayerFixtures replays the cases recorded from tf_keras (Keras
// 2) in testdata/keras2/, after renaming activations as a loader does for
// files written by Keras < 3 (RenameKeras2Activations).
func TestKeras2LayerFixtures(t *testing.T) {
	fixtures := readFixtureFiles(t, "testdata/keras2/*.json")
	for _, ff := range fixtures {
		for _, c := range ff.Cases {
			t.Run(ff.Family+"/"+c.Name, func(t *testing.T) {
				var cfg map[string]any
				if err := json.Unmarshal(c.Config, &cfg); err != nil {
					t.Fatal(err)
				}
				RenameKeras2Activations(kerasjson.Config(cfg))
				renamed, err := json.Marshal(cfg)
				if err != nil {
					t.Fatal(err)
				}
				c.Config = renamed
				tol := ff.Tolerance
				if c.Tolerance != nil {
					tol = *c.Tolerance
				}
				runFixtureCase(t, c, tol)
			})
		}
	}
}

// TestKeras2BatchNormalizationUpdates checks the moving statistics a
// training call assigns against those tf_keras assigned (its fused kernel
// for 4-D inputs and its unfused path alike).
func TestKeras2BatchNormalizationUpdates(t *testing.T) {
	ff := readFixture[updatesFile](t, "testdata/keras2/normalization.json")
	n := 0
	for _, c := range ff.Cases {
		if c.Updates == nil {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			if c.Training && tfKerasFusedBN(c.fixtureCase) {
				t.Skip("tf_keras's fused kernel (4-D input, axis 1 or 3) updates moving_variance with Bessel's " +
					"correction n/(n-1); kerasrun applies Keras 3's biased update to Keras 2 files too (not yet Keras-2-aware)")
			}
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
			ws := l.Weights()
			if len(ws) != len(c.Weights) {
				t.Fatalf("%d weights, Keras %d", len(ws), len(c.Weights))
			}
			for i, w := range ws {
				copy(w.Value.Data, c.Weights[i].Data)
				w.Touch()
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
				g := got[v]
				if g == nil {
					g = v.Value // no update: the variable keeps its value
				}
				if err := compareArrays(c.Updates[i].Name, g, c.Updates[i], ff.Tolerance); err != nil {
					t.Error(err)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no cases with updates")
	}
}

// tfKerasFusedBN reports whether tf_keras ran a BatchNormalization case
// with its fused kernel: a 4-D input normalized over axis 1 or 3.
func tfKerasFusedBN(c fixtureCase) bool {
	var cfg struct {
		Axis []int `json:"axis"`
	}
	if json.Unmarshal(c.Config, &cfg) != nil || len(cfg.Axis) != 1 || len(c.Inputs) != 1 {
		return false
	}
	return len(c.Inputs[0].Shape) == 4 && (cfg.Axis[0] == 1 || cfg.Axis[0] == 3)
}
