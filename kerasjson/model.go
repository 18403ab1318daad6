package kerasjson

import (
	"fmt"
	"strings"
)

// maxModelNesting bounds how deeply models may nest inside models.
const maxModelNesting = 64

// ParseModel decodes a model configuration: the output of model.to_json(),
// the model_config attribute of a legacy .h5 file, or config.json of a
// .keras archive (whose extra top-level compile_config and build_config are
// ignored here; see CompileConfig). Keras 1, Keras 2 / tf.keras and Keras 3
// dialects are accepted and normalized to Keras 3 vocabulary.
//
// Malformed input gives a *FormatError; a subclassed model, whose config
// holds no layer graph, and the few legacy features listed in legacy.go give
// an *UnsupportedError. Lambda, TFOpLambda and custom layers are not errors:
// they are returned as ordinary layers for the loader to accept or refuse.
func ParseModel(data []byte) (*Model, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	return parseModel(v, "", 0)
}

// ParseModelValue is ParseModel for an already decoded JSON value, such as
// a nested model's layer object. Numbers should be json.Number (decoded
// with UseNumber) for Config's accessors to keep integers exact. v is not
// modified.
func ParseModelValue(v any) (*Model, error) {
	return parseModel(deepCopy(v), "", 0)
}

// isModelClass reports whether a layer class is a model that this package
// parses recursively.
func isModelClass(class string) bool {
	return class == "Sequential" || class == "Functional" || class == "Model"
}

func parseModel(v any, path string, depth int) (*Model, error) {
	if depth > maxModelNesting {
		return nil, formatErr(path, "models nested more than %d deep", maxModelNesting)
	}
	obj, ok := asObject(v)
	if !ok {
		return nil, formatErr(path, "want a model object, got %s", describe(v))
	}
	class, err := stringField(obj, "class_name", path)
	if err != nil {
		return nil, err
	}
	cfg, cfgPath := obj["config"], joinPath(path, "config")
	if class == "" {
		// A bare get_config() dict.
		if _, ok := obj["layers"]; !ok {
			return nil, formatErr(path, "not a Keras model: no class_name")
		}
		cfg, cfgPath, class = obj, path, "Sequential"
		if _, ok := obj["input_layers"]; ok {
			class = "Functional"
		}
	}
	switch class {
	case "Sequential":
		_, keras3 := obj["module"]
		return parseSequential(cfg, cfgPath, keras3, depth)
	case "Functional", "Model":
		return parseFunctional(cfg, cfgPath, depth)
	}
	feature := fmt.Sprintf("model class %q", class)
	if reg, _ := obj["registered_name"].(string); reg != "" && reg != class {
		feature += fmt.Sprintf(" (registered as %q)", reg)
	}
	if mod, _ := obj["module"].(string); mod != "" {
		feature += fmt.Sprintf(" from module %q", mod)
	}
	ue := &UnsupportedError{Feature: feature + ": a subclassed model's config has no layer graph", ClassName: class}
	ue.RegisteredName, _ = obj["registered_name"].(string)
	ue.Module, _ = obj["module"].(string)
	if c, ok := asObject(cfg); ok {
		ue.Name, _ = c["name"].(string)
	}
	return nil, ue
}

