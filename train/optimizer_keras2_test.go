package train

import (
	"encoding/json"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

type legacyCase struct {
	Label           string          `json:"label"`
	OptimizerConfig json.RawMessage `json:"optimizer_config"`
	ModelWeights    []string        `json:"model_weight_names"`
	Init            []goldenArray   `json:"init"`
	X               goldenArray     `json:"x"`
	Y               goldenArray     `json:"y"`
	BatchSize       int             `json:"batch_size"`
	WeightsAfter    []goldenArray   `json:"weights_after"`
	OptNames        []string        `json:"optimizer_weight_names"`
	OptWeights      []goldenArray   `json:"optimizer_weights"`
}

// mlpGrads returns the gradients of Keras's mean squared error for the
// two-Dense linear model of legacy.json (kernel1, bias1, kernel2, bias2).
func mlpGrads(w []*runtime.Variable, x, y []float64, n, in, hid, out int) []*runtime.Tensor {
	k1, b1, k2, b2 := w[0].Value.Data, w[1].Value.Data, w[2].Value.Data, w[3].Value.Data
	h := make([]float64, n*hid)
	o := make([]float64, n*out)
	for r := 0; r < n; r++ {
		for j := 0; j < hid; j++ {
			s := float64(b1[j])
			for i := 0; i < in; i++ {
				s += x[r*in+i] * float64(k1[i*hid+j])
			}
			h[r*hid+j] = s
		}
		for j := 0; j < out; j++ {
			s := float64(b2[j])
			for i := 0; i < hid; i++ {
				s += h[r*hid+i] * float64(k2[i*out+j])
			}
			o[r*out+j] = s
		}
	}
	g := []*runtime.Tensor{runtime.NewTensor(in, hid), runtime.NewTensor(hid), runtime.NewTensor(hid, out), runtime.NewTensor(out)}
	acc := make([][]float64, 4)
	for i := range acc {
		acc[i] = make([]float64, len(g[i].Data))
	}
	for r := 0; r < n; r++ {
		dh := make([]float64, hid)
		for j := 0; j < out; j++ {
			d := 2 * (o[r*out+j] - y[r*out+j]) / float64(n*out)
			acc[3][j] += d
			for i := 0; i < hid; i++ {
				acc[2][i*out+j] += h[r*hid+i] * d
				dh[i] += float64(k2[i*out+j]) * d
			}
		}
		for j := 0; j < hid; j++ {
			acc[1][j] += dh[j]
			for i := 0; i < in; i++ {
				acc[0][i*hid+j] += x[r*in+i] * dh[j]
			}
		}
	}
	for i := range g {
		for j, v := range acc[i] {
			g[i].Data[j] = float32(v)
		}
	}
	return g
}

// TestKeras2Optimizers trains the tf-keras model of legacy.json with the
// Keras 2 optimizer configs (including legacy decay) and checks the
// weights, then maps the .h5 optimizer_weights onto the optimizer's
// variables and compares them with the state reached here.
func TestKeras2Optimizers(t *testing.T) {
	var g struct{ Cases []legacyCase }
	loadGolden(t, "legacy.json", &g)
	for _, c := range g.Cases {
		t.Run(c.Label, func(t *testing.T) {
			opt, err := NewOptimizer(decodeConfig(t, c.OptimizerConfig))
			if err != nil {
				t.Fatal(err)
			}
			vars := make([]*runtime.Variable, len(c.Init))
			paths := make([]string, len(c.Init))
			for i, a := range c.Init {
				vars[i] = &runtime.Variable{Name: c.ModelWeights[i], Value: a.tensor(), Trainable: true}
				paths[i] = c.ModelWeights[i][:len(c.ModelWeights[i])-2]
			}
			if err := opt.Build(vars, paths); err != nil {
				t.Fatal(err)
			}
			x, y := toFloat64(c.X.tensor()), toFloat64(c.Y.tensor())
			in, hid, out := c.Init[0].Shape[0], c.Init[0].Shape[1], c.Init[2].Shape[1]
			n := c.X.Shape[0]
			for s := 0; s*c.BatchSize < n; s++ {
				lo, hi := s*c.BatchSize, min(n, (s+1)*c.BatchSize)
				grads := mlpGrads(vars, x[lo*in:hi*in], y[lo*out:hi*out], hi-lo, in, hid, out)
				if err := opt.Apply(vars, grads); err != nil {
					t.Fatal(err)
				}
			}
			for i, v := range vars {
				checkSlice(t, c.Label+" "+c.ModelWeights[i], v.Value.Data, c.WeightsAfter[i].Data)
			}
			vals := make([]*runtime.Tensor, len(c.OptWeights))
			for i := range vals {
				vals[i] = c.OptWeights[i].tensor()
			}
			mapped, it, err := MapKeras2OptimizerWeights(opt, c.OptNames, vals)
			if err != nil {
				t.Fatal(err)
			}
			if it != opt.Iterations() {
				t.Errorf("mapped iterations %d, want %d", it, opt.Iterations())
			}
			ours := opt.Variables()
			for k := 1; k < len(ours); k++ {
				checkSlice(t, c.Label+" mapped "+ours[k].Name, mapped[k].Data, toFloat64(ours[k].Value))
			}
			if err := opt.SetVariables(mapped, it); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKeras2PositionalWeights(t *testing.T) {
	opt, err := NewOptimizer(decodeConfig(t, json.RawMessage(`{"class_name": "RMSprop", "config": {"epsilon": 1e-07, "lr": 0.001, "rho": 0.9, "decay": 0.0}}`)))
	if err != nil {
		t.Fatal(err)
	}
	vars := []*runtime.Variable{{Name: "k", Value: runtime.NewTensor(2, 2)}, {Name: "b", Value: runtime.NewTensor(2)}}
	if err := opt.Build(vars, nil); err != nil {
		t.Fatal(err)
	}
	// Keras 2.1 RMSprop: accumulators only, no iteration count.
	acc := []*runtime.Tensor{runtime.NewTensor(2, 2), runtime.NewTensor(2)}
	acc[0].Data[3] = 0.25
	mapped, it, err := MapKeras2OptimizerWeights(opt, []string{"training/RMSprop/Variable:0", "training/RMSprop/Variable_1:0"}, acc)
	if err != nil || it != 0 || mapped[2].Data[3] != 0.25 {
		t.Fatalf("positional RMSprop: %v %d %v", mapped, it, err)
	}
	if _, _, err := MapKeras2OptimizerWeights(opt, []string{"a", "b", "c"}, append(acc, runtime.NewTensor(5))); err == nil {
		t.Error("three weights for two variables: want an error")
	}
}
