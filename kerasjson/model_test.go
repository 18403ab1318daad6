package kerasjson

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseFile(t *testing.T, path string) *Model {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseModel(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func layerByName(t *testing.T, m *Model, name string) *Layer {
	t.Helper()
	for _, l := range m.Layers {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("model %q has no layer %q", m.Name, name)
	return nil
}

// shapeOf returns a shape argument with -1 for null dimensions.
func shapeOf(t *testing.T, l *Layer, key string) []int {
	t.Helper()
	s, ok, err := l.Config.Shape(key)
	if err != nil || !ok {
		t.Fatalf("layer %q: %s: ok=%v err=%v", l.Name, key, ok, err)
	}
	return s
}

// The generated models are built by compat/python/kerasjson_configs.py;
// the expected graphs below restate what that script builds. Keras 3 and
// tf.keras must give the same normalized graph except for the names Keras
// generates for InputLayers.
func TestGeneratedGraphs(t *testing.T) {
	cases := []struct {
		file string
		want string
	}{
		{"sequential", `Sequential "seq" in=[INPUT:0:0] out=[out:0:0]
  InputLayer INPUT
  Dense hidden
  Dropout drop
  Dense out
`},
		{"functional_multiio", `Functional "multiio" in=[in_a:0:0 in_b:0:0] out=[out1:0:0 out2:0:0]
  InputLayer in_a
  InputLayer in_b
  Dense dense_a (in_a:0:0)
  Dense dense_b (in_b:0:0)
  Concatenate concat (dense_a:0:0 dense_b:0:0)
  Dense out1 (concat:0:0)
  Dense out2 (concat:0:0)
`},
		{"shared", `Functional "shared_model" in=[left:0:0 right:0:0] out=[add:0:0]
  InputLayer left
  InputLayer right
  Dense shared (left:0:0) (right:0:0)
  Add add (shared:0:0 shared:1:0)
`},
		{"seq_in_func", `Functional "outer_func" in=[x:0:0] out=[head:0:0]
  InputLayer x
  Sequential inner_seq (x:0:0MASK) (inner_seq:0:0MASK)
    Sequential "inner_seq" in=[INPUT:0:0] out=[inner_dense:0:0]
      InputLayer INPUT
      Dense inner_dense
  Dense head (inner_seq:1:0)
`},
		{"func_in_func", `Functional "outer_func2" in=[x:0:0] out=[sum:0:0]
  InputLayer x
  Functional inner_func (x:0:0MASK) (inner_func:0:0MASK)
    Functional "inner_func" in=[ix:0:0] out=[f_dense:0:0]
      InputLayer ix
      Dense f_dense (ix:0:0)
  Add sum (inner_func:0:0 inner_func:1:0)
`},
		{"func_in_seq", `Sequential "outer_seq" in=[INPUT:0:0] out=[last:0:0]
  InputLayer INPUT
  Functional inner_func3
    Functional "inner_func3" in=[fx:0:0] out=[g_dense:0:0]
      InputLayer fx
      Dense g_dense (fx:0:0)
  Dense last
`},
		{"nested_output", `Functional "nested_output" in=[x:0:0] out=[inner_out:1:0]
  InputLayer x
  Functional inner_out (x:0:0MASK) (inner_out:0:0MASK)
    Functional "inner_out" in=[ox:0:0] out=[o_dense:0:0]
      InputLayer ox
      Dense o_dense (ox:0:0)
`},
		{"rnn_kwargs", `Functional "rnn_kwargs" in=[seq:0:0 h0:0:0 c0:0:0] out=[drop:0:0]
  InputLayer seq
  Masking mask (seq:0:0)
  InputLayer h0
  InputLayer c0
  LSTM lstm (mask:0:0 initial_state=[h0:0:0 c0:0:0])
  Dropout drop (lstm:0:0 training=false)
`},
		{"sequential_unbuilt", `Sequential "seq_unbuilt" in=[] out=[d:0:0]
  Dense d
`},
	}
	inputNames := map[string][]string{
		"k2_sequential":    {"input_1"},
		"k3_sequential":    {"input_layer"},
		"k2_seq_in_func":   {"input_2"},
		"k3_seq_in_func":   {"input_layer_2"},
		"k2_func_in_seq":   {"input_3"},
		"k3_func_in_seq":   {"input_layer_3"},
		"k2_nested_output": {},
	}
	for _, c := range cases {
		for _, prefix := range []string{"k2", "k3"} {
			name := prefix + "_" + c.file
			t.Run(name, func(t *testing.T) {
				m := parseFile(t, filepath.Join("testdata", "generated", name+".json"))
				want := c.want
				for _, in := range inputNames[name] {
					want = strings.Replace(want, "INPUT", in, 2)
				}
				// Keras 3 records mask=None on calls of nested models.
				mask := ""
				if prefix == "k3" {
					mask = " mask=<nil>"
				}
				want = strings.ReplaceAll(want, "MASK", mask)
				if got := dumpModel(m); got != want {
					t.Errorf("got\n%s\nwant\n%s", got, want)
				}
			})
		}
	}
}

func TestGeneratedNormalizedArgs(t *testing.T) {
	for _, prefix := range []string{"k2", "k3"} {
		t.Run(prefix, func(t *testing.T) {
			// batch_input_shape (tf.keras) and batch_shape (Keras 3) both
			// arrive as batch_shape; dtype policies become strings.
			m := parseFile(t, "testdata/generated/"+prefix+"_sequential_input_shape.json")
			in := m.Layers[0]
			if in.ClassName != "InputLayer" || !reflect.DeepEqual(shapeOf(t, in, "batch_shape"), []int{-1, 7}) {
				t.Errorf("input layer %s %v", in.ClassName, in.Config)
			}
			first := layerByName(t, m, "first")
			if first.Config.Has("batch_input_shape") {
				t.Errorf("batch_input_shape kept: %v", first.Config)
			}
			if units, _ := first.Config.Int("units", 0); units != 5 {
				t.Errorf("units %d", units)
			}
			if dt, err := first.Config.String("dtype", ""); err != nil || dt != "float32" {
				t.Errorf("dtype %q %v", dt, err)
			}
			init, err := first.Config.Object("kernel_initializer")
			if err != nil || init.ClassName != "GlorotUniform" {
				t.Errorf("kernel_initializer %+v %v", init, err)
			}

			m = parseFile(t, "testdata/generated/"+prefix+"_mixed_policy.json")
			mp := layerByName(t, m, "mp")
			if dt, err := mp.Config.String("dtype", ""); err != nil || dt != "mixed_float16" {
				t.Errorf("mixed dtype %q %v", dt, err)
			}

			// A Keras 3 constant argument and a tf.keras TFOpLambda.
			m = parseFile(t, "testdata/generated/"+prefix+"_ops.json")
			op := m.Layers[1]
			n := op.Inbound[0]
			if prefix == "k3" {
				if op.ClassName != "Multiply" || len(n.Args) != 2 || n.Args[1] != (TensorRef{ConstantValue, -1, 0}) {
					t.Fatalf("ops node %s %+v", op.ClassName, n)
				}
				if c := n.Kwargs[ConstantValue].([]any); c[0] != json.Number("2.0") {
					t.Errorf("constant %v", c)
				}
			} else {
				if op.ClassName != "TFOpLambda" || len(n.Args) != 1 || n.Kwargs["y"] != json.Number("2.0") {
					t.Errorf("TFOpLambda node %s %+v", op.ClassName, n)
				}
				if fn, _ := op.Config.String("function", ""); fn != "math.multiply" {
					t.Errorf("TFOpLambda function %q", fn)
				}
			}
		})
	}
}

func TestKerasArchiveConfig(t *testing.T) {
	m := parseFile(t, "testdata/generated/k3_multiio_keras.config.json")
	if m.ClassName != "Functional" || len(m.Layers) != 7 || m.Layers[4].Module != "keras.layers" {
		t.Errorf("%s %d layers, module %q", m.ClassName, len(m.Layers), m.Layers[4].Module)
	}
	h5 := parseFile(t, "testdata/generated/k3_multiio_h5.model_config.json")
	if dumpModel(h5) != dumpModel(m) {
		t.Errorf(".h5 and .keras configs differ:\n%s\n%s", dumpModel(h5), dumpModel(m))
	}
}

// A bare get_config() dict (no class_name) is accepted too.
func TestBareConfig(t *testing.T) {
	data, _ := os.ReadFile("testdata/generated/k3_shared.json")
	var top map[string]any
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	bare, _ := json.Marshal(top["config"])
	m, err := ParseModel(bare)
	if err != nil {
		t.Fatal(err)
	}
	if m.ClassName != "Functional" || m.Name != "shared_model" || len(m.Layers[2].Inbound) != 2 {
		t.Errorf("%s", dumpModel(m))
	}
}

func TestParseModelValueLeavesInputAlone(t *testing.T) {
	// A Keras 1 config, which gets the most rewriting.
	data, err := os.ReadFile("testdata/realworld/dl4j-embedding_lstm_th_1.embedding_lstm_theano_1.model_config.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	before := deepCopy(v)
	m1, err := ParseModelValue(v)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, before) {
		t.Error("ParseModelValue modified its argument")
	}
	m2, _ := ParseModel(data)
	if !reflect.DeepEqual(m1, m2) {
		t.Error("ParseModelValue and ParseModel disagree")
	}
}

func TestSubclassedModelIsUnsupported(t *testing.T) {
	data, err := os.ReadFile("testdata/realworld/keras3-nested-container.config.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseModel(data)
	var ue *UnsupportedError
	if m != nil || !errors.As(err, &ue) || !strings.Contains(ue.Feature, `"NestedDenseModel"`) ||
		!strings.Contains(ue.Feature, "legacy_nested_container>NestedDenseModel") {
		t.Fatalf("got %v, %v", m, err)
	}
	if ue.ClassName != "NestedDenseModel" || ue.RegisteredName != "legacy_nested_container>NestedDenseModel" || ue.Name == "" {
		t.Errorf("the error names %q (class %q, registered_name %q), want the model's name, class and registered_name", ue.Name, ue.ClassName, ue.RegisteredName)
	}
}

// tf.keras records a constant first argument as a _CONSTANT_VALUE entry
// and the tensor as a keyword argument.
func TestKeras2ConstantArgument(t *testing.T) {
	m := parseFile(t, "testdata/generated/k2_constant_arg.json")
	op := layerByName(t, m, "tf.math.subtract")
	if op.ClassName != "TFOpLambda" || len(op.Inbound) != 1 {
		t.Fatalf("%s", dumpModel(m))
	}
	n := op.Inbound[0]
	if !reflect.DeepEqual(n.Args, []TensorRef{{ConstantValue, -1, 0}}) ||
		!reflect.DeepEqual(n.Kwargs[ConstantValue], []any{json.Number("1.0")}) ||
		n.Kwargs["y"] != (TensorRef{"x", 0, 0}) {
		t.Errorf("node %+v", n)
	}
	if got := layerByName(t, m, "after").Inbound[0].Args; !reflect.DeepEqual(got, []TensorRef{{"tf.math.subtract", 0, 0}}) {
		t.Errorf("after %v", got)
	}
}
