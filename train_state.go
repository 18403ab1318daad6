package kerasrun

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
	m.optimizer = nil
	m.optimizerSkipped = mm.reason
	m.logger.Warn("kerasrun: skipping the saved optimizer state", "file", m.info.Path, "reason", mm.reason)
	return nil
}

// compile resolves the restored compile configuration: losses, metrics and
// the model's regularization penalties.
func (m *Model) compile() (*train.Compiled, []train.RegularizedWeight, error) {
	if m.training == nil {
		return nil, nil, fmt.Errorf("kerasrun: %s: the model was saved without compiling it, so it has no loss or metrics", m.info.Path)
	}
	c, err := train.Compile(m.training, m.net.OutputNames, m.net.OutputShapes)
	if err != nil {
		return nil, nil, fmt.Errorf("kerasrun: %s: %w", m.info.Path, err)
	}
	regs, err := train.Regularizers(allLayers(m.net))
	if err != nil {
		return nil, nil, fmt.Errorf("kerasrun: %s: %w", m.info.Path, err)
	}
	return c, regs, nil
}

// optimizerConfig is the compiled optimizer, or Keras's compile() default
// (rmsprop) when the file records none.
func (m *Model) optimizerConfig() *kerasjson.Object {
	if m.training != nil && m.training.Optimizer != nil {
		return m.training.Optimizer
	}
	return &kerasjson.Object{ClassName: "rmsprop", Config: kerasjson.Config{}}
}

// ensureOptimizer creates and builds the optimizer on the model's
// trainable variables, unless the file already restored one.
func (m *Model) ensureOptimizer() error {
	if m.optimizer != nil {
		return nil
	}
	opt, err := train.NewOptimizer(m.optimizerConfig())
	if err != nil {
		return fmt.Errorf("kerasrun: %s: optimizer: %w", m.info.Path, err)
	}
	vars, paths := layers.TrainableVariables(m.net)
	if err := opt.Build(vars, paths); err != nil {
		return fmt.Errorf("kerasrun: %s: optimizer: %w", m.info.Path, err)
	}
	m.optimizer = opt
	if m.optimizerSkipped != "" {
		m.logger.Warn("kerasrun: training starts with a fresh optimizer: the saved optimizer state did not fit", "file", m.info.Path, "optimizer", opt.Name(), "reason", m.optimizerSkipped)
	}
	return nil
}

// Optimizer returns the model's optimizer (restored from the file, or
// created from its compile configuration), building it if needed.
func (m *Model) Optimizer() (train.Optimizer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensureOptimizer(); err != nil {
		return nil, err
	}
	return m.optimizer, nil
}

// readOptimizerValue reads one optimizer variable, returning the exact
// int64 too when the dataset is an integer (the iteration count).
func readOptimizerValue(ds *h5.Dataset) (*runtime.Tensor, int64, bool, error) {
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
	if errors.Is(err, h5.ErrNotFound) || m.training == nil {
		return nil
	}
	if err != nil {
		return err
	}
	if err := m.ensureOptimizer(); err != nil {
		return err
	}
	want := m.optimizer.Variables()
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
	if kerasMajor(m.info.KerasVersion) == 2 && len(want) > 1 && want[1].Name == "learning_rate" {
		if _, err := vg.Dataset(strconv.Itoa(len(want) - 1)); err != nil {
			skipLR = 1
		}
	}
	values := make([]*runtime.Tensor, len(want))
	var iterations int64
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
		t, exact, isInt, err := readOptimizerValue(ds)
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
	if err := m.optimizer.SetVariables(values, iterations); err != nil {
		return fmt.Errorf("optimizer %s: %w", m.optimizer.Name(), err)
	}
	return nil
}

// optimizerCountMismatch words Keras's warning for an optimizer whose
// saved variable count differs from the built one's.
func (m *Model) optimizerCountMismatch(want, saved int) error {
	return &optimizerMismatch{fmt.Sprintf("optimizer %q has %d variables whereas the saved optimizer has %d variables", m.optimizer.Name(), want, saved)}
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
	if errors.Is(err, h5.ErrNotFound) || m.training == nil {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := legacyh5.ReadStringList(og, "weight_names")
	if err != nil || len(names) == 0 {
		return err
	}
	if err := m.ensureOptimizer(); err != nil {
		return err
	}
	values := make([]*runtime.Tensor, len(names))
	var iterations int64
	keras2 := false
	for i, name := range names {
		ds, err := og.Dataset(name)
		if err != nil {
			return fmt.Errorf("optimizer weight %q: %w", name, err)
		}
		t, exact, isInt, err := readOptimizerValue(ds)
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
		mapped, iters, err := train.MapKeras2OptimizerWeights(m.optimizer, names, values)
		if err == nil {
			err = m.optimizer.SetVariables(mapped, iters)
		}
		if err != nil {
			return &optimizerMismatch{fmt.Sprintf("optimizer %q: %v", m.optimizer.Name(), err)}
		}
		return nil
	}
	if want := len(m.optimizer.Variables()); want != len(values) {
		return &optimizerMismatch{fmt.Sprintf("optimizer %q has %d variables whereas the file has %d optimizer weights", m.optimizer.Name(), want, len(values))}
	}
	if err := m.optimizer.SetVariables(values, iterations); err != nil {
		return &optimizerMismatch{fmt.Sprintf("optimizer %q: %v", m.optimizer.Name(), err)}
	}
	return nil
}

// Variable is one model weight: its Keras 3 variable path ("dense/kernel",
// "batch_normalization/moving_mean"), whether training updates it, and a
// copy of its value.
type Variable struct {
	Path      string
	Trainable bool
	Value     *Tensor
}

// Variables returns copies of the model's weights in Keras 3's order
// (model.variables), trainable and not.
func (m *Model) Variables() []Variable {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mvs := m.variables()
	out := make([]Variable, len(mvs))
	for i, mv := range mvs {
		out[i] = Variable{Path: mv.path, Trainable: mv.trainable, Value: mv.v.Value.Clone()}
	}
	return out
}
