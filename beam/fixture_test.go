package kerasbeam

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/kerasrun/kerasrun"
)

// fixtureCase is one of ../testdata's Keras exports: inputs, and per model
// file the outputs Keras computed on them.
type fixtureCase struct {
	dir       string
	inputs    []*kerasrun.Tensor
	tolerance struct{ Atol, Rtol float64 }
	models    []fixtureModel
}

type fixtureModel struct {
	id, model, weights string
	outputs            []*kerasrun.Tensor
}

func readCase(t *testing.T, name string) *fixtureCase {
	t.Helper()
	dir := filepath.Join("..", "testdata", name)
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Inputs    []string
		Tolerance struct{ Atol, Rtol float64 }
		Models    []struct {
			ID      string
			Files   map[string]string
			Outputs []string
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	c := &fixtureCase{dir: dir, tolerance: m.Tolerance}
	for _, f := range m.Inputs {
		c.inputs = append(c.inputs, readNPY(t, filepath.Join(dir, f)))
	}
	for _, md := range m.Models {
		fm := fixtureModel{id: md.ID, model: filepath.Join(dir, md.Files["model"])}
		if w := md.Files["weights"]; w != "" {
			fm.weights = filepath.Join(dir, w)
		}
		for _, f := range md.Outputs {
			fm.outputs = append(fm.outputs, readNPY(t, filepath.Join(dir, f)))
		}
		c.models = append(c.models, fm)
	}
	return c
}

func readNPY(t *testing.T, path string) *kerasrun.Tensor {
	t.Helper()
	x, err := kerasrun.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (c *fixtureCase) samples() int { return c.inputs[0].Shape[0] }

// row returns sample i of every input, or of every output.
func row(ts []*kerasrun.Tensor, i int) [][]float32 {
	out := make([][]float32, len(ts))
	for j, t := range ts {
		per := len(t.Data) / t.Shape[0]
		out[j] = t.Data[i*per : (i+1)*per]
	}
	return out
}

// inputNames are the input names of model file m as kerasrun reads them
// (a Keras 2 Sequential names its input after its first layer).
func inputNames(t *testing.T, m fixtureModel) []string {
	t.Helper()
	var opts []kerasrun.LoadOption
	if m.weights != "" {
		opts = append(opts, kerasrun.WithWeights(m.weights))
	}
	km, err := kerasrun.Load(m.model, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range km.Inputs() {
		names = append(names, in.Name)
	}
	return names
}

// example is sample i as an Example with the model's input names.
func (c *fixtureCase) example(i int, names []string) Example {
	var ex Example
	for j, d := range row(c.inputs, i) {
		ex.Inputs = append(ex.Inputs, Tensor{Name: names[j], Shape: c.inputs[j].Shape[1:], Data: d})
	}
	return ex
}

// check builds the DoFn that checks results against model m's Keras
// outputs.
func (c *fixtureCase) check(label string, m fixtureModel) *checkFn {
	f := &checkFn{Label: label, ModelID: m.model, Atol: c.tolerance.Atol, Rtol: c.tolerance.Rtol}
	for i := 0; i < c.samples(); i++ {
		f.Inputs = append(f.Inputs, slices.Concat(row(c.inputs, i)...))
		f.Want = append(f.Want, slices.Concat(row(m.outputs, i)...))
	}
	return f
}

// checkFn checks each PredictionResult against the Keras outputs of the
// sample its inputs are (found by exact equality): it emits "label/i" for
// a result that matches sample i within the fixture's tolerance and a
// description of every mismatch.
type checkFn struct {
	Label        string
	ModelID      string
	Inputs, Want [][]float32
	Atol, Rtol   float64
	// SampleAtol, when set, is each sample's own Atol.
	SampleAtol []float64
}

func (f *checkFn) ProcessElement(r PredictionResult, emit func(string), bad func(string)) {
	var in, got []float32
	for _, t := range r.Example.Inputs {
		in = append(in, t.Data...)
	}
	for _, t := range r.Inference {
		got = append(got, t.Data...)
	}
	i := slices.IndexFunc(f.Inputs, func(x []float32) bool { return slices.Equal(x, in) })
	switch {
	case i < 0:
		bad(fmt.Sprintf("%s: a result for inputs that are no sample", f.Label))
	case r.ModelID != f.ModelID:
		bad(fmt.Sprintf("%s/%d: scored by %s, want %s", f.Label, i, r.ModelID, f.ModelID))
	case len(got) != len(f.Want[i]):
		bad(fmt.Sprintf("%s/%d: %d output values, want %d", f.Label, i, len(got), len(f.Want[i])))
	default:
		atol := f.Atol
		if f.SampleAtol != nil {
			atol = f.SampleAtol[i]
		}
		for k, w := range f.Want[i] {
			if d := math.Abs(float64(got[k] - w)); d > atol+f.Rtol*math.Abs(float64(w)) || got[k] != got[k] {
				bad(fmt.Sprintf("%s/%d: output value %d is %v, Keras gives %v", f.Label, i, k, got[k], w))
				return
			}
		}
		emit(fmt.Sprintf("%s/%d", f.Label, i))
	}
}

// keyCheckFn checks that a keyed result's key is the sample its inputs
// are, then checks the result as checkFn.
type keyCheckFn struct {
	checkFn
}

func (f *keyCheckFn) ProcessElement(key int, r PredictionResult, emit func(string), bad func(string)) {
	f.checkFn.ProcessElement(r, func(s string) {
		if want := fmt.Sprintf("%s/%d", f.Label, key); s != want {
			bad(fmt.Sprintf("key %d carries the result of %s", key, s))
			return
		}
		emit(s)
	}, bad)
}

func init() {
	register.DoFn3x0[PredictionResult, func(string), func(string)](&checkFn{})
	register.DoFn4x0[int, PredictionResult, func(string), func(string)](&keyCheckFn{})
	register.Emitter1[string]()
}

// checkResults asserts that results hold exactly the samples in want
// (each once) and that every one matches Keras.
func checkResults(s beam.Scope, results beam.PCollection, f *checkFn, want []string) {
	ok, bad := beam.ParDo2(s, f, results)
	passert.Empty(s, bad)
	passert.Equals(s, ok, anys(want)...)
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func labels(label string, rows []int) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%s/%d", label, r)
	}
	return out
}

func reflectTypeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }

func nanValue() float64 { return math.NaN() }

func infValue() float64 { return math.Inf(1) }
