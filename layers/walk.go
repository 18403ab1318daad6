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
