package kerasjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Re-serialization of a parsed model config in Keras 3's form, for a
// .keras archive written from a model whose file held another dialect
// (Keras 1/2 configs, or the legacy-form config Keras 3 puts in .h5
// files), which keras.saving.load_model does not accept in config.json.
//
// The source is the normalized Model: argument names are
// already Keras 3's, dtype policies are names, node indexes of nested
// models carry no offset. Layer configs are otherwise written as the file
// held them; objects inside them (initializers, regularizers) keep their
// file form, which Keras 3 deserializes by class name.

// mergeClasses take their inputs as one list argument in Keras 3 nodes.
var mergeClasses = map[string]bool{
	"Add": true, "Subtract": true, "Multiply": true, "Average": true, "Maximum": true,
	"Minimum": true, "Concatenate": true, "Dot": true,
}

// EncodeKeras3Model serializes a Sequential or Functional model as Keras
// 3's serialize_keras_object does.
func EncodeKeras3Model(spec *Model, trainable bool) (Ordered, error) {
	functional := spec.ClassName != "Sequential"
	var layersJSON []any
	for _, l := range spec.Layers {
		lo, err := keras3LayerObject(l, functional)
		if err != nil {
			return nil, err
		}
		layersJSON = append(layersJSON, lo)
	}
	cfg := Ordered{{"name", spec.Name}, {"trainable", trainable}}
	if !functional {
		cfg = append(cfg, Field{"dtype", keras3DTypePolicy("float32")}, Field{"layers", layersJSON})
		if len(spec.Layers) > 0 && spec.Layers[0].ClassName == "InputLayer" {
			cfg = append(cfg, Field{"build_input_shape", spec.Layers[0].Config["batch_shape"]})
		}
		return Ordered{{"module", "keras"}, {"class_name", "Sequential"}, {"config", cfg}, {"registered_name", nil}}, nil
	}
	cfg = append(cfg, Field{"layers", layersJSON},
		Field{"input_layers", keras3Refs(spec.Inputs)}, Field{"output_layers", keras3Refs(spec.Outputs)})
	return Ordered{{"module", "keras.src.models.functional"}, {"class_name", "Functional"}, {"config", cfg}, {"registered_name", "Functional"}}, nil
}

