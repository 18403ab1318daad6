package compat

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun"
	"github.com/kerasrun/kerasrun/internal/npy"
)

// The training fixtures of testdata/fit, written by
// compat/python/export_fit.py: Keras's fit() from a saved model file on
// fixed batches, recorded after the first step and at the end.

type fitManifest struct {
	Generator map[string]string `json:"generator"`
	Cases     []*fitCase        `json:"cases"`
}

type fitTolerance struct {
	Step1       *Tolerance `json:"step1"`
	Final       *Tolerance `json:"final"`
	HistoryRtol float64    `json:"history_rtol"`
	// AccuracyPoints bounds the digits case's test accuracy difference,
	// in percentage points.
	AccuracyPoints float64 `json:"accuracy_points"`
	Reason         string  `json:"reason"`
}

type fitCase struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Model       string `json:"model"`
	Data        string `json:"data"`
	Expect      string `json:"expect"`
	Inputs      int    `json:"inputs"`
	Targets     int    `json:"targets"`
	Fit         struct {
		BatchSize    int  `json:"batch_size"`
		Epochs       int  `json:"epochs"`
		InitialEpoch int  `json:"initial_epoch"`
		Shuffle      bool `json:"shuffle"`
	} `json:"fit"`
	Steps              int                  `json:"steps"`
	Weights            []string             `json:"weights"`
	OptimizerVariables []string             `json:"optimizer_variables"`
	History            map[string][]float64 `json:"history"`
	Evaluate           map[string]float64   `json:"evaluate"`
	Tolerance          fitTolerance         `json:"tolerance"`
	// digits only
	CSV          string             `json:"csv"`
	TrainSamples int                `json:"train_samples"`
	Test         map[string]float64 `json:"test"`
}

// fitDir is the training fixture root: $KERASRUN_FIT_TESTDATA, else
// testdata/fit of the repository.
func fitDir() string {
	if d := os.Getenv("KERASRUN_FIT_TESTDATA"); d != "" {
		return d
	}
	return filepath.Join("..", "testdata", "fit")
}

