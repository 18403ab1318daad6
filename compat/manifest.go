// Package compat checks kerasrun against real Python Keras. Each directory
// under testdata/ is one case written by compat/python/export.py: model files
// saved by Keras 3 and Keras 2 (tf-keras), the inputs and targets as .npy,
// and for every model file the outputs and evaluate results Keras itself
// computed from that file, all described by a case.json manifest.
//
// This file loads the manifests; the comparisons of kerasrun's results with
// Keras's live in the package's tests.
package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/kerasrun/kerasrun/internal/npy"
)

// ManifestName is the name of a case's manifest file.
const ManifestName = "case.json"

// Case is one fixture case: a model architecture saved in every format, with
// its inputs, targets and tolerance. It mirrors case.json.
type Case struct {
	// Name is the case's name, equal to its directory's name.
	Name string `json:"case"`
	// Issue is the project issue the case belongs to.
	Issue       int       `json:"issue"`
	Description string    `json:"description"`
	Notes       []string  `json:"notes"`
	Generator   Generator `json:"generator"`
	Tolerance   Tolerance `json:"tolerance"`
	Train       Train     `json:"train"`
	// InputFiles names the .npy files of the model's inputs, in the order of
	// the model's inputs.
	InputFiles []string `json:"inputs"`
	// TargetFiles names the .npy files of the targets for evaluate, in the
	// order of the model's outputs.
	TargetFiles []string `json:"targets"`
	// Models lists the model files of the case, one entry per writer and
	// format.
	Models []*ModelFile `json:"models"`

	// Dir is the case's directory; file names in the manifest are relative
	// to it.
	Dir string `json:"-"`
}

// Generator records the versions of the Python packages that wrote a case.
type Generator struct {
	Keras      string `json:"keras"`
	TFKeras    string `json:"tf_keras"`
	TensorFlow string `json:"tensorflow"`
	Numpy      string `json:"numpy"`
	H5py       string `json:"h5py"`
}

// Train records how Keras trained the case's model before saving it.
type Train struct {
	Samples   int   `json:"samples"`
	Epochs    int   `json:"epochs"`
	BatchSize int   `json:"batch_size"`
	Seed      int64 `json:"seed"`
}

// Model file formats named in case.json.
const (
	FormatKeras       = "keras"        // Keras 3 .keras archive
	FormatH5          = "h5"           // legacy full-model HDF5 (model.save("x.h5"))
	FormatJSONWeights = "json+weights" // model.to_json() plus a weights HDF5 file
)

// ModelFile is one saved model of a case and what Keras computed with it.
type ModelFile struct {
	// ID names the model within its case, e.g. "k3_keras" or "k2_json".
	ID string `json:"id"`
	// Writer is the Keras that wrote (and re-loaded) the file, e.g. "keras 3.15.1".
	Writer string `json:"writer"`
	// Format is FormatKeras, FormatH5 or FormatJSONWeights.
	Format string `json:"format"`
	// Files maps a role to a file name: "model" always, "weights" for
	// FormatJSONWeights.
	Files map[string]string `json:"files"`
	// Outputs names the .npy files of Keras's predict outputs for the
	// case's inputs, one per model output.
	Outputs []string `json:"outputs"`
	// OutputNames are the model's output names, in output order.
	OutputNames []string `json:"output_names"`
	// Evaluate is model.evaluate(inputs, targets, return_dict=True): the
	// loss and each metric by Keras's name.
	Evaluate map[string]float64 `json:"evaluate"`
	Params   Params             `json:"params"`
	// Summary is Keras's model.summary() text.
	Summary string `json:"summary,omitempty"`

	dir string
}

// Params holds a model's parameter counts as Keras reports them.
type Params struct {
	Total        int `json:"total"`
	Trainable    int `json:"trainable"`
	NonTrainable int `json:"non_trainable"`
}

// Tolerance is how far a result may be from Keras's: |got-want| <= Atol +
// Rtol*|want| element by element.
type Tolerance struct {
	Atol float64 `json:"atol"`
	Rtol float64 `json:"rtol"`
	// Reason explains a tolerance wider than the default; empty otherwise.
	Reason string `json:"reason"`
}

