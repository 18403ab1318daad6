package layers

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// newTestLayer builds a layer from a Keras class name and a JSON config, as
// a model file would give it.
func newTestLayer(t *testing.T, class, configJSON string) Layer {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(configJSON))
	dec.UseNumber()
	var cfg map[string]any
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("bad test config: %v", err)
	}
	name, _ := cfg["name"].(string)
	if name == "" {
		name = "test_" + strings.ToLower(class)
	}
	spec := &kerasjson.Layer{ClassName: class, Name: name, Config: kerasjson.Config(cfg)}
	f, ok := Lookup(spec)
	if !ok {
		t.Fatalf("class %s is not registered", class)
	}
	l, err := f(spec)
	if err != nil {
		t.Fatalf("%s: %v", class, err)
	}
	return l
}

// randomTensor fills a tensor with uniform values in [-1, 1).
func randomTensor(r *rand.Rand, shape ...int) *runtime.Tensor {
	t := runtime.NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.Float64()*2 - 1)
	}
	return t
}

// randomizeWeights gives every weight random values.
func randomizeWeights(r *rand.Rand, l Layer) {
	for _, v := range AllWeights(l) {
		for i := range v.Value.Data {
			v.Value.Data[i] = float32(r.Float64()*2 - 1)
		}
		v.Touch()
	}
}

// checkLayerContract builds l for the inputs' shapes (batch dimension
// unknown), runs it forward, checks the output shapes match Build's, and
// compares the backward pass with central finite differences of the scalar
// loss sum(out * probe) for every input and trainable weight element
// (sampled when large). tol is relative to the gradient's magnitude.
func checkLayerContract(t *testing.T, l Layer, inputs []*runtime.Tensor, tol float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	shapes := make([][]int, len(inputs))
	for i, x := range inputs {
		shapes[i] = copyShape(x.Shape)
		shapes[i][0] = -1
	}
	outShapes, err := l.Build(shapes)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	randomizeWeights(r, l)
	ctx := &runtime.Context{Grad: true}
	out, back, err := l.Forward(ctx, inputs)
	if err != nil {
		t.Fatalf("Forward: %v", err)
	}
	if len(out) != len(outShapes) {
		t.Fatalf("Forward gave %d outputs, Build declared %d", len(out), len(outShapes))
	}
	probes := make([]*runtime.Tensor, len(out))
	for i, o := range out {
		if !shapeCompatible(outShapes[i], o.Shape) {
			t.Fatalf("output %d shape %v, Build declared %v", i, o.Shape, outShapes[i])
		}
		probes[i] = randomTensor(r, o.Shape...)
	}
	if back == nil {
		t.Fatalf("Forward returned no backward function with ctx.Grad set")
	}
	gin, err := back(probes)
	if err != nil {
		t.Fatalf("backward: %v", err)
	}
	loss := func() float64 {
		o, _, err := l.Forward(&runtime.Context{}, inputs)
		if err != nil {
			t.Fatalf("Forward: %v", err)
		}
		var s float64
		for i := range o {
			for j, v := range o[i].Data {
				s += float64(v) * float64(probes[i].Data[j])
			}
		}
		return s
	}
	check := func(what string, data []float32, analytic []float32, v *runtime.Variable) {
		t.Helper()
		idx := make([]int, len(data))
		for i := range idx {
			idx[i] = i
		}
		if len(idx) > 40 {
			r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = idx[:40]
		}
		for _, i := range idx {
			const eps = 1e-2
			old := data[i]
			touch := func() {
				if v != nil {
					v.Touch()
				}
			}
			data[i] = old + eps
			touch()
			up := loss()
			data[i] = old - eps
			touch()
			down := loss()
			data[i] = old
			touch()
			numeric := (up - down) / (2 * eps)
			var got float64
			if analytic != nil {
				got = float64(analytic[i])
			}
			if math.Abs(got-numeric) > tol*(1+math.Abs(numeric)) {
				t.Errorf("%s[%d]: backward %.6g, numeric %.6g", what, i, got, numeric)
			}
		}
	}
	for i, x := range inputs {
		var g []float32
		if i < len(gin) && gin[i] != nil {
			g = gin[i].Data
		}
		check("input grad", x.Data, g, nil)
	}
	for _, v := range AllWeights(l) {
		if !v.Trainable {
			continue
		}
		var g []float32
		if gv := ctx.Grads[v]; gv != nil {
			g = gv.Data
		}
		check("weight "+v.Name+" grad", v.Value.Data, g, v)
	}
}

func TestCoreLayersContract(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		class, config string
		shapes        [][]int
	}{
		{"Dense", `{"units": 3, "activation": "tanh"}`, [][]int{{2, 4}}},
		{"Dense", `{"units": 3, "use_bias": false}`, [][]int{{2, 5, 4}}},
		{"Dense", `{"units": 4, "activation": "softmax"}`, [][]int{{3, 2}}},
		{"Activation", `{"activation": "sigmoid"}`, [][]int{{2, 3}}},
		{"Activation", `{"activation": "log_softmax"}`, [][]int{{2, 5}}},
		{"Activation", `{"activation": "selu"}`, [][]int{{2, 5}}},
		{"Flatten", `{}`, [][]int{{2, 3, 2, 2}}},
		{"Flatten", `{"data_format": "channels_first"}`, [][]int{{2, 3, 2, 2}}},
		{"Dropout", `{"rate": 0.5}`, [][]int{{2, 3}}},
	}
	for _, c := range cases {
		t.Run(c.class+c.config, func(t *testing.T) {
			l := newTestLayer(t, c.class, c.config)
			var in []*runtime.Tensor
			for _, s := range c.shapes {
				in = append(in, randomTensor(r, s...))
			}
			checkLayerContract(t, l, in, 2e-2)
		})
	}
}

func TestUnknownActivationIsAnError(t *testing.T) {
	spec := &kerasjson.Layer{ClassName: "Dense", Name: "d", Config: kerasjson.Config{"units": json.Number("2"), "activation": "nope"}}
	f, _ := Lookup(spec)
	if _, err := f(spec); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("want an error naming the activation, got %v", err)
	}
}