func keras3DTypePolicy(name string) Ordered {
	return Ordered{{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", Ordered{{"name", name}}}, {"registered_name", nil}}
}

// keras3Refs writes input_layers/output_layers: one [name, node, tensor]
// triple for a single tensor, a list of them otherwise.
func keras3Refs(refs []TensorRef) any {
	out := make([]any, len(refs))
	for i, r := range refs {
		out[i] = []any{r.Layer, r.NodeIndex, r.TensorIndex}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

// keras2OnlyArgs are the arguments a tf-keras get_config writes that the
// Keras 3 class refuses. MultiHeadAttention's build shapes go (Keras 3
// builds from the call), and so does softmax_robust_masking: Keras 3's
// masking differs from tf-keras's only in fully masked query rows (padded
// queries).
var keras2OnlyArgs = map[string][]string{
	"MultiHeadAttention": {"query_shape", "key_shape", "value_shape", "softmax_robust_masking"},
}

func keras3LayerObject(l *Layer, functional bool) (Ordered, error) {
	var obj Ordered
	if l.Model != nil {
		trainable, _ := l.Config.Bool("trainable", true)
		var err error
		if obj, err = EncodeKeras3Model(l.Model, trainable); err != nil {
			return nil, err
		}
	} else {
		module, registered := "keras.layers", any(nil)
		if strings.Contains(l.RegisteredName, ">") {
			module, registered = l.Module, l.RegisteredName
		}
		cfg := make(map[string]any, len(l.Config)+1)
		for k, v := range l.Config {
			cfg[k] = v
		}
		cfg["name"] = l.Name
		if l.ClassName != "InputLayer" {
			// Keras 2 puts the input shape on the first layer; Keras 3
			// layers refuse it (the InputLayer carries it).
			delete(cfg, "batch_shape")
			delete(cfg, "input_shape")
			if l.ClassName != "Embedding" { // there input_dim is the vocabulary size
				delete(cfg, "input_dim")
			}
		}
		for _, k := range keras2OnlyArgs[l.ClassName] {
			delete(cfg, k)
		}
		obj = Ordered{{"module", module}, {"class_name", l.ClassName}, {"config", cfg}, {"registered_name", registered}}
	}
	if !functional {
		return obj, nil
	}
	nodes := make([]any, 0, len(l.Inbound))
	for i, n := range l.Inbound {
		node, err := keras3Node(l, n)
		if err != nil {
			return nil, fmt.Errorf("layer %q call %d: %w", l.Name, i, err)
		}
		nodes = append(nodes, node)
	}
	return append(obj, Field{"name", l.Name}, Field{"inbound_nodes", nodes}), nil
}

func keras3Node(l *Layer, n Node) (Ordered, error) {
	var args []any
	for _, r := range n.Args {
		if r.Layer == ConstantValue {
			return nil, fmt.Errorf("a constant argument cannot be written in Keras 3 form")
		}
		args = append(args, keras3Tensor(r))
	}
	if len(args) > 1 && (mergeClasses[l.ClassName] || l.Model != nil) {
		args = []any{args}
	}
	if args == nil {
		args = []any{}
	}
	kwargs := Ordered{}
	for _, k := range slices.Sorted(maps.Keys(n.Kwargs)) {
		v, err := keras3Kwarg(n.Kwargs[k])
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", k, err)
		}
		kwargs = append(kwargs, Field{k, v})
	}
	return Ordered{{"args", args}, {"kwargs", kwargs}}, nil
}

func keras3Kwarg(v any) (any, error) {
	switch x := v.(type) {
	case TensorRef:
		if x.Layer == ConstantValue {
			return nil, fmt.Errorf("a constant argument cannot be written in Keras 3 form")
		}
		return keras3Tensor(x), nil
	case []TensorRef:
		out := make([]any, len(x))
		for i, r := range x {
			t, err := keras3Kwarg(r)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	}
	return v, nil
}

// keras3Tensor is a __keras_tensor__ placeholder: Keras replaces it by the
// tensor its keras_history names, so the shape is not needed.
func keras3Tensor(r TensorRef) Ordered {
	return Ordered{{"class_name", "__keras_tensor__"}, {"config", Ordered{
		{"shape", []any{}}, {"dtype", "float32"}, {"keras_history", []any{r.Layer, r.NodeIndex, r.TensorIndex}},
	}}}
}

// Keras3OptimizerClass returns the Keras 3 class name of an optimizer
// class_name as Keras 1/2 files write it ("adam", "Adam"), and whether it
// names one of Keras's optimizers.
func Keras3OptimizerClass(className string) (string, bool) {
	c, ok := optimizerClasses3[strings.ToLower(className)]
	return c, ok
}

// optimizerClasses3 maps the names an optimizer's class_name takes in
// Keras 1/2 files to Keras 3 class names.
var optimizerClasses3 = map[string]string{
	"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad",
	"adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "ftrl": "Ftrl", "lion": "Lion",
	"lamb": "Lamb", "adafactor": "Adafactor",
}

// Keras3Metrics turns Keras 2's metric wrappers ({"class_name":
// "MeanMetricWrapper", "config": {"name": "accuracy", ...}}) into their
// names, and Keras 2's per-output list of lists into a plain list (one
// output) or a dict by output name, without the output-name prefix Keras 2
// gives metric names of multi-output models.
func Keras3Metrics(v any, outputs []string) any {
	var conv func(v any, prefix string) any
	conv = func(v any, prefix string) any {
		switch x := v.(type) {
		case []any:
			out := make([]any, 0, len(x))
			for _, e := range x {
				if e != nil {
					out = append(out, conv(e, prefix))
				}
			}
			return out
		case map[string]any:
			if x["class_name"] == "MeanMetricWrapper" {
				if c, ok := x["config"].(map[string]any); ok {
					if name, ok := c["name"].(string); ok {
						return strings.TrimPrefix(name, prefix)
					}
				}
			}
			if _, isObj := x["class_name"]; isObj {
				return x
			}
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = conv(e, k+"_")
			}
			return out
		}
		return v
	}
	l, ok := v.([]any)
	if !ok || len(l) != len(outputs) {
		return conv(v, "")
	}
	perOutput := true
	for _, e := range l {
		if _, isList := e.([]any); !isList && e != nil {
			perOutput = false
		}
	}
	if !perOutput {
		return conv(v, "")
	}
	if len(outputs) == 1 {
		return conv(l[0], "")
	}
	byOutput := Ordered{}
	for i, e := range l {
		if el, _ := e.([]any); len(el) > 0 && slices.ContainsFunc(el, func(v any) bool { return v != nil }) {
			byOutput = append(byOutput, Field{outputs[i], conv(e, outputs[i]+"_")})
		}
	}
	return byOutput
}

// FloatsAsFloats writes integral float64 values with a decimal point
// (0.0, not 0): Keras checks some optimizer arguments are Python floats.
func FloatsAsFloats(c Config) map[string]any {
	out := make(map[string]any, len(c))
	for k, v := range c {
		if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1e15 {
			v = json.Number(strconv.FormatFloat(f, 'f', 1, 64))
		}
		out[k] = v
	}
	return out
}

// Keras3Losses gives Keras 2 loss objects ({"class_name", "config"} with
// reduction "auto") the form Keras 3 deserializes.
func Keras3Losses(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Keras3Losses(e)
		}
		return out
	case map[string]any:
		class, isObj := x["class_name"].(string)
		if !isObj {
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = Keras3Losses(e)
			}
			return out
		}
		cfg := map[string]any{}
		if c, ok := x["config"].(map[string]any); ok {
			for k, e := range c {
				cfg[k] = e
			}
		}
		delete(cfg, "fn") // Keras 2 LossFunctionWrapper's function name
		if cfg["reduction"] == "auto" {
			cfg["reduction"] = "sum_over_batch_size"
		}
		return Ordered{{"module", "keras.losses"}, {"class_name", class}, {"config", cfg}, {"registered_name", nil}}
	}
	return v
}

// Ordered is a JSON object that keeps its keys in order, so that the
// configs written read like Keras's.
type Ordered []Field

// Field is one key and value of an Ordered object: an alias of an
// unnamed struct, so that other packages write Ordered{{"key", v}} as
// this one does.
type Field = struct {
	Key   string
	Value any
}

// MarshalJSON writes the fields in order.
func (o Ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteString(", ")
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteString(": ")
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// DecodeNumbers decodes JSON with numbers kept exact (json.Number).
func DecodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}
