package layers

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

// TestBackwardLeavesGradOutAlone replays every layer fixture's forward and
// backward pass and checks that Backward does not write into the output
// gradients it is given. runtime.Trace.Backward hands a value's gradient to
// the ops that read it without copying it (copy-on-write: it copies only to
// add a second gradient), so a Backward that changed its gout would corrupt
// the gradients of other values and the caller's output gradients.
func TestBackwardLeavesGradOutAlone(t *testing.T) {
	fixtures := readFixtureFiles(t, "testdata/*.json")
	for _, ff := range fixtures {
		for _, c := range ff.Cases {
			if c.InputGrads == nil {
				continue
			}
			t.Run(ff.Family+"/"+c.Name, func(t *testing.T) { checkGoutUnchanged(t, c) })
		}
	}
}

func checkGoutUnchanged(t *testing.T, c fixtureCase) {
	spec, err := specFromKeras(c.ClassName, c.Config)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	f, ok := Lookup(spec)
	if !ok {
		t.Fatalf("class %s is not registered", c.ClassName)
	}
	l, err := f(spec)
	if err != nil {
		t.Fatalf("new %s: %v", c.ClassName, err)
	}
	if c.CallKwargs != nil {
		if l, err = l.(CallArgsLayer).BindCall(c.CallKwargs); err != nil {
			t.Fatalf("call arguments: %v", err)
		}
	}
	var shapes [][]int
	var inputs []*runtime.Tensor
	for _, x := range c.Inputs {
		s := copyShape(x.Shape)
		s[0] = -1
		shapes = append(shapes, s)
		inputs = append(inputs, x.tensor())
	}
	if _, err := l.Build(shapes); err != nil {
		t.Fatalf("build: %v", err)
	}
	for i, w := range AllWeights(l) {
		if i < len(c.Weights) && len(c.Weights[i].Data) == len(w.Value.Data) {
			copy(w.Value.Data, c.Weights[i].Data)
			w.Touch()
		}
	}
	ctx := &runtime.Context{Training: c.Training, Grad: true}
	var back runtime.Backward
	if c.Masks != nil {
		masks := make([]*runtime.Tensor, len(c.Masks))
		for i, m := range c.Masks {
			if m != nil {
				masks[i] = m.tensor()
			}
		}
		_, _, back, err = l.(runtime.MaskedOp).ForwardMasked(ctx, inputs, masks)
	} else {
		_, back, err = l.Forward(ctx, inputs)
	}
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	probes := make([]*runtime.Tensor, len(c.Probes))
	saved := make([][]float32, len(c.Probes))
	for i, p := range c.Probes {
		probes[i] = p.tensor()
		saved[i] = slices.Clone(probes[i].Data)
	}
	if _, err := back(probes); err != nil {
		t.Fatalf("backward: %v", err)
	}
	for i, p := range probes {
		if !slices.Equal(p.Data, saved[i]) {
			t.Errorf("backward changed output gradient %d", i)
		}
	}
}

// TestConvReluWeightGradsFused checks that Conv2D with a relu, when its
// input needs no gradient (a model's first layer in training), gives the
// same weight gradients through the fused kernel as the general path.
func TestConvReluWeightGradsFused(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, cfg := range []string{
		`{"filters": 32, "kernel_size": 3, "activation": "relu"}`,
		`{"filters": 5, "kernel_size": [2, 3], "strides": 2, "padding": "same", "activation": "relu"}`,
	} {
		l := newTestLayer(t, "Conv2D", cfg)
		if _, err := l.Build([][]int{{-1, 9, 11, 3}}); err != nil {
			t.Fatal(err)
		}
		randomizeWeights(r, l)
		x := randomTensor(r, 3, 9, 11, 3)
		grads := func(need []bool) map[*runtime.Variable]*runtime.Tensor {
			ctx := &runtime.Context{Training: true, Grad: true}
			out, back, err := l.Forward(ctx, []*runtime.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			g := randomTensor(rand.New(rand.NewPCG(5, 6)), out[0].Shape...)
			ctx.InputGradNeeded = need
			if _, err := back([]*runtime.Tensor{g}); err != nil {
				t.Fatal(err)
			}
			return ctx.Grads
		}
		want, got := grads(nil), grads([]bool{false})
		for _, v := range l.Weights() {
			w, g := want[v], got[v]
			if w == nil || g == nil || len(w.Data) != len(g.Data) {
				t.Fatalf("%s: %s gradient missing", cfg, v.Name)
			}
			for i := range w.Data {
				if d := math.Abs(float64(g.Data[i] - w.Data[i])); d > 1e-4*(1+math.Abs(float64(w.Data[i]))) {
					t.Fatalf("%s: %s gradient %d = %g, want %g", cfg, v.Name, i, g.Data[i], w.Data[i])
				}
			}
		}
	}
}
