package kerasrun

import (
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
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