// DefaultTolerance is the tolerance of cases that state no reason to widen it.
var DefaultTolerance = Tolerance{Atol: 1e-5, Rtol: 1e-4}

// LoadCases loads every case under dir (each subdirectory holding a
// case.json), sorted by name.
func LoadCases(dir string) ([]*Case, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("compat: reading fixture directory: %w", err)
	}
	var cases []*Case
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(sub, ManifestName)); err != nil {
			continue
		}
		c, err := LoadCase(sub)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

// LoadCase loads and checks the case.json in dir.
func LoadCase(dir string) (*Case, error) {
	path := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("compat: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	c := &Case{}
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("compat: %s: %w", path, err)
	}
	c.Dir = dir
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("compat: %s: %w", path, err)
	}
	for _, m := range c.Models {
		m.dir = dir
	}
	return c, nil
}

func (c *Case) validate() error {
	if c.Name != filepath.Base(c.Dir) {
		return fmt.Errorf("case %q is in directory %q", c.Name, filepath.Base(c.Dir))
	}
	t := c.Tolerance
	if !(t.Atol >= 0) || !(t.Rtol >= 0) {
		return fmt.Errorf("tolerance atol %v rtol %v: must be non-negative", t.Atol, t.Rtol)
	}
	if (t.Atol > DefaultTolerance.Atol || t.Rtol > DefaultTolerance.Rtol) && t.Reason == "" {
		return fmt.Errorf("tolerance atol %v rtol %v is wider than the default without a reason", t.Atol, t.Rtol)
	}
	if len(c.InputFiles) == 0 || len(c.Models) == 0 {
		return fmt.Errorf("no inputs or no models")
	}
	ids := map[string]bool{}
	for i, m := range c.Models {
		if m.ID == "" || ids[m.ID] {
			return fmt.Errorf("models[%d]: id %q is empty or repeated", i, m.ID)
		}
		ids[m.ID] = true
		if m.Files["model"] == "" {
			return fmt.Errorf("model %s: no model file", m.ID)
		}
		switch m.Format {
		case FormatKeras, FormatH5:
			if len(m.Files) != 1 {
				return fmt.Errorf("model %s: format %s takes one file, has %v", m.ID, m.Format, m.Files)
			}
		case FormatJSONWeights:
			if m.Files["weights"] == "" || len(m.Files) != 2 {
				return fmt.Errorf("model %s: format %s needs files model and weights, has %v", m.ID, m.Format, m.Files)
			}
		default:
			return fmt.Errorf("model %s: unknown format %q", m.ID, m.Format)
		}
		if len(m.Outputs) == 0 || len(m.Outputs) != len(m.OutputNames) {
			return fmt.Errorf("model %s: %d output files for %d output names", m.ID, len(m.Outputs), len(m.OutputNames))
		}
		if len(c.TargetFiles) != 0 && len(c.TargetFiles) != len(m.Outputs) {
			return fmt.Errorf("model %s: %d outputs but %d targets", m.ID, len(m.Outputs), len(c.TargetFiles))
		}
		if _, ok := m.Evaluate["loss"]; !ok && len(c.TargetFiles) != 0 {
			return fmt.Errorf("model %s: evaluate has no loss", m.ID)
		}
	}
	return nil
}

// Path returns the path of a file of the case, given its name in the manifest.
func (c *Case) Path(name string) string { return filepath.Join(c.Dir, name) }