func loadFitManifest(t *testing.T) *fitManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fitDir(), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m fitManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// caseDir is the directory of a case's files: the resume cases share one.
func (c *fitCase) dir() string {
	if strings.HasPrefix(c.Name, "resume_") {
		return filepath.Join(fitDir(), "resume")
	}
	return filepath.Join(fitDir(), c.Name)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func toTensor(a *npy.Array) *kerasrun.Tensor {
	return &kerasrun.Tensor{Shape: append([]int(nil), a.Shape...), Data: a.Data}
}

// fitData reads x0.., y0.. of a case.
func (c *fitCase) fitData(t *testing.T) (x, y []*kerasrun.Tensor) {
	t.Helper()
	arrays, err := npy.ReadNPZ(filepath.Join(c.dir(), orDefault(c.Data, "data.npz")))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < c.Inputs; i++ {
		x = append(x, toTensor(arrays[fmt.Sprintf("x%d", i)]))
	}
	for i := 0; i < c.Targets; i++ {
		y = append(y, toTensor(arrays[fmt.Sprintf("y%d", i)]))
	}
	return x, y
}

// snapshot is the model's weights (by path) and optimizer variables.
type snapshot struct {
	weights map[string]*kerasrun.Tensor
	opt     []*kerasrun.Tensor
	optName []string
}

func takeSnapshot(t *testing.T, m *kerasrun.Model) *snapshot {
	s := &snapshot{weights: map[string]*kerasrun.Tensor{}}
	for _, v := range m.Variables() {
		s.weights[v.Path] = v.Value
	}
	opt, err := m.Optimizer()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range opt.Variables() {
		s.opt = append(s.opt, v.Value.Clone())
		s.optName = append(s.optName, v.Name)
	}
	return s
}

// firstStep snapshots the model after the first training step.
type firstStep struct {
	kerasrun.NopCallback
	t    *testing.T
	m    *kerasrun.Model
	snap *snapshot
}

func (f *firstStep) OnBatchEnd(int, map[string]float64) error {
	if f.snap == nil {
		f.snap = takeSnapshot(f.t, f.m)
	}
	return nil
}

// compareSnapshot checks a snapshot against the arrays Keras recorded
// under prefix ("step1", "final").
func compareSnapshot(t *testing.T, c *fitCase, prefix string, got *snapshot, want map[string]*npy.Array, tol Tolerance) {
	t.Helper()
	for _, path := range c.Weights {
		w, ok := want[prefix+"/w/"+path]
		if !ok {
			t.Fatalf("%s: fixture lacks %s/w/%s", c.Name, prefix, path)
		}
		g, ok := got.weights[path]
		if !ok {
			t.Errorf("%s: the Go model has no variable %q (has %v)", prefix, path, keys(got.weights))
			continue
		}
		if err := tol.CheckArray(g.Shape, g.Data, w); err != nil {
			t.Errorf("%s weight %s: %v", prefix, path, err)
		}
	}
	if len(got.weights) != len(c.Weights) {
		t.Errorf("%s: Go has %d variables, Keras %d", prefix, len(got.weights), len(c.Weights))
	}
	nOpt := 0
	for k := range want {
		if strings.HasPrefix(k, prefix+"/opt/") {
			nOpt++
		}
	}
	if nOpt == 0 {
		return // the resume cases record weights only
	}
	if len(got.opt) != nOpt {
		t.Errorf("%s: Go optimizer has %d variables %v, Keras %d %v", prefix, len(got.opt), got.optName, nOpt, c.OptimizerVariables)
		return
	}
	for i, g := range got.opt {
		w := want[fmt.Sprintf("%s/opt/%d", prefix, i)]
		// Keras stores the iteration count as int64 and 0-d variables
		// with shape (); compare values only for scalars.
		if len(w.Data) == 1 && len(g.Data) == 1 {
			if err := tol.CheckValue(float64(g.Data[0]), float64(w.Data[0])); err != nil {
				t.Errorf("%s optimizer variable %d (%s, Keras %s): %v", prefix, i, got.optName[i], c.OptimizerVariables[i], err)
			}
			continue
		}
		if err := tol.CheckArray(g.Shape, g.Data, w); err != nil {
			t.Errorf("%s optimizer variable %d (%s, Keras %s): %v", prefix, i, got.optName[i], c.OptimizerVariables[i], err)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkLogs compares Go's logs with Keras's, key by key (Keras's keys must
// all be there).
func checkLogs(t *testing.T, what string, got map[string]float64, want map[string]float64, rtol float64) {
	t.Helper()
	tol := Tolerance{Atol: 1e-6, Rtol: rtol}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: no %q in Go's logs %v", what, k, keys(got))
			continue
		}
		if err := tol.CheckValue(g, w); err != nil {
			t.Errorf("%s %s: %v", what, k, err)
		}
	}
}

// TestFitMatchesKeras replays every recorded fit() in Go from the same
// model file and batches and compares the weights and optimizer variables
// after the first step and at the end, the history and evaluate().
func TestFitMatchesKeras(t *testing.T) {
	man := loadFitManifest(t)
	ran := 0
	for _, c := range man.Cases {
		if c.Name == "digits" {
			continue
		}
		ran++
		t.Run(c.Name, func(t *testing.T) {
			m, err := kerasrun.Load(filepath.Join(c.dir(), c.Model))
			if err != nil {
				t.Fatal(err)
			}
			x, y := c.fitData(t)
			want, err := npy.ReadNPZ(filepath.Join(c.dir(), orDefault(c.Expect, "expect.npz")))
			if err != nil {
				t.Fatal(err)
			}
			first := &firstStep{t: t, m: m}
			h, err := m.Fit(x, y, kerasrun.FitOptions{
				BatchSize:    c.Fit.BatchSize,
				Epochs:       c.Fit.Epochs,
				InitialEpoch: c.Fit.InitialEpoch,
				Callbacks:    []kerasrun.Callback{first},
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.Tolerance.Step1 != nil {
				compareSnapshot(t, c, "step1", first.snap, want, *c.Tolerance.Step1)
			}
			compareSnapshot(t, c, "final", takeSnapshot(t, m), want, *c.Tolerance.Final)
			for k, ws := range c.History {
				gs := h.Logs[k]
				if len(gs) != len(ws) {
					t.Errorf("history %q: Go %v, Keras %v", k, gs, ws)
					continue
				}
				for e := range ws {
					checkLogs(t, fmt.Sprintf("history epoch %d", c.Fit.InitialEpoch+e), map[string]float64{k: gs[e]}, map[string]float64{k: ws[e]}, c.Tolerance.HistoryRtol)
				}
			}
			if c.Evaluate != nil {
				ev, err := m.Evaluate(x, y, kerasrun.EvaluateOptions{BatchSize: c.Fit.BatchSize})
				if err != nil {
					t.Fatal(err)
				}
				checkLogs(t, "evaluate", ev, c.Evaluate, c.Tolerance.HistoryRtol)
			}
		})
	}
	if ran == 0 {
		t.Fatal("no fit cases in " + fitDir())
	}
}

// readDigits reads scikit-learn's digits.csv.gz: 64 pixels (0..16) and the
// label per row; pixels are scaled by 1/16 as the exporter does.
func readDigits(t *testing.T, path string) (x [][]float32, labels []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(zr)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(rec) != 65 {
			t.Fatalf("digits: row of %d fields", len(rec))
		}
		row := make([]float32, 64)
		for i := range row {
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			row[i] = float32(v / 16)
		}
		l, err := strconv.ParseFloat(rec[64], 64)
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, row)
		labels = append(labels, int(l))
	}
	return x, labels
}

func digitsTensors(x [][]float32, labels []int) (*kerasrun.Tensor, *kerasrun.Tensor) {
	xt := &kerasrun.Tensor{Shape: []int{len(x), 64}}
	yt := &kerasrun.Tensor{Shape: []int{len(x), 10}, Data: make([]float32, len(x)*10)}
	for i, row := range x {
		xt.Data = append(xt.Data, row...)
		yt.Data[i*10+labels[i]] = 1
	}
	return xt, yt
}

// TestDigitsAccuracy trains the tutorial MLP on scikit-learn's 8x8 digits
// from the same start file and with the same settings as Keras did, and
// checks the test accuracy is Keras's within one point.
func TestDigitsAccuracy(t *testing.T) {
	var c *fitCase
	for _, k := range loadFitManifest(t).Cases {
		if k.Name == "digits" {
			c = k
		}
	}
	if c == nil {
		t.Fatal("no digits case")
	}
	x, labels := readDigits(t, filepath.Join(c.dir(), c.CSV))
	split := c.TrainSamples
	xtr, ytr := digitsTensors(x[:split], labels[:split])
	xte, yte := digitsTensors(x[split:], labels[split:])
	m, err := kerasrun.Load(filepath.Join(c.dir(), c.Model))
	if err != nil {
		t.Fatal(err)
	}
	h, err := m.Fit([]*kerasrun.Tensor{xtr}, []*kerasrun.Tensor{ytr}, kerasrun.FitOptions{BatchSize: c.Fit.BatchSize, Epochs: c.Fit.Epochs})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := m.Evaluate([]*kerasrun.Tensor{xte}, []*kerasrun.Tensor{yte}, kerasrun.EvaluateOptions{BatchSize: c.Fit.BatchSize})
	if err != nil {
		t.Fatal(err)
	}
	got, want := ev["accuracy"], c.Test["accuracy"]
	t.Logf("digits test accuracy: Go %.4f, Keras %.4f (train loss after %d epochs: Go %.4f, Keras %.4f)",
		got, want, c.Fit.Epochs, last(h.Logs["loss"]), last(c.History["loss"]))
	if math.Abs(got-want)*100 > c.Tolerance.AccuracyPoints {
		t.Errorf("test accuracy %.4f, Keras %.4f: more than one point apart", got, want)
	}
}

func last(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return v[len(v)-1]
}
