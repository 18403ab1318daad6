package kerasjson

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
)

// EncodeKeras2Model serializes a model in Keras 2's (tf-keras) form, which
// Keras 3's legacy .h5 loader reads too: no module or registered_name,
// batch_input_shape, and inbound_nodes as [[layer, node, tensor, kwargs]]
// lists where a nested model's calls count from 1 (its own node is 0).
// What tf-keras cannot load is returned in problems, every layer's (a
// layer class tf-keras lacks, an argument it does not accept unless it
// holds Keras 3's default and can be dropped, an activation it lacks),
// with no JSON; err is a config that cannot be written in Keras 2 form
// at all.
func EncodeKeras2Model(spec *Model, trainable bool) (data []byte, problems []string, err error) {
	obj, err := keras2ModelObject(spec, trainable, &problems)
	if err != nil {
		return nil, nil, err
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	data, err = json.Marshal(obj)
	return data, nil, err
}

// keras2ModelObject translates spec, appending to *problems what tf-keras
// cannot load (every layer's, so that one error names them all).
func keras2ModelObject(spec *Model, trainable bool, problemsOut *[]string) (Ordered, error) {
	var problems []string
	defer func() { *problemsOut = append(*problemsOut, problems...) }()
	functional := spec.ClassName != "Sequential"
	nested := map[string]bool{}
	for _, l := range spec.Layers {
		if l.Model != nil {
			nested[l.Name] = true
		}
	}
	ref := func(r TensorRef) []any {
		ni := r.NodeIndex
		if nested[r.Layer] {
			ni++
		}
		return []any{r.Layer, ni, r.TensorIndex}
	}
	var layersJSON []any
	for _, l := range spec.Layers {
		var obj Ordered
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
			obj = Ordered{{"class_name", l.ClassName}, {"config", cfg}}
		}
		if functional {
			nodes := []any{}
			for _, n := range l.Inbound {
				var kw map[string]any
				for k, v := range n.Kwargs {
					switch v.(type) {
					case TensorRef, []TensorRef:
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
					if a.Layer == ConstantValue {
						return nil, fmt.Errorf("layer %q: a constant argument cannot be written in Keras 2 form", l.Name)
					}
					entries = append(entries, append(ref(a), kw))
				}
				nodes = append(nodes, entries)
			}
			obj = append(obj, Field{"name", l.Name}, Field{"inbound_nodes", nodes})
		}
		layersJSON = append(layersJSON, obj)
	}
	if !functional {
		cfg := Ordered{{"name", spec.Name}, {"layers", layersJSON}}
		if len(spec.Layers) > 0 && spec.Layers[0].ClassName == "InputLayer" {
			cfg = append(cfg, Field{"build_input_shape", spec.Layers[0].Config["batch_shape"]})
		}
		return Ordered{{"class_name", "Sequential"}, {"config", cfg}}, nil
	}
	refs := func(rs []TensorRef) []any {
		out := make([]any, len(rs))
		for i, r := range rs {
			out[i] = ref(r)
		}
		return out
	}
	cfg := Ordered{{"name", spec.Name}, {"trainable", trainable}, {"layers", layersJSON},
		{"input_layers", refs(spec.Inputs)}, {"output_layers", refs(spec.Outputs)}}
	return Ordered{{"class_name", "Functional"}, {"config", cfg}}, nil
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
	case Config:
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
		panic("kerasjson: embedded keras2_layers.json: " + err.Error())
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
