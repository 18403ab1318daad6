package layers

import (
	"errors"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
)

// An operation kerasrun lacks is named in full, Keras 3's and tf-keras's
// alike, in the one error that lists every unsupported node.
func TestUnsupportedOperationsNamed(t *testing.T) {
	tensor := func(layer string) string {
		return `{"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype": "float32", "keras_history": ["` + layer + `", 0, 0]}}`
	}
	k3 := `{"class_name": "Functional", "config": {"name": "m", "layers": [
	  {"module": "keras.layers", "class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [null, 3]}, "inbound_nodes": []},
	  {"module": "keras.src.ops.numpy", "class_name": "Unique", "name": "unique", "config": {"name": "unique"},
	   "inbound_nodes": [{"args": [` + tensor("x") + `], "kwargs": {}}]},
	  {"module": "keras.src.ops.numpy", "class_name": "Multiply", "name": "multiply", "config": {"name": "multiply"},
	   "inbound_nodes": [{"args": [` + tensor("unique") + `, 2.0], "kwargs": {}}]}],
	 "input_layers": [["x", 0, 0]], "output_layers": [["multiply", 0, 0]]}}`
	k2 := `{"class_name": "Functional", "config": {"name": "m", "layers": [
	  {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [null, 3]}, "inbound_nodes": []},
	  {"class_name": "TFOpLambda", "name": "tf.math.bincount", "config": {"name": "tf.math.bincount", "trainable": true, "function": "math.bincount"},
	   "inbound_nodes": [["x", 0, 0, {"axis": -1}]]}],
	 "input_layers": [["x", 0, 0]], "output_layers": [["tf.math.bincount", 0, 0]]}}`
	for _, c := range []struct{ config, want string }{
		{k3, "keras.src.ops.numpy.Unique"}, {k2, "tf.math.bincount"},
	} {
		spec, err := kerasjson.ParseModel([]byte(c.config))
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewModel(spec)
		var ue *UnsupportedError
		if m != nil || !errors.As(err, &ue) || len(ue.Layers) != 1 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want one unsupported node naming %s, got %v", c.want, err)
		}
	}
}
