package kerasrun

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

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

// keras2OnlyArgs are the arguments a tf-keras get_config writes that the
// Keras 3 class refuses. MultiHeadAttention's build shapes go (Keras 3
// builds from the call), and so does softmax_robust_masking: Keras 3's
// masking differs from tf-keras's only in fully masked query rows (padded
// queries).
var keras2OnlyArgs = map[string][]string{
	"MultiHeadAttention": {"query_shape", "key_shape", "value_shape", "softmax_robust_masking"},
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
		for _, k := range keras2OnlyArgs[l.ClassName] {
			delete(cfg, k)
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
	var problems []string
	obj, err := keras2ModelObject(spec, trainable, &problems)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &UnsupportedError{Feature: "Keras2Compatible: " + strings.Join(problems, "; ")}
	}
	return json.Marshal(obj)
}

// keras2ModelObject translates spec, appending to *problems what tf-keras
// cannot load (every layer's, so that one error names them all).
func keras2ModelObject(spec *kerasjson.Model, trainable bool, problemsOut *[]string) (jsonObject, error) {
	var problems []string
	defer func() { *problemsOut = append(*problemsOut, problems...) }()
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
			if obj, err = keras2ModelObject(l.Model, t, &problems); err != nil {
				return nil, err
			}
		} else {
			cfg := stripKeras3(map[string]any(l.Config)).(map[string]any)
			cfg["name"] = l.Name
			if v, ok := cfg["batch_shape"]; ok {
				delete(cfg, "batch_shape")
				cfg["batch_input_shape"] = v
			}
			problems = append(problems, keras2CheckLayer(l.Name, l.ClassName, cfg)...)
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
					if k == "training" {
						// Keras 3 overrides a node's training argument by the
						// model call's (predict: false); tf-keras would keep
						// it, running a RandomContrast called with
						// training=True at inference too.
						continue
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

// keras2LayersJSON is what tf-keras 2.21's layers accept and Keras 3's
// defaults, written by compat/python/export_keras2_layer_args.py from the
// two packages themselves.
//
//go:embed keras2_layers.json
var keras2LayersJSON []byte

// keras2Table indexes keras2LayersJSON.
type keras2Table struct {
	args        map[string]map[string]bool // tf-keras layer class -> constructor arguments
	activations map[string]bool            // tf-keras activation names
	defaults    map[string]map[string]any  // Keras 3 layer class -> argument defaults
}

var keras2Tables = sync.OnceValue(func() *keras2Table {
	var raw struct {
		Layers      map[string][]string       `json:"tf_keras_layers"`
		Activations []string                  `json:"tf_keras_activations"`
		Defaults    map[string]map[string]any `json:"keras3_defaults"`
	}
	if err := json.Unmarshal(keras2LayersJSON, &raw); err != nil {
		panic("kerasrun: embedded keras2_layers.json: " + err.Error())
	}
	t := &keras2Table{args: map[string]map[string]bool{}, activations: map[string]bool{}, defaults: raw.Defaults}
	for class, names := range raw.Layers {
		t.args[class] = map[string]bool{}
		for _, n := range names {
			t.args[class][n] = true
		}
	}
	for _, a := range raw.Activations {
		t.activations[a] = true
	}
	return t
})

// keras3KwargDefaults are defaults of Keras 3 arguments a constructor
// takes from **kwargs in classes the exporter cannot build without
// arguments, so the table cannot hold them.
var keras3KwargDefaults = map[string]any{"lora_enabled": false}

// keras2ArgRenames are Keras 3 argument names whose Keras 2 name tf-keras
// still takes (kerasjson renames them the other way on load).
var keras2ArgRenames = map[string]map[string]string{"LeakyReLU": {"negative_slope": "alpha"}}

// keras2NestedLayerKeys hold layer configs inside a wrapper's or an RNN's
// config (Bidirectional, TimeDistributed, RNN cells).
var keras2NestedLayerKeys = []string{"layer", "backward_layer", "cell"}

// keras2CheckLayer fits cfg, a layer's config in Keras 2 form, to what
// tf-keras accepts: it renames arguments tf-keras knows by their Keras 2
// name, drops Keras 3-only arguments that hold Keras 3's default and returns what tf-keras cannot load (a class it lacks, a
// Keras 3-only argument set to something else, an activation it lacks).
// Classes neither Keras knows (custom layers) are left as they are.
func keras2CheckLayer(name, class string, cfg map[string]any) []string {
	t := keras2Tables()
	accepted, inTFKeras := t.args[class]
	defaults, inKeras3 := t.defaults[class]
	if !inTFKeras {
		if inKeras3 {
			return []string{fmt.Sprintf("layer %q (%s): tf-keras has no %s layer", name, class, class)}
		}
		return nil
	}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v := cfg[k]
		if !accepted[k] {
			if k2, ok := keras2ArgRenames[class][k]; ok && accepted[k2] {
				delete(cfg, k)
				cfg[k2] = v
				continue
			}
			def, known := defaults[k]
			if !known {
				def, known = keras3KwargDefaults[k]
			}
			if known && sameJSON(v, def) {
				delete(cfg, k)
				continue
			}
			problems = append(problems, fmt.Sprintf("layer %q (%s): tf-keras's %s has no argument %s (here %s)", name, class, class, k, jsonText(v)))
			continue
		}
		if (k == "activation" || k == "recurrent_activation") && !keras2Activation(t, v) {
			problems = append(problems, fmt.Sprintf("layer %q (%s): tf-keras has no activation %s (argument %s)", name, class, jsonText(v), k))
		}
	}
	for _, k := range keras2NestedLayerKeys {
		problems = append(problems, keras2CheckNested(name, cfg[k])...)
	}
	if cells, ok := cfg["cells"].([]any); ok { // StackedRNNCells, RNN of a cell list
		for _, c := range cells {
			problems = append(problems, keras2CheckNested(name, c)...)
		}
	}
	return problems
}

// keras2CheckNested checks a {class_name, config} layer object nested in
// layer outer's config.
func keras2CheckNested(outer string, v any) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	class, _ := obj["class_name"].(string)
	cfg, ok := obj["config"].(map[string]any)
	if class == "" || !ok {
		return nil
	}
	inner, _ := cfg["name"].(string)
	return keras2CheckLayer(outer+"/"+inner, class, cfg)
}

// keras2Activation reports whether tf-keras can deserialize activation v:
// a name it has, or an object (a custom function) it is left to resolve.
func keras2Activation(t *keras2Table, v any) bool {
	s, isName := v.(string)
	return !isName || t.activations[s]
}

// sameJSON reports whether a and b are equal as JSON values (numbers
// compared by value, tuples as lists).
func sameJSON(a, b any) bool {
	norm := func(v any) any {
		data, err := json.Marshal(v)
		if err != nil {
			return nil
		}
		var out any
		if json.Unmarshal(data, &out) != nil {
			return nil
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func jsonText(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
