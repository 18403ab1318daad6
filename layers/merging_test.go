package layers

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// layerCase is one contract-test case: a class, its JSON config and the
// input shapes (batch first).
type layerCase struct {
	class, config string
	shapes        [][]int
	// kinks lists points where the layer is not differentiable; inputs
	// closer than the finite-difference step are moved away from them.
	kinks []float32
}

// runContractCases runs checkLayerContract on each case with random inputs.
func runContractCases(t *testing.T, cases []layerCase, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	for _, c := range cases {
		t.Run(c.class+c.config, func(t *testing.T) {
			l := newTestLayer(t, c.class, c.config)
			var in []*runtime.Tensor
			for _, s := range c.shapes {
				x := randomTensor(r, s...)
				for i, v := range x.Data {
					for _, k := range c.kinks {
						if v-k < 0.03 && k-v < 0.03 {
							v = k + 0.05
						}
					}
					x.Data[i] = v
				}
				in = append(in, x)
			}
			checkLayerContract(t, l, in, 2e-2)
		})
	}
}

func TestMergingLayersContract(t *testing.T) {
	runContractCases(t, []layerCase{
		{"Add", `{}`, [][]int{{2, 3}, {2, 3}, {2, 3}}, nil},
		{"Add", `{}`, [][]int{{2, 4}, {2, 3, 4}}, nil},
		{"Subtract", `{}`, [][]int{{2, 3, 1}, {2, 4}}, nil},
		{"Multiply", `{}`, [][]int{{2, 1, 4}, {2, 3, 1}, {2, 3, 4}}, nil},
		{"Average", `{}`, [][]int{{2, 3}, {2, 3}}, nil},
		{"Maximum", `{}`, [][]int{{2, 3}, {2, 3}, {2, 3}}, nil},
		{"Minimum", `{}`, [][]int{{2, 4}, {2, 3, 4}}, nil},
		{"Concatenate", `{"axis": 1}`, [][]int{{2, 1, 4}, {2, 3, 4}}, nil},
		{"Concatenate", `{}`, [][]int{{2, 3, 2}, {2, 3, 4}}, nil},
		{"Dot", `{"axes": [1, 2]}`, [][]int{{2, 3, 4}, {2, 5, 3}}, nil},
		{"Dot", `{"axes": -1, "normalize": true}`, [][]int{{2, 3, 4}, {2, 5, 4}}, nil},
		{"Dot", `{"axes": [2, 1], "normalize": true}`, [][]int{{2, 3, 4}, {2, 4, 2, 2}}, nil},
	}, 11)
}

func TestMergingShapeErrors(t *testing.T) {
	cases := []struct {
		class, config string
		shapes        [][]int
		want          string
	}{
		{"Subtract", `{}`, [][]int{{-1, 3}, {-1, 3}, {-1, 3}}, "exactly 2 inputs"},
		{"Add", `{}`, [][]int{{-1, 3}, {-1, 4}}, "incompatible shapes"},
		{"Concatenate", `{"axis": 1}`, [][]int{{-1, 3, 2}, {-1, 3, 4}}, "matching shapes"},
		{"Concatenate", `{"axis": 3}`, [][]int{{-1, 3}, {-1, 3}}, "axis 3 out of range"},
		{"Dot", `{"axes": 1}`, [][]int{{-1, 3}, {-1, 4}}, "incompatible input shapes"},
		{"Dot", `{"axes": 0}`, [][]int{{-1, 3}, {-1, 3}}, "batch axis"},
	}
	for _, c := range cases {
		l := newTestLayer(t, c.class, c.config)
		out, err := l.Build(c.shapes)
		if err == nil || !strings.Contains(err.Error(), c.want) || out != nil {
			t.Errorf("%s%s on %v: got %v, %v; want error containing %q", c.class, c.config, c.shapes, out, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "("+c.class+")") {
			t.Errorf("error does not name the layer: %v", err)
		}
	}
}

// buildTestLayer is newTestLayer returning the factory's error.
func buildTestLayer(class, configJSON string) (Layer, error) {
	dec := json.NewDecoder(strings.NewReader(configJSON))
	dec.UseNumber()
	var cfg map[string]any
	if err := dec.Decode(&cfg); err != nil {
		return nil, err
	}
	spec := &kerasjson.Layer{ClassName: class, Name: "test_" + strings.ToLower(class), Config: kerasjson.Config(cfg)}
	f, ok := Lookup(spec)
	if !ok {
		return nil, fmt.Errorf("class %s is not registered", class)
	}
	return f(spec)
}