func parseSequential(cfg any, path string, keras3 bool, depth int) (*Model, error) {
	m := &Model{ClassName: "Sequential"}
	var list []any
	var buildShape any
	layersPath := path
	switch c := cfg.(type) {
	case []any:
		// Keras 1 and Keras 2.0-2.2: the config is the list of layers.
		list = c
	default:
		obj, ok := asObject(cfg)
		if !ok {
			return nil, formatErr(path, "want a Sequential config object or list, got %s", describe(cfg))
		}
		name, err := stringField(obj, "name", path)
		if err != nil {
			return nil, err
		}
		m.Name = name
		layersPath = joinPath(path, "layers")
		l, ok := obj["layers"].([]any)
		if !ok {
			return nil, formatErr(layersPath, "want a list of layers, got %s", describe(obj["layers"]))
		}
		list = l
		buildShape = obj["build_input_shape"]
	}

	var hintShape []any
	hintDtype := ""
	names := map[string]bool{}
	for i, lv := range list {
		lpath := indexPath(layersPath, i)
		if i == 0 {
			hintShape, hintDtype = rawInputHints(lv)
		}
		l, err := parseLayer(lv, lpath, depth)
		if err != nil {
			return nil, err
		}
		if names[l.Name] {
			return nil, formatErr(lpath, "duplicate layer name %q", l.Name)
		}
		names[l.Name] = true
		m.Layers = append(m.Layers, l)
	}
	if len(m.Layers) == 0 {
		return m, nil
	}
	for i, l := range m.Layers[1:] {
		if l.ClassName == "InputLayer" {
			return nil, formatErr(indexPath(layersPath, i+1), "InputLayer %q is not the first layer of a Sequential model", l.Name)
		}
	}
	if m.Layers[0].ClassName != "InputLayer" {
		if in := synthesizeInput(m.Layers[0], hintShape, hintDtype, buildShape, keras3, names); in != nil {
			m.Layers = append([]*Layer{in}, m.Layers...)
		}
	}
	if first := m.Layers[0]; first.ClassName == "InputLayer" {
		m.Inputs = []TensorRef{{Layer: first.Name}}
	}
	m.Outputs = []TensorRef{{Layer: m.Layers[len(m.Layers)-1].Name}}
	return m, nil
}

// rawInputHints reads, before normalization, what a Keras 1 first layer
// says about the model's input: a shape from input_dim/input_length and
// the input placeholder's dtype (input_dtype).
func rawInputHints(v any) ([]any, string) {
	obj, ok := asObject(v)
	if !ok {
		return nil, ""
	}
	cfg, ok := asObject(obj["config"])
	if !ok {
		return nil, ""
	}
	class, _ := obj["class_name"].(string)
	dtype, _ := cfg["input_dtype"].(string)
	return legacyInputShape(class, cfg), dtype
}

// synthesizeInput builds the InputLayer that Keras adds in front of a
// Sequential model whose first layer knows its input shape. Keras 3 names
// it "input_layer" (made unique); tf.keras and Keras 1/2 name it
// "<first layer>_input". It returns nil when no shape is known.
func synthesizeInput(first *Layer, hint []any, hintDtype string, buildShape any, keras3 bool, names map[string]bool) *Layer {
	var shape any
	if first.Config.Has("batch_shape") {
		shape = first.Config["batch_shape"]
	} else if first.Model != nil {
		for _, l := range first.Model.Layers {
			if l.ClassName == "InputLayer" && len(first.Model.Inputs) == 1 && first.Model.Inputs[0].Layer == l.Name {
				shape = l.Config["batch_shape"]
			}
		}
	}
	if shape == nil && hint != nil {
		shape = hint
	}
	if shape == nil {
		shape = buildShape
	}
	if _, ok := shape.([]any); !ok {
		return nil
	}
	dtype := hintDtype
	if dtype == "" {
		dtype, _ = first.Config["dtype"].(string)
	}
	if dtype == "" || strings.HasPrefix(dtype, "mixed_") {
		// A mixed policy computes in float16 but its inputs are float32.
		dtype = "float32"
	}
	name := first.Name + "_input"
	if keras3 {
		name = "input_layer"
		for i := 1; names[name]; i++ {
			name = fmt.Sprintf("input_layer_%d", i)
		}
	}
	for names[name] {
		name += "_"
	}
	cfg := Config{"name": name, "batch_shape": deepCopy(shape), "dtype": dtype, "sparse": false}
	return &Layer{ClassName: "InputLayer", OriginalClassName: "InputLayer", Name: name, Config: cfg}
}

