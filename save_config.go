package kerasrun

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/train"
)

// Re-serialization of a parsed model config in Keras 3's form, for a
// .keras archive written from a model whose file held another dialect
// (Keras 1/2 configs, or the legacy-form config Keras 3 puts in .h5
// files), which keras.saving.load_model does not accept in config.json.
//
// The source is the normalized kerasjson.Model: argument names are
// already Keras 3's, dtype policies are names, node indexes of nested
// models carry no offset. Layer configs are otherwise written as the file
// held them; objects inside them (initializers, regularizers) keep their
// file form, which Keras 3 deserializes by class name.

// mergeClasses take their inputs as one list argument in Keras 3 nodes.
var mergeClasses = map[string]bool{
	"Add": true, "Subtract": true, "Multiply": true, "Average": true, "Maximum": true,
	"Minimum": true, "Concatenate": true, "Dot": true,
}

// keras3ModelObject serializes a Sequential or Functional model as Keras
// 3's serialize_keras_object does.
func keras3ModelObject(spec *kerasjson.Model, trainable bool) (jsonObject, error) {
	functional := spec.ClassName != "Sequential"
	var layersJSON []any
	for _, l := range spec.Layers {
		lo, err := keras3LayerObject(l, functional)
		if err != nil {
			return nil, err
		}
		layersJSON = append(layersJSON, lo)
	}
	cfg := jsonObject{{"name", spec.Name}, {"trainable", trainable}}
	if !functional {
		cfg = append(cfg, jsonField{"dtype", keras3DTypePolicy("float32")}, jsonField{"layers", layersJSON})
		if len(spec.Layers) > 0 && spec.Layers[0].ClassName == "InputLayer" {
			cfg = append(cfg, jsonField{"build_input_shape", spec.Layers[0].Config["batch_shape"]})
		}
		return jsonObject{{"module", "keras"}, {"class_name", "Sequential"}, {"config", cfg}, {"registered_name", nil}}, nil
	}
	cfg = append(cfg, jsonField{"layers", layersJSON},
		jsonField{"input_layers", keras3Refs(spec.Inputs)}, jsonField{"output_layers", keras3Refs(spec.Outputs)})
	return jsonObject{{"module", "keras.src.models.functional"}, {"class_name", "Functional"}, {"config", cfg}, {"registered_name", "Functional"}}, nil
}

