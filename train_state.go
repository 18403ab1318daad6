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
	"github.com/kerasrun/kerasrun/train"
)

// allLayers lists every layer of the model, nested ones included.
func allLayers(net *layers.Model) []layers.Layer {
	var out []layers.Layer
	var walk func(l layers.Layer)
	walk = func(l layers.Layer) {
		out = append(out, l)
		if c, ok := l.(layers.Container); ok {
			for _, ch := range c.Children() {
				walk(ch)
			}
		}
	}
	for _, l := range net.Layers {
		walk(l)
	}
	return out
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
	vars, paths := m.trainableVariables()
	if err := opt.Build(vars, paths); err != nil {
		return fmt.Errorf("kerasrun: %s: optimizer: %w", m.info.Path, err)
	}
	m.optimizer = opt
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
	values := make([]*runtime.Tensor, len(want))
	var iterations int64
	for i := range want {
		ds, err := vg.Dataset(strconv.Itoa(i))
		if err != nil {
			return fmt.Errorf("optimizer %s: variable %d (%s) missing at %s/%d", m.optimizer.Name(), i, want[i].Name, vg.Path(), i)
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
	if _, err := vg.Dataset(strconv.Itoa(len(want))); err == nil {
		return fmt.Errorf("optimizer %s: the file has more variables than the %d this model's optimizer has", m.optimizer.Name(), len(want))
	}
	if err := m.optimizer.SetVariables(values, iterations); err != nil {
		return fmt.Errorf("optimizer %s: %w", m.optimizer.Name(), err)
	}
	return nil
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
	names, err := readStringList(og, "weight_names")
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
	if keras2 {
		mapped, iters, err := train.MapKeras2OptimizerWeights(m.optimizer, names, values)
		if err != nil {
			return err
		}
		return m.optimizer.SetVariables(mapped, iters)
	}
	if want := len(m.optimizer.Variables()); want != len(values) {
		return fmt.Errorf("optimizer %s: the file has %d optimizer weights, the optimizer has %d variables", m.optimizer.Name(), len(values), want)
	}
	return m.optimizer.SetVariables(values, iterations)
}
