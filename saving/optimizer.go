package saving

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/saving/legacyh5"
	"github.com/kerasrun/kerasrun/train"
)

// Optimizer state in and out of a file: Keras 3's optimizer/vars, a
// legacy .h5's optimizer_weights (Keras 3's order, or Keras 2's named
// slots), and what happens when they do not fit (Keras's warning and a
// fresh optimizer).

// allLayers lists every layer of the model, nested ones included.
func allLayers(net *layers.Model) []layers.Layer {
	var out []layers.Layer
	for _, l := range net.Layers {
		layers.Walk(l, func(l layers.Layer, _ bool) { out = append(out, l) })
	}
	return out
}

// optimizerMismatch is saved optimizer state that does not fit the
// model's optimizer (another variable count, shapes or slot names). Keras
// skips loading it with a warning and trains with a fresh optimizer; so
// does kerasrun (see skipOptimizer).
type optimizerMismatch struct{ reason string }

func (e *optimizerMismatch) Error() string { return e.reason }

// skipOptimizer drops the saved optimizer state when err is an
// optimizerMismatch, warning through the load's logger, so that training
// builds a fresh optimizer (and says so); any other error is returned.
func (m *Model) skipOptimizer(err error) error {
	var mm *optimizerMismatch
	if !errors.As(err, &mm) {
		return err
	}
	m.Optimizer = nil
	m.OptimizerSkipped = mm.reason
	m.Logger.Warn("kerasrun: skipping the saved optimizer state", "file", m.Info.Path, "reason", mm.reason)
	return nil
}

// Compile resolves the restored compile configuration: losses, metrics and
// the model's regularization penalties.
func (m *Model) Compile() (*train.Compiled, []train.RegularizedWeight, error) {
	if m.Training == nil {
		return nil, nil, fmt.Errorf("kerasrun: %s: the model was saved without compiling it, so it has no loss or metrics", m.Info.Path)
	}
	c, err := train.Compile(m.Training, m.Net.OutputNames, m.Net.OutputShapes)
	if err != nil {
		return nil, nil, fmt.Errorf("kerasrun: %s: %w", m.Info.Path, err)
	}
	regs, err := train.Regularizers(allLayers(m.Net))
	if err != nil {
		return nil, nil, fmt.Errorf("kerasrun: %s: %w", m.Info.Path, err)
	}
	return c, regs, nil
}

// OptimizerConfig is the compiled optimizer, or Keras's compile() default
// (rmsprop) when the file records none.
func (m *Model) OptimizerConfig() *kerasjson.Object {
	if m.Training != nil && m.Training.Optimizer != nil {
		return m.Training.Optimizer
	}
	return &kerasjson.Object{ClassName: "rmsprop", Config: kerasjson.Config{}}
}

// EnsureOptimizer creates and builds the optimizer on the model's
// trainable variables, unless the file already restored one.
func (m *Model) EnsureOptimizer() error {
	if m.Optimizer != nil {
		return nil
	}
	opt, err := train.NewOptimizer(m.OptimizerConfig())
	if err != nil {
		return fmt.Errorf("kerasrun: %s: optimizer: %w", m.Info.Path, err)
	}
	vars, paths := layers.TrainableVariables(m.Net)
	if err := opt.Build(vars, paths); err != nil {
		return fmt.Errorf("kerasrun: %s: optimizer: %w", m.Info.Path, err)
	}
	m.Optimizer = opt
	if m.OptimizerSkipped != "" {
		m.Logger.Warn("kerasrun: training starts with a fresh optimizer: the saved optimizer state did not fit", "file", m.Info.Path, "optimizer", opt.Name(), "reason", m.OptimizerSkipped)
	}
	return nil
}

// maxOptimizerValues is the most values one saved optimizer variable
// can hold: as many as the largest of the model's variables (trainable
// or not: a file may hold slots for layers frozen since) and the
// optimizer's, as slots mirror variables.
func (m *Model) maxOptimizerValues() int {
	n := 1
	for _, v := range layers.WalkVariables(m.Net) {
		n = max(n, runtime.ShapeSize(v.V.Value.Shape))
	}
	for _, v := range m.Optimizer.Variables() {
		n = max(n, runtime.ShapeSize(v.Value.Shape))
	}
	return n
}

// readOptimizerValue reads one optimizer variable of at most limit values,
// returning the exact int64 too when the dataset is an integer (the
// iteration count). A larger dataset is refused before it is read.
func readOptimizerValue(ds *h5.Dataset, limit int) (*runtime.Tensor, int64, bool, error) {
	n := 1
	for _, d := range ds.Shape() {
		if d != 0 && n > limit/d {
			return nil, 0, false, fmt.Errorf("shape %v holds more values than any variable of the model or its optimizer (%d at most)", ds.Shape(), limit)
		}
		n *= d
	}
	arr, err := ds.Read()
	if err != nil {
		return nil, 0, false, err
	}
	var exact int64
	isInt := false
	if ints, err := arr.Int64s(); err == nil && len(ints) == 1 {
		exact, isInt = ints[0], true
	}
	data, err := arr.Float32s()
	if err != nil {
		return nil, 0, false, err
	}
	shape := append([]int(nil), arr.Shape...)
	return &runtime.Tensor{Shape: shape, Data: data}, exact, isInt, nil
}