// parseLayer decodes one layer object (without its inbound nodes).
func parseLayer(v any, path string, depth int) (*Layer, error) {
	obj, ok := asObject(v)
	if !ok {
		return nil, formatErr(path, "want a layer object, got %s", describe(v))
	}
	class, err := stringField(obj, "class_name", path)
	if err != nil {
		return nil, err
	}
	if class == "" {
		return nil, formatErr(path, "layer has no class_name")
	}
	l := &Layer{ClassName: class, OriginalClassName: class}
	if l.Module, err = stringField(obj, "module", path); err != nil {
		return nil, err
	}
	if l.RegisteredName, err = stringField(obj, "registered_name", path); err != nil {
		return nil, err
	}
	name, err := stringField(obj, "name", path)
	if err != nil {
		return nil, err
	}
	cfgPath := joinPath(path, "config")
	if isModelClass(class) {
		sub, err := parseModel(obj, path, depth+1)
		if err != nil {
			return nil, err
		}
		l.Model = sub
		l.ClassName = sub.ClassName
		if c, ok := asObject(obj["config"]); ok {
			l.Config = Config(c)
		} else {
			l.Config = Config{"name": sub.Name}
		}
		if err := normalizeDtype(l.Config); err != nil {
			return nil, formatErr(joinPath(cfgPath, "dtype"), "%v", err)
		}
		if name == "" {
			name = sub.Name
		}
	} else {
		switch c := obj["config"].(type) {
		case nil:
			l.Config = Config{}
		case map[string]any:
			l.Config = Config(c)
		default:
			return nil, formatErr(cfgPath, "want a layer config object, got %s", describe(c))
		}
		if l.ClassName, err = normalizeLayerConfig(class, l.Config, isBuiltin(obj), cfgPath); err != nil {
			return nil, err
		}
		if name == "" {
			if name, err = stringField(l.Config, "name", cfgPath); err != nil {
				return nil, err
			}
		}
	}
	if name == "" {
		return nil, formatErr(path, "%s layer has no name", class)
	}
	l.Name = name
	return l, nil
}

// isBuiltin reports whether a layer object is a Keras class rather than a
// custom one registered as "package>Name". Only built-in classes get the
// legacy rewrites; tf.keras 2.13+ writes "module" too, so its presence
// does not tell Keras 2 from Keras 3.
func isBuiltin(obj map[string]any) bool {
	reg, _ := obj["registered_name"].(string)
	return !strings.Contains(reg, ">")
}

// normalizeLayerConfig rewrites a layer config in place to Keras 3
// vocabulary and returns the Keras 3 class name. The legacy rewrites of
// legacy.go apply to built-in classes only; they only rename keys that
// Keras 3 configs of those classes never contain.
func normalizeLayerConfig(class string, cfg Config, builtin bool, path string) (string, error) {
	if builtin {
		var err error
		if class, err = applyLegacy(class, cfg, path); err != nil {
			return "", err
		}
	}
	if err := normalizeDtype(cfg); err != nil {
		return "", formatErr(joinPath(path, "dtype"), "%v", err)
	}
	renameKey(cfg, "batch_input_shape", "batch_shape")
	// Wrapped layers and cells (TimeDistributed, Bidirectional, RNN) are
	// normalized the same way, in place, so that Config.Object finds
	// Keras 3 names in them.
	for _, key := range []string{"layer", "backward_layer", "cell"} {
		if err := normalizeNestedLayer(cfg[key], joinPath(path, key)); err != nil {
			return "", err
		}
	}
	if cells, ok := cfg["cells"].([]any); ok {
		for i, c := range cells {
			if err := normalizeNestedLayer(c, indexPath(joinPath(path, "cells"), i)); err != nil {
				return "", err
			}
		}
	}
	return class, nil
}

func normalizeNestedLayer(v any, path string) error {
	obj, ok := asObject(v)
	if !ok {
		return nil
	}
	class, _ := obj["class_name"].(string)
	cfg, ok := asObject(obj["config"])
	if class == "" || !ok || isModelClass(class) {
		return nil
	}
	newClass, err := normalizeLayerConfig(class, Config(cfg), isBuiltin(obj), joinPath(path, "config"))
	if err != nil {
		return err
	}
	obj["class_name"] = newClass
	return nil
}

// normalizeDtype replaces a dtype policy object (Keras 3.4+ DTypePolicy,
// Keras 2 mixed precision Policy, Keras 3 quantized policies) by its name.
func normalizeDtype(cfg Config) error {
	obj, ok := asObject(cfg["dtype"])
	if !ok {
		return nil
	}
	pc, ok := asObject(obj["config"])
	if !ok {
		return fmt.Errorf("dtype policy without a config")
	}
	if name, ok := pc["name"].(string); ok && name != "" {
		cfg["dtype"] = name
		return nil
	}
	// QuantizedDTypePolicy's config is {mode, source_name}; Keras names
	// the policy "<mode>_from_<source_name>".
	mode, _ := pc["mode"].(string)
	source, _ := pc["source_name"].(string)
	if mode != "" && source != "" {
		cfg["dtype"] = mode + "_from_" + source
		return nil
	}
	return fmt.Errorf("dtype policy without a name")
}