// Model returns the case's model with the given id, or nil.
func (c *Case) Model(id string) *ModelFile {
	for _, m := range c.Models {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// Inputs reads the case's input arrays, in the order of the model's inputs.
func (c *Case) Inputs() ([]*npy.Array, error) { return c.readAll(c.InputFiles) }

// Targets reads the case's target arrays, in the order of the model's outputs.
func (c *Case) Targets() ([]*npy.Array, error) { return c.readAll(c.TargetFiles) }

func (c *Case) readAll(names []string) ([]*npy.Array, error) {
	out := make([]*npy.Array, len(names))
	for i, n := range names {
		a, err := npy.ReadFile(c.Path(n))
		if err != nil {
			return nil, fmt.Errorf("compat: case %s: %w", c.Name, err)
		}
		out[i] = a
	}
	return out, nil
}

// ReferencedFiles lists every file the manifest names, without duplicates.
func (c *Case) ReferencedFiles() []string {
	seen := map[string]bool{}
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	add(c.InputFiles...)
	add(c.TargetFiles...)
	for _, m := range c.Models {
		add(m.Files["model"])
		if w := m.Files["weights"]; w != "" {
			add(w)
		}
		add(m.Outputs...)
	}
	return out
}

// ModelPath returns the path of the model file (the .keras archive, the .h5
// file or the to_json() file).
func (m *ModelFile) ModelPath() string { return filepath.Join(m.dir, m.Files["model"]) }

// WeightsPath returns the path of the separate weights file of a
// FormatJSONWeights model, or "" for the other formats.
func (m *ModelFile) WeightsPath() string {
	if w := m.Files["weights"]; w != "" {
		return filepath.Join(m.dir, w)
	}
	return ""
}

// ExpectedOutputs reads Keras's predict outputs for this model file, one
// array per model output.
func (m *ModelFile) ExpectedOutputs() ([]*npy.Array, error) {
	out := make([]*npy.Array, len(m.Outputs))
	for i, n := range m.Outputs {
		a, err := npy.ReadFile(filepath.Join(m.dir, n))
		if err != nil {
			return nil, fmt.Errorf("compat: model %s: %w", m.ID, err)
		}
		out[i] = a
	}
	return out, nil
}

// Check reports whether got matches want within the tolerance, element by
// element. The error counts the offending elements and names the first and
// the worst with their values. NaN matches only NaN; infinities match only
// themselves.
func (t Tolerance) Check(got, want []float32) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d values, want %d", len(got), len(want))
	}
	return t.check(len(want), func(i int) (float64, float64) { return float64(got[i]), float64(want[i]) })
}

// check compares n pairs of values, returned by at(i) as (got, want).
func (t Tolerance) check(n int, at func(i int) (got, want float64)) error {
	bad, first, worst := 0, -1, -1
	worstExcess := 0.0
	for i := range n {
		g, w := at(i)
		var excess float64
		switch {
		case math.IsNaN(w) || math.IsNaN(g):
			if math.IsNaN(w) && math.IsNaN(g) {
				continue
			}
			excess = math.Inf(1)
		case math.IsInf(w, 0) || math.IsInf(g, 0):
			if g == w {
				continue
			}
			excess = math.Inf(1)
		default:
			excess = math.Abs(g-w) - (t.Atol + t.Rtol*math.Abs(w))
			if excess <= 0 {
				continue
			}
		}
		bad++
		if first < 0 {
			first = i
		}
		if worst < 0 || excess > worstExcess {
			worst, worstExcess = i, excess
		}
	}
	if bad == 0 {
		return nil
	}
	fg, fw := at(first)
	wg, ww := at(worst)
	return fmt.Errorf("%d of %d values beyond atol %g + rtol %g*|want|: first at [%d] got %v want %v (|diff| %.3g), worst at [%d] got %v want %v (|diff| %.3g)",
		bad, n, t.Atol, t.Rtol, first, fg, fw, math.Abs(fg-fw), worst, wg, ww, math.Abs(wg-ww))
}

// CheckArray is Check with a shape check first: got's shape must equal
// want's.
func (t Tolerance) CheckArray(gotShape []int, got []float32, want *npy.Array) error {
	if !sameShape(gotShape, want.Shape) {
		return fmt.Errorf("shape %v, want %v", gotShape, want.Shape)
	}
	return t.Check(got, want.Data)
}

// CheckValue is Check for one number, such as an evaluate result.
func (t Tolerance) CheckValue(got, want float64) error {
	return t.check(1, func(int) (float64, float64) { return got, want })
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestdataDir returns the fixture root: $KERASRUN_TESTDATA if set, else the
// repository's testdata directory, found next to this package's source or,
// failing that (a -trimpath build), by walking up from the working
// directory to the module root.
func TestdataDir() string {
	if d := os.Getenv("KERASRUN_TESTDATA"); d != "" {
		return d
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "..", "testdata")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return filepath.Clean(d)
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				return filepath.Join(d, "testdata")
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "testdata"
}
