package layers

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// TestAttentionFixtures replays the MultiHeadAttention and
// GroupedQueryAttention cases recorded from Keras 3 and tf-keras
// (testdata/attention/, compat/python/export_layers_attention_mha.py):
// outputs, attention scores, input and weight gradients. An
// attention_mask recorded as "tensor" is the case's last input.
func TestAttentionFixtures(t *testing.T) {
	fixtures := readFixtureFiles(t, "testdata/attention/*.json")
	for _, ff := range fixtures {
		for _, c := range ff.Cases {
			t.Run(ff.Family+"/"+c.Name, func(t *testing.T) {
				if c.CallKwargs["attention_mask"] == "tensor" {
					c.CallKwargs["attention_mask"] = kerasjson.TensorRef{Layer: "attention_mask"}
				}
				tol := ff.Tolerance
				if c.Tolerance != nil {
					tol = *c.Tolerance
				}
				runFixtureCase(t, c, tol)
			})
		}
	}
}

func newTestMHA(t *testing.T, config string) Layer {
	t.Helper()
	spec, err := specFromKeras("MultiHeadAttention", json.RawMessage(config))
	if err != nil {
		t.Fatal(err)
	}
	l, err := newMultiHeadAttention(spec)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestMultiHeadAttentionDropoutTraining checks dropout in training, which
// Keras draws from its own generator: the same seed gives the same
// output, inference differs from training, and the backward pass is the
// derivative of the forward pass with that dropout mask (central
// differences on the query).
func TestMultiHeadAttentionDropoutTraining(t *testing.T) {
	l := newTestMHA(t, `{"name":"mha","num_heads":2,"key_dim":3,"dropout":0.4,"seed":null}`)
	if _, err := l.Build([][]int{{-1, 4, 5}, {-1, 6, 5}}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, w := range AllWeights(l) {
		for i := range w.Value.Data {
			w.Value.Data[i] = float32(rng.Float64()*2 - 1)
		}
		w.Touch()
	}
	q, v := runtime.NewTensor(2, 4, 5), runtime.NewTensor(2, 6, 5)
	for _, x := range []*runtime.Tensor{q, v} {
		for i := range x.Data {
			x.Data[i] = float32(rng.Float64()*2 - 1)
		}
	}
	run := func(training bool, q *runtime.Tensor) ([]*runtime.Tensor, runtime.Backward) {
		ctx := &runtime.Context{Training: training, Grad: true, Rand: rand.New(rand.NewPCG(7, 8))}
		out, back, err := l.Forward(ctx, []*runtime.Tensor{q, v})
		if err != nil {
			t.Fatal(err)
		}
		return out, back
	}
	a, back := run(true, q)
	b, _ := run(true, q)
	inf, _ := run(false, q)
	same, differs := true, false
	for i := range a[0].Data {
		same = same && a[0].Data[i] == b[0].Data[i]
		differs = differs || a[0].Data[i] != inf[0].Data[i]
	}
	if !same || !differs {
		t.Fatalf("training with one seed: repeatable %v, differs from inference %v", same, differs)
	}
	probe := make([]float32, a[0].Size())
	for i := range probe {
		probe[i] = float32(rng.Float64()*2 - 1)
	}
	g, err := back([]*runtime.Tensor{{Shape: a[0].Shape, Data: probe}})
	if err != nil {
		t.Fatal(err)
	}
	loss := func(q *runtime.Tensor) float64 {
		out, _ := run(true, q)
		var s float64
		for i, x := range out[0].Data {
			s += float64(x * probe[i])
		}
		return s
	}
	for _, i := range []int{0, 7, 19, 33} {
		const eps = 1e-2
		qp, qm := q.Clone(), q.Clone()
		qp.Data[i] += eps
		qm.Data[i] -= eps
		num := (loss(qp) - loss(qm)) / (2 * eps)
		if d := math.Abs(num - float64(g[0].Data[i])); d > 2e-2*(1+math.Abs(num)) {
			t.Errorf("query gradient %d: backward %g, central difference %g", i, g[0].Data[i], num)
		}
	}
}

// TestMultiHeadAttentionErrors checks that inputs the layer cannot take
// are reported with the layer and the shapes.
func TestMultiHeadAttentionErrors(t *testing.T) {
	for _, c := range []struct {
		config string
		in     [][]int
	}{
		{`{"name":"m","num_heads":2,"key_dim":3}`, [][]int{{-1, 5}, {-1, 5}}},
		{`{"name":"m","num_heads":2,"key_dim":3}`, [][]int{{-1, 4, 5}}},
		{`{"name":"m","num_heads":2,"key_dim":3}`, [][]int{{-1, 4, 5}, {-1, 6, 2, 5}}},
		{`{"name":"m","num_heads":2,"key_dim":3,"attention_axes":[3]}`, [][]int{{-1, 4, 5}, {-1, 6, 5}}},
		{`{"name":"m","num_heads":2,"key_dim":3,"attention_axes":[2]}`, [][]int{{-1, 3, 4, 5}, {-1, 2, 4, 5}}},
	} {
		l := newTestMHA(t, c.config)
		if out, err := l.Build(c.in); err == nil {
			t.Errorf("%s on %v: built %v, want an error", c.config, c.in, out)
		}
	}
	spec, _ := specFromKeras("MultiHeadAttention", json.RawMessage(`{"name":"m","num_heads":0,"key_dim":3}`))
	if _, err := newMultiHeadAttention(spec); err == nil {
		t.Error("num_heads 0 accepted")
	}
}
