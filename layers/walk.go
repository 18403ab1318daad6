package layers

import "github.com/kerasrun/kerasrun/runtime"

// Walk visits l and every layer nested in it (a nested model's layers, a
// wrapper's inner layer), depth first in Keras's tracking order, with
// whether training may update the layer's weights: its own trainable flag
// and every enclosing layer's. It is the one Keras-order walk that
// loading, saving, training and the summary share.
func Walk(l Layer, visit func(l Layer, trainable bool)) {
	walk(l, true, visit)
}

func walk(l Layer, trainable bool, visit func(Layer, bool)) {
	trainable = trainable && l.Common().Trainable
	visit(l, trainable)
	if c, ok := l.(Container); ok {
		for _, ch := range c.Children() {
			walk(ch, trainable, visit)
		}
	}
}

// Variable is one weight met by WalkVariables: the layer that owns it and
// whether training updates it (the weight's flag and every enclosing
// layer's).
type Variable struct {
	Owner     Layer
	V         *runtime.Variable
	Trainable bool
}

// WalkVariables lists the weights of l and its nested layers in Keras 3's
// order (model.variables: layer by layer, nested layers in place).
func WalkVariables(l Layer) []Variable {
	var out []Variable
	Walk(l, func(l Layer, trainable bool) {
		for _, v := range l.Weights() {
			out = append(out, Variable{Owner: l, V: v, Trainable: trainable && v.Trainable})
		}
	})
	return out
}

// KerasWeights returns l's weights as Keras's layer.weights lists them
// (the order of legacy HDF5 files): the trainable ones first, then the
// others, each in walk order; nTrainable counts the first.
func KerasWeights(l Layer) (weights []*runtime.Variable, nTrainable int) {
	var frozen []*runtime.Variable
	for _, v := range WalkVariables(l) {
		if v.Trainable {
			weights = append(weights, v.V)
		} else {
			frozen = append(frozen, v.V)
		}
	}
	return append(weights, frozen...), len(weights)
}

// Path is the variable's Keras 3 path: the owning layer's name and the
// weight's name ("dense/kernel"), as a loaded Keras 3 model names it.
func (v Variable) Path() string { return v.Owner.Common().Name + "/" + v.V.Name }

// TrainableVariables lists the variables of l training updates, in Keras
// 3's model.trainable_variables order, with their paths.
func TrainableVariables(l Layer) ([]*runtime.Variable, []string) {
	var vars []*runtime.Variable
	var paths []string
	for _, v := range WalkVariables(l) {
		if v.Trainable {
			vars = append(vars, v.V)
			paths = append(paths, v.Path())
		}
	}
	return vars, paths
}

// ModelLayers lists a model's layers as Keras's model.layers does: a
// Sequential model leaves out its InputLayer.
func ModelLayers(m *Model) []Layer {
	var out []Layer
	for _, l := range m.Layers {
		if _, isInput := l.(*InputLayer); isInput && m.ClassName == "Sequential" {
			continue
		}
		out = append(out, l)
	}
	return out
}
