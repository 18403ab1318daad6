package layers

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Golden layer fixtures recorded from real Keras by
// compat/python/layer_fixtures.py: one JSON file per layer family in
// testdata/.

type fixtureArray struct {
	Name      string    `json:"name"`
	Trainable bool      `json:"trainable"`
	Shape     []int     `json:"shape"`
	Data      []float32 `json:"data"`
}

func (a fixtureArray) tensor() *runtime.Tensor {
	return &runtime.Tensor{Shape: copyShape(a.Shape), Data: append([]float32(nil), a.Data...)}
}

type fixtureTolerance struct {
	Atol   float64 `json:"atol"`
	Rtol   float64 `json:"rtol"`
	Reason string  `json:"reason"`
}

type fixtureCase struct {
	Name        string            `json:"name"`
	ClassName   string            `json:"class_name"`
	Config      json.RawMessage   `json:"config"`
	Training    bool              `json:"training"`
	Inputs      []fixtureArray    `json:"inputs"`
	Weights     []fixtureArray    `json:"weights"`
	Outputs     []fixtureArray    `json:"outputs"`
	Probes      []fixtureArray    `json:"probes"`
	InputGrads  []fixtureArray    `json:"input_grads"`
	WeightGrads []fixtureArray    `json:"weight_grads"`
	Tolerance   *fixtureTolerance `json:"tolerance"`
	// Masks are the call's input masks (null for an input without one).
	Masks []*fixtureArray `json:"masks"`
	// CallKwargs are plain call arguments (use_causal_mask).
	CallKwargs map[string]any `json:"call_kwargs"`
}

type fixtureFile struct {
	Family       string           `json:"family"`
	KerasVersion string           `json:"keras_version"`
	Tolerance    fixtureTolerance `json:"tolerance"`
	Cases        []fixtureCase    `json:"cases"`
}

// specFromKeras normalizes a layer config recorded from Keras the way a
// model file's config is normalized, by wrapping it in a Sequential model.
func specFromKeras(class string, config json.RawMessage) (*kerasjson.Layer, error) {
	doc := fmt.Sprintf(`{"class_name":"Sequential","config":{"name":"fixture","layers":[{"class_name":%q,"config":%s}]}}`, class, config)
	m, err := kerasjson.ParseModel([]byte(doc))
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if l.ClassName != "InputLayer" {
			return l, nil
		}
	}
	return nil, fmt.Errorf("no layer in parsed config")
}

func compareArrays(what string, got *runtime.Tensor, want fixtureArray, tol fixtureTolerance) error {
	if !shapeCompatible(want.Shape, got.Shape) {
		return fmt.Errorf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	worst, worstI := 0.0, -1
	for i, w := range want.Data {
		d := math.Abs(float64(got.Data[i]) - float64(w))
		lim := tol.Atol + tol.Rtol*math.Abs(float64(w))
		if d > lim && d-lim > worst || math.IsNaN(float64(got.Data[i])) {
			worst, worstI = d-lim, i
		}
	}
	if worstI >= 0 {
		return fmt.Errorf("%s: element %d = %g, want %g (atol %g, rtol %g)", what, worstI, got.Data[worstI], want.Data[worstI], tol.Atol, tol.Rtol)
	}
	return nil
}

// updatesFile is a fixture file whose cases also record the values Keras
// assigned to the layer's variables in a training call.
type updatesFile struct {
	Tolerance fixtureTolerance `json:"tolerance"`
	Cases     []struct {
		fixtureCase
		Updates []fixtureArray `json:"updates"`
	} `json:"cases"`
}

// readFixture decodes the committed fixture at path into a T. A missing or
// malformed fixture fails the test: fixtures are committed, so a missing
// one is a broken checkout, not a reason to skip.
func readFixture[T any](t *testing.T, path string) T {
	t.Helper()
	var v T
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("fixture %s: %v", path, err)
	}
	return v
}

// readFixtureFiles reads every fixture file matching glob; it fails the
// test when nothing matches.
func readFixtureFiles(t *testing.T, glob string) []fixtureFile {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture files match %s (err %v)", glob, err)
	}
	var out []fixtureFile
	for _, path := range files {
		out = append(out, readFixture[fixtureFile](t, path))
	}
	return out
}