// restoreOptimizerKeras3 loads optimizer/vars/<i> of a Keras 3 weights
// file, when present and the model was compiled.
func (m *Model) restoreOptimizerKeras3(root *h5.Group) error {
	vg, err := root.Group("optimizer/vars")
	if errors.Is(err, h5.ErrNotFound) || m.Training == nil {
		return nil
	}
	if err != nil {
		return err
	}
	if err := m.EnsureOptimizer(); err != nil {
		return err
	}
	want := m.Optimizer.Variables()
	if unbuiltOptimizerVars(vg, want) {
		// Saved compiled but never trained: Keras writes only the
		// optimizer's iteration (and learning rate) and, finding fewer
		// variables than the built optimizer has, skips loading them.
		return m.optimizerCountMismatch(len(want), countDatasets(vg))
	}
	// tf-keras (Keras 2) archives list the optimizer's variables without
	// the learning rate Keras 3 keeps as its second variable: iteration,
	// then the slots in Keras 3's order.
	skipLR := -1
	if kerasMajor(m.Info.KerasVersion) == 2 && len(want) > 1 && want[1].Name == "learning_rate" {
		if _, err := vg.Dataset(strconv.Itoa(len(want) - 1)); err != nil {
			skipLR = 1
		}
	}
	values := make([]*runtime.Tensor, len(want))
	var iterations int64
	limit := m.maxOptimizerValues()
	for i := range want {
		fi := i
		if skipLR >= 0 {
			if i == skipLR {
				values[i] = want[i].Value.Clone()
				continue
			}
			if i > skipLR {
				fi = i - 1
			}
		}
		ds, err := vg.Dataset(strconv.Itoa(fi))
		if err != nil {
			return m.optimizerCountMismatch(len(want), countDatasets(vg))
		}
		t, exact, isInt, err := readOptimizerValue(ds, limit)
		if err != nil {
			return fmt.Errorf("optimizer variable %d: %w", i, err)
		}
		if i == 0 && isInt {
			iterations = exact
		}
		values[i] = t
	}
	if n := countDatasets(vg); skipLR >= 0 && n != len(want)-1 || skipLR < 0 && n != len(want) {
		return m.optimizerCountMismatch(len(want), n)
	}
	if err := m.Optimizer.SetVariables(values, iterations); err != nil {
		return fmt.Errorf("optimizer %s: %w", m.Optimizer.Name(), err)
	}
	return nil
}

// optimizerCountMismatch words Keras's warning for an optimizer whose
// saved variable count differs from the built one's.
func (m *Model) optimizerCountMismatch(want, saved int) error {
	return &optimizerMismatch{fmt.Sprintf("optimizer %q has %d variables whereas the saved optimizer has %d variables", m.Optimizer.Name(), want, saved)}
}

// countDatasets counts the datasets "0", "1", ... of an optimizer's vars.
func countDatasets(vg *h5.Group) int {
	n := 0
	for ; n < 1<<20; n++ {
		if _, err := vg.Dataset(strconv.Itoa(n)); err != nil {
			break
		}
	}
	return n
}

// unbuiltOptimizerVars reports whether the file's optimizer/vars hold
// fewer variables than the built optimizer, all of them its leading
// non-slot ones (iteration, learning_rate): what an optimizer that never
// ran saves.
func unbuiltOptimizerVars(vg *h5.Group, want []*runtime.Variable) bool {
	n := 0
	for ; n <= len(want); n++ {
		if _, err := vg.Dataset(strconv.Itoa(n)); err != nil {
			break
		}
	}
	if n >= len(want) {
		return false
	}
	for _, v := range want[:n] {
		if v.Name != "iteration" && v.Name != "learning_rate" {
			return false
		}
	}
	return true
}

// restoreOptimizerLegacy loads /optimizer_weights of a legacy HDF5 file:
// Keras 3 writes its variables in order ("adam/iteration", ...); Keras 2
// writes named slots ("Adam/m/dense/kernel:0", ...), mapped by name.
func (m *Model) restoreOptimizerLegacy(root *h5.Group) error {
	og, err := root.Group("optimizer_weights")
	if errors.Is(err, h5.ErrNotFound) || m.Training == nil {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := legacyh5.ReadStringList(og, "weight_names")
	if err != nil || len(names) == 0 {
		return err
	}
	if err := m.EnsureOptimizer(); err != nil {
		return err
	}
	values := make([]*runtime.Tensor, len(names))
	var iterations int64
	keras2 := false
	limit := m.maxOptimizerValues()
	for i, name := range names {
		ds, err := og.Dataset(name)
		if err != nil {
			return fmt.Errorf("optimizer weight %q: %w", name, err)
		}
		t, exact, isInt, err := readOptimizerValue(ds, limit)
		if err != nil {
			return fmt.Errorf("optimizer weight %q: %w", name, err)
		}
		if i == 0 && isInt {
			iterations = exact
		}
		values[i] = t
		keras2 = keras2 || strings.HasSuffix(name, ":0")
	}
	// Keras's load_model wraps set_weights in "except ValueError: Error in
	// loading the saved optimizer state ... starting with a freshly
	// initialized optimizer": every misfit below is skipped likewise.
	if keras2 {
		mapped, iters, err := train.MapKeras2OptimizerWeights(m.Optimizer, names, values)
		if err == nil {
			err = m.Optimizer.SetVariables(mapped, iters)
		}
		if err != nil {
			return &optimizerMismatch{fmt.Sprintf("optimizer %q: %v", m.Optimizer.Name(), err)}
		}
		return nil
	}
	if want := len(m.Optimizer.Variables()); want != len(values) {
		return &optimizerMismatch{fmt.Sprintf("optimizer %q has %d variables whereas the file has %d optimizer weights", m.Optimizer.Name(), want, len(values))}
	}
	if err := m.Optimizer.SetVariables(values, iterations); err != nil {
		return &optimizerMismatch{fmt.Sprintf("optimizer %q: %v", m.Optimizer.Name(), err)}
	}
	return nil
}
