package kerasrun

import (
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/train"
)

// modelVariable is one weight with its Keras variable path
// ("dense/kernel": the owning layer's name and the weight's name, as a
// loaded Keras 3 model names them) and whether training updates it.
type modelVariable struct {
	v         *runtime.Variable
	path      string
	trainable bool
}

// variables lists every weight of the model in Keras 3's order
// (model.variables: layer by layer in model.layers order, nested layers in
// place), with Keras 3 variable paths.
func (m *Model) variables() []modelVariable {
	var out []modelVariable
	for _, v := range layers.WalkVariables(m.net) {
		out = append(out, modelVariable{v: v.V, path: v.Path(), trainable: v.Trainable})
	}
	return out
}

// Optimizer returns the model's optimizer (restored from the file, or
// created from its compile configuration), building it if needed.
func (m *Model) Optimizer() (train.Optimizer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.f.EnsureOptimizer(); err != nil {
		return nil, err
	}
	return m.f.Optimizer, nil
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