// TestLayerFixtures replays every recorded Keras layer case: forward
// outputs and, where recorded, input and weight gradients.
func TestLayerFixtures(t *testing.T) {
	fixtures := readFixtureFiles(t, "testdata/*.json")
	for _, ff := range fixtures {
		for _, c := range ff.Cases {
			t.Run(ff.Family+"/"+c.Name, func(t *testing.T) {
				tol := ff.Tolerance
				if c.Tolerance != nil {
					tol = *c.Tolerance
				}
				runFixtureCase(t, c, tol)
			})
		}
	}
}

func runFixtureCase(t *testing.T, c fixtureCase, tol fixtureTolerance) {
	spec, err := specFromKeras(c.ClassName, c.Config)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	f, ok := Lookup(spec)
	if !ok {
		t.Fatalf("class %s (normalized %s) is not registered", c.ClassName, spec.ClassName)
	}
	l, err := f(spec)
	if err != nil {
		t.Fatalf("new %s: %v", c.ClassName, err)
	}
	if c.CallKwargs != nil {
		cl, ok := l.(CallArgsLayer)
		if !ok {
			t.Fatalf("%s takes no call arguments, the case has %v", c.ClassName, c.CallKwargs)
		}
		if l, err = cl.BindCall(c.CallKwargs); err != nil {
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
	ws := AllWeights(l)
	if len(ws) != len(c.Weights) {
		t.Fatalf("layer has %d weights, Keras %d", len(ws), len(c.Weights))
	}
	for i, w := range c.Weights {
		if !shapeCompatible(w.Shape, ws[i].Value.Shape) || len(w.Data) != len(ws[i].Value.Data) {
			t.Fatalf("weight %d (%s): shape %v, Keras %v", i, w.Name, ws[i].Value.Shape, w.Shape)
		}
		copy(ws[i].Value.Data, w.Data)
		ws[i].Touch()
	}
	grad := c.InputGrads != nil
	ctx := &runtime.Context{Training: c.Training, Grad: grad}
	var out []*runtime.Tensor
	var back runtime.Backward
	if c.Masks != nil {
		mo, ok := l.(runtime.MaskedOp)
		if !ok {
			t.Fatalf("%s does not read masks, the case has some", c.ClassName)
		}
		masks := make([]*runtime.Tensor, len(c.Masks))
		for i, m := range c.Masks {
			if m != nil {
				masks[i] = m.tensor()
			}
		}
		out, _, back, err = mo.ForwardMasked(ctx, inputs, masks)
	} else {
		out, back, err = l.Forward(ctx, inputs)
	}
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	if len(out) != len(c.Outputs) {
		t.Fatalf("%d outputs, Keras %d", len(out), len(c.Outputs))
	}
	for i := range out {
		if err := compareArrays(fmt.Sprintf("output %d", i), out[i], c.Outputs[i], tol); err != nil {
			t.Error(err)
		}
	}
	if !grad {
		return
	}
	probes := make([]*runtime.Tensor, len(c.Probes))
	for i, p := range c.Probes {
		probes[i] = p.tensor()
	}
	gin, err := back(probes)
	if err != nil {
		t.Fatalf("backward: %v", err)
	}
	for i, want := range c.InputGrads {
		g := runtime.NewTensor(want.Shape...)
		if i < len(gin) && gin[i] != nil {
			g = gin[i]
		}
		if err := compareArrays(fmt.Sprintf("input %d gradient", i), g, want, tol); err != nil {
			t.Error(err)
		}
	}
	var trainable []*runtime.Variable
	for _, w := range ws {
		if w.Trainable {
			trainable = append(trainable, w)
		}
	}
	for i, want := range c.WeightGrads {
		g := runtime.NewTensor(want.Shape...)
		if i < len(trainable) && ctx.Grads[trainable[i]] != nil {
			g = ctx.Grads[trainable[i]]
		}
		if err := compareArrays(fmt.Sprintf("weight %d gradient", i), g, want, tol); err != nil {
			t.Error(err)
		}
	}
}