func keras3DTypePolicy(name string) jsonObject {
	return jsonObject{{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", jsonObject{{"name", name}}}, {"registered_name", nil}}
}

// keras3Refs writes input_layers/output_layers: one [name, node, tensor]
// triple for a single tensor, a list of them otherwise.
func keras3Refs(refs []kerasjson.TensorRef) any {
	out := make([]any, len(refs))
	for i, r := range refs {
		out[i] = []any{r.Layer, r.NodeIndex, r.TensorIndex}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

func keras3LayerObject(l *kerasjson.Layer, functional bool) (jsonObject, error) {
	var obj jsonObject
	if l.Model != nil {
		trainable, _ := l.Config.Bool("trainable", true)
		var err error
		if obj, err = keras3ModelObject(l.Model, trainable); err != nil {
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
		obj = jsonObject{{"module", module}, {"class_name", l.ClassName}, {"config", cfg}, {"registered_name", registered}}
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
	return append(obj, jsonField{"name", l.Name}, jsonField{"inbound_nodes", nodes}), nil
}

func keras3Node(l *kerasjson.Layer, n kerasjson.Node) (jsonObject, error) {
	var args []any
	for _, r := range n.Args {
		if r.Layer == kerasjson.ConstantValue {
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
	kwargs := jsonObject{}
	for _, k := range slices.Sorted(maps.Keys(n.Kwargs)) {
		v, err := keras3Kwarg(n.Kwargs[k])
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", k, err)
		}
		kwargs = append(kwargs, jsonField{k, v})
	}
	return jsonObject{{"args", args}, {"kwargs", kwargs}}, nil
}

func keras3Kwarg(v any) (any, error) {
	switch x := v.(type) {
	case kerasjson.TensorRef:
		if x.Layer == kerasjson.ConstantValue {
			return nil, fmt.Errorf("a constant argument cannot be written in Keras 3 form")
		}
		return keras3Tensor(x), nil
	case []kerasjson.TensorRef:
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
func keras3Tensor(r kerasjson.TensorRef) jsonObject {
	return jsonObject{{"class_name", "__keras_tensor__"}, {"config", jsonObject{
		{"shape", []any{}}, {"dtype", "float32"}, {"keras_history", []any{r.Layer, r.NodeIndex, r.TensorIndex}},
	}}}
}

// optimizerClasses3 maps the names an optimizer's class_name takes in
// Keras 1/2 files to Keras 3 class names.
var optimizerClasses3 = map[string]string{
	"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad",
	"adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "ftrl": "Ftrl", "lion": "Lion",
	"lamb": "Lamb", "adafactor": "Adafactor",
}

// keras3CompileConfig returns the model's compile_config in Keras 3's
// form: as loaded from a .keras archive, or translated from a legacy
// training_config (optimizer from its Keras 3 config, Keras 2 metric
// wrappers by name).
func (m *Model) keras3CompileConfig() (any, error) {
	var raw map[string]any
	if err := decodeJSON(m.rawCompile, &raw); err != nil {
		return nil, fmt.Errorf("compile config: %w", err)
	}
	if _, isKeras3 := raw["optimizer"]; isKeras3 {
		return raw, nil
	}
	var opt any
	if o := m.training.Optimizer; o != nil {
		tr, err := train.NewOptimizer(o)
		if err != nil {
			return nil, err
		}
		class := strings.TrimPrefix(o.ClassName, "Custom>")
		if c, ok := optimizerClasses3[strings.ToLower(class)]; ok {
			class = c
		}
		opt = jsonObject{{"module", "keras.optimizers"}, {"class_name", class}, {"config", floatsAsFloats(tr.GetConfig())}, {"registered_name", nil}}
	}
	outputs := m.net.OutputNames
	return jsonObject{
		{"optimizer", opt},
		{"loss", keras3Losses(raw["loss"])},
		{"loss_weights", raw["loss_weights"]},
		{"metrics", keras3Metrics(raw["metrics"], outputs)},
		{"weighted_metrics", keras3Metrics(raw["weighted_metrics"], outputs)},
		{"run_eagerly", false},
		{"steps_per_execution", 1},
		{"jit_compile", false},
	}, nil
}

// keras3Metrics turns Keras 2's metric wrappers ({"class_name":
// "MeanMetricWrapper", "config": {"name": "accuracy", ...}}) into their
// names, and Keras 2's per-output list of lists into a plain list (one
// output) or a dict by output name, without the output-name prefix Keras 2
// gives metric names of multi-output models.
func keras3Metrics(v any, outputs []string) any {
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
	byOutput := jsonObject{}
	for i, e := range l {
		if el, _ := e.([]any); len(el) > 0 && slices.ContainsFunc(el, func(v any) bool { return v != nil }) {
			byOutput = append(byOutput, jsonField{outputs[i], conv(e, outputs[i]+"_")})
		}
	}
	return byOutput
}

// keras2ModelJSON serializes a model in Keras 2's (tf-keras) form, which
// Keras 3's legacy .h5 loader reads too: no module or registered_name,
// batch_input_shape, and inbound_nodes as [[layer, node, tensor, kwargs]]
// lists where a nested model's calls count from 1 (its own node is 0).
func keras2ModelJSON(spec *kerasjson.Model, trainable bool) ([]byte, error) {
	obj, err := keras2ModelObject(spec, trainable)
	if err != nil {
		return nil, err
	}
	return json.Marshal(obj)
}

// keras3OnlyArgs are Keras 3 layer arguments tf-keras's constructors
// refuse; they hold their defaults in models a Keras 2 user can have.
var keras3OnlyArgs = []string{"optional", "quantization_config", "lora_rank", "lora_alpha", "lora_enabled"}

func keras2ModelObject(spec *kerasjson.Model, trainable bool) (jsonObject, error) {
	functional := spec.ClassName != "Sequential"
	nested := map[string]bool{}
	for _, l := range spec.Layers {
		if l.Model != nil {
			nested[l.Name] = true
		}
	}
	ref := func(r kerasjson.TensorRef) []any {
		ni := r.NodeIndex
		if nested[r.Layer] {
			ni++
		}
		return []any{r.Layer, ni, r.TensorIndex}
	}
	var layersJSON []any
	for _, l := range spec.Layers {
		var obj jsonObject
		if l.Model != nil {
			t, _ := l.Config.Bool("trainable", true)
			var err error
			if obj, err = keras2ModelObject(l.Model, t); err != nil {
				return nil, err
			}
		} else {
			cfg := stripKeras3(map[string]any(l.Config)).(map[string]any)
			cfg["name"] = l.Name
			if v, ok := cfg["batch_shape"]; ok {
				delete(cfg, "batch_shape")
				cfg["batch_input_shape"] = v
			}
			for _, k := range keras3OnlyArgs {
				delete(cfg, k)
			}
			obj = jsonObject{{"class_name", l.ClassName}, {"config", cfg}}
		}
		if functional {
			nodes := []any{}
			for _, n := range l.Inbound {
				var kw map[string]any
				for k, v := range n.Kwargs {
					switch v.(type) {
					case kerasjson.TensorRef, []kerasjson.TensorRef:
						return nil, fmt.Errorf("layer %q: tensor argument %s cannot be written in Keras 2 form", l.Name, k)
					}
					if kw == nil {
						kw = map[string]any{}
					}
					kw[k] = v
				}
				if kw == nil {
					kw = map[string]any{}
				}
				var entries []any
				for _, a := range n.Args {
					if a.Layer == kerasjson.ConstantValue {
						return nil, fmt.Errorf("layer %q: a constant argument cannot be written in Keras 2 form", l.Name)
					}
					entries = append(entries, append(ref(a), kw))
				}
				nodes = append(nodes, entries)
			}
			obj = append(obj, jsonField{"name", l.Name}, jsonField{"inbound_nodes", nodes})
		}
		layersJSON = append(layersJSON, obj)
	}
	if !functional {
		cfg := jsonObject{{"name", spec.Name}, {"layers", layersJSON}}
		if len(spec.Layers) > 0 && spec.Layers[0].ClassName == "InputLayer" {
			cfg = append(cfg, jsonField{"build_input_shape", spec.Layers[0].Config["batch_shape"]})
		}
		return jsonObject{{"class_name", "Sequential"}, {"config", cfg}}, nil
	}
	refs := func(rs []kerasjson.TensorRef) []any {
		out := make([]any, len(rs))
		for i, r := range rs {
			out[i] = ref(r)
		}
		return out
	}
	cfg := jsonObject{{"name", spec.Name}, {"trainable", trainable}, {"layers", layersJSON},
		{"input_layers", refs(spec.Inputs)}, {"output_layers", refs(spec.Outputs)}}
	return jsonObject{{"class_name", "Functional"}, {"config", cfg}}, nil
}

// stripKeras3 copies a config, turning Keras 3 serialized objects
// ({module, class_name, config, registered_name}) into Keras 2's
// {class_name, config} and dtype policies into their names.
func stripKeras3(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x["class_name"] == "DTypePolicy" {
			if c, ok := x["config"].(map[string]any); ok {
				if name, ok := c["name"].(string); ok {
					return name
				}
			}
		}
		out := make(map[string]any, len(x))
		_, serialized := x["class_name"]
		for k, e := range x {
			if serialized && (k == "module" || k == "registered_name" || k == "shared_object_id") {
				continue
			}
			if e == nil && (k == "input_axes" || k == "output_axes") {
				continue // Keras 3.9+ initializer arguments, unknown to tf-keras
			}
			out[k] = stripKeras3(e)
		}
		return out
	case kerasjson.Config:
		return stripKeras3(map[string]any(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripKeras3(e)
		}
		return out
	}
	return v
}

// floatsAsFloats writes integral float64 values with a decimal point
// (0.0, not 0): Keras checks some optimizer arguments are Python floats.
func floatsAsFloats(c kerasjson.Config) map[string]any {
	out := make(map[string]any, len(c))
	for k, v := range c {
		if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1e15 {
			v = json.Number(strconv.FormatFloat(f, 'f', 1, 64))
		}
		out[k] = v
	}
	return out
}

// keras3Losses gives Keras 2 loss objects ({"class_name", "config"} with
// reduction "auto") the form Keras 3 deserializes.
func keras3Losses(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = keras3Losses(e)
		}
		return out
	case map[string]any:
		class, isObj := x["class_name"].(string)
		if !isObj {
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = keras3Losses(e)
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
		return jsonObject{{"module", "keras.losses"}, {"class_name", class}, {"config", cfg}, {"registered_name", nil}}
	}
	return v
}
