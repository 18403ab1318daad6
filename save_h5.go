package kerasrun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/saving"
	"github.com/kerasrun/kerasrun/train"
)

// hdf5ObjectHeaderLimit is Keras's HDF5_OBJECT_HEADER_LIMIT: a list
// attribute whose fixed-length form is larger is split in chunks.
const hdf5ObjectHeaderLimit = 64512

// legacyH5Writer lays out a legacy full-model .h5 as Keras 3's
// legacy_h5_format.save_model_to_hdf5 (and tf-keras's hdf5_format) write
// it: root attributes keras_version, backend, model_config and
// training_config; /model_weights with layer_names and one group per
// layer holding weight_names and the weights, plus top_level_model_weights;
// /optimizer_weights with weight_names. Both loaders match weights by
// position, so names only need to be unique.
func (m *Model) legacyH5Writer(o *saveOptions) (*h5.Writer, error) {
	version := kerasVersionWritten
	switch {
	case o.keras2:
		version = "2.21.0"
	case m.isKeras2Source():
		// The config is the Keras 1/2 one as loaded: keep its writer's
		// version, so that readers apply Keras 2 semantics (hard_sigmoid).
		version = m.info.KerasVersion
	}
	modelConfig, err := m.legacyModelConfig(o)
	if err != nil {
		return nil, err
	}
	w := h5.NewWriter()
	root := w.Root()
	attrs := []struct {
		name  string
		value *h5.Array
	}{
		{"backend", h5.StringAttr("tensorflow")},
		{"keras_version", h5.StringAttr(version)},
		{"model_config", asciiAttr(string(modelConfig))},
	}
	if m.training != nil && !o.noOptimizer {
		tc, err := m.legacyTrainingConfig(o.keras2 && !m.isKeras2Source())
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, struct {
			name  string
			value *h5.Array
		}{"training_config", asciiAttr(string(tc))})
	}
	for _, a := range attrs {
		if err := root.SetAttr(a.name, a.value); err != nil {
			return nil, err
		}
	}
	mw, err := root.CreateGroup("model_weights")
	if err != nil {
		return nil, err
	}
	if err := m.writeLegacyWeights(mw, version, o.keras2); err != nil {
		return nil, err
	}
	if m.optimizer != nil && m.training != nil && !o.noOptimizer {
		if err := m.writeLegacyOptimizer(root, o.keras2); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// asciiAttr is a scalar variable-length ASCII string, as h5py stores the
// bytes Keras encodes its JSON attributes to.
func asciiAttr(s string) *h5.Array {
	return &h5.Array{DType: h5.DType{Kind: h5.String, VarLen: true}, Data: []string{s}}
}

// setStringList stores a list attribute as Keras's
// save_attributes_to_hdf5_group does: a variable-length string array, or,
// when its fixed-length form would pass the object header limit, chunks
// name0, name1, ... of fixed-length strings split as numpy.array_split
// does; an empty list is a zero-length float64 array.
func setStringList(g *h5.GroupWriter, name string, list []string) error {
	if len(list) == 0 {
		return g.SetAttr(name, &h5.Array{DType: h5.DType{Kind: h5.Float64, Size: 8}, Shape: []int{0}, Data: []float64{}})
	}
	width := 1
	for _, s := range list {
		if len(s) > hdf5ObjectHeaderLimit {
			return fmt.Errorf("%s entry of %d bytes is larger than the %d HDF5 allows", name, len(s), hdf5ObjectHeaderLimit)
		}
		width = max(width, len(s))
	}
	chunks := 1
	for (len(list)+chunks-1)/chunks*width > hdf5ObjectHeaderLimit {
		chunks++
	}
	if chunks == 1 {
		return g.SetAttr(name, &h5.Array{DType: h5.DType{Kind: h5.String, VarLen: true}, Shape: []int{len(list)}, Data: list})
	}
	start := 0
	for c := 0; c < chunks; c++ {
		n := len(list) / chunks
		if c < len(list)%chunks {
			n++
		}
		part := list[start : start+n]
		start += n
		arr := h5.FixedStrings(part)
		arr.DType.Size = width // numpy gives every chunk the whole list's width
		if err := g.SetAttr(fmt.Sprintf("%s%d", name, c), arr); err != nil {
			return err
		}
	}
	return nil
}

// writeLegacyWeights fills /model_weights. Weight names are the Keras
// variable paths ("dense/kernel"; Keras 2 style "dense/kernel:0" for
// Keras2Compatible), each '/' making a subgroup as h5py does.
func (m *Model) writeLegacyWeights(g *h5.GroupWriter, version string, keras2 bool) error {
	paths := map[*runtime.Variable]string{}
	for _, mv := range m.variables() {
		paths[mv.v] = mv.path
	}
	ls := kerasLayers(m.net)
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.Common().Name
	}
	if err := setStringList(g, "layer_names", names); err != nil {
		return err
	}
	if err := g.SetAttr("backend", asciiAttr("tensorflow")); err != nil {
		return err
	}
	if err := g.SetAttr("keras_version", asciiAttr(version)); err != nil {
		return err
	}
	for _, l := range ls {
		lg, err := g.CreateGroup(l.Common().Name)
		if err != nil {
			return fmt.Errorf("layer %s: %w", l.Common(), err)
		}
		vars := legacyWeights(l)
		wnames := make([]string, len(vars))
		used := map[string]bool{}
		for i, v := range vars {
			name := paths[v]
			if name == "" {
				name = l.Common().Name + "/" + v.Name
			}
			if keras2 {
				name += ":0"
			}
			for base, k := name, 1; used[name]; k++ {
				name = fmt.Sprintf("%s_%d", base, k)
			}
			used[name] = true
			wnames[i] = name
		}
		if err := setStringList(lg, "weight_names", wnames); err != nil {
			return err
		}
		tree := newGroupTree(lg)
		for i, v := range vars {
			if err := tree.dataset(wnames[i], h5.Float32Array(append([]int(nil), v.Value.Shape...), v.Value.Data)); err != nil {
				return fmt.Errorf("layer %s: %w", l.Common(), err)
			}
		}
	}
	top, err := g.CreateGroup("top_level_model_weights")
	if err != nil {
		return err
	}
	return setStringList(top, "weight_names", nil)
}

// writeLegacyOptimizer fills /optimizer_weights: Keras 3's
// optimizer.variables in order, named "<optimizer>/<variable>"; or, for
// Keras2Compatible, tf-keras's layout: "iteration:0" then the slots
// (without the learning rate and other Keras 3-only variables), named
// "<Class>/<slot>/<variable path>:0".
func (m *Model) writeLegacyOptimizer(root *h5.GroupWriter, keras2 bool) error {
	vars := m.optimizer.Variables()
	arrays := m.optimizerArrays()
	var names []string
	var values []*h5.Array
	if keras2 {
		_, paths := m.trainableVariables()
		class, _ := kerasjson.Keras3OptimizerClass(strings.TrimPrefix(m.optimizerConfig().ClassName, "Custom>"))
		if class == "" {
			class = m.optimizer.Name()
		}
		names, values = append(names, "iteration:0"), append(values, arrays[0])
		for i, v := range vars[1:] {
			for _, p := range paths {
				prefix := strings.ReplaceAll(p, "/", "_") + "_"
				if slot, ok := strings.CutPrefix(v.Name, prefix); ok {
					names = append(names, class+"/"+keras2SlotName(class, slot)+"/"+p+":0")
					values = append(values, arrays[i+1])
					break
				}
			}
		}
	} else {
		for i, v := range vars {
			names = append(names, m.optimizer.Name()+"/"+v.Name)
			values = append(values, arrays[i])
		}
	}
	og, err := root.CreateGroup("optimizer_weights")
	if err != nil {
		return err
	}
	if err := setStringList(og, "weight_names", names); err != nil {
		return err
	}
	tree := newGroupTree(og)
	for i, n := range names {
		if err := tree.dataset(n, values[i]); err != nil {
			return fmt.Errorf("optimizer weight %s: %w", n, err)
		}
	}
	return nil
}

// keras2SlotName is tf-keras's (2.11+) name for a Keras 3 slot.
func keras2SlotName(class, slot string) string {
	switch class + "/" + slot {
	case "Adam/momentum", "AdamW/momentum", "Nadam/momentum", "Adamax/momentum", "SGD/momentum", "Lion/momentum":
		return "m"
	case "Adam/velocity", "AdamW/velocity", "Nadam/velocity":
		return "v"
	case "Adam/velocity_hat", "AdamW/velocity_hat":
		return "vhat"
	case "Adamax/norm":
		return "u"
	}
	return slot
}

// groupTree creates the subgroups a '/'-separated dataset name needs.
type groupTree struct {
	groups map[string]*h5.GroupWriter
}

func newGroupTree(root *h5.GroupWriter) *groupTree {
	return &groupTree{groups: map[string]*h5.GroupWriter{"": root}}
}

func (t *groupTree) dataset(name string, v *h5.Array) error {
	parts := strings.Split(name, "/")
	dir := ""
	g := t.groups[""]
	for _, p := range parts[:len(parts)-1] {
		next := dir + "/" + p
		sub, ok := t.groups[next]
		if !ok {
			var err error
			if sub, err = g.CreateGroup(p); err != nil {
				return err
			}
			t.groups[next] = sub
		}
		g, dir = sub, next
	}
	_, err := g.CreateDataset(parts[len(parts)-1], v)
	return err
}

// legacyModelConfig returns model_config: the config as loaded, except
// that a .keras config.json loses its compile_config and build_config
// (the .h5 keeps them elsewhere or not at all), and Keras2Compatible
// translates a Keras 3 config to Keras 2's form.
func (m *Model) legacyModelConfig(o *saveOptions) ([]byte, error) {
	var top map[string]any
	if err := kerasjson.DecodeNumbers(m.rawConfig, &top); err != nil {
		return nil, fmt.Errorf("model config: %w", err)
	}
	if o.keras2 && !m.isKeras2Source() {
		out, err := keras2ModelJSON(m.spec, m.net.Trainable)
		// Keras 3's hard_sigmoid (relu6(x + 3) / 6) is not Keras 2's
		// (clip(0.2x + 0.5)): a Keras 2 reader would compute other outputs.
		if err == nil && bytes.Contains(out, []byte(`"hard_sigmoid"`)) {
			return nil, &UnsupportedError{Feature: "Keras 3's hard_sigmoid in a Keras 2 file, where hard_sigmoid means another formula; save as .keras or Keras 3 .h5 instead"}
		}
		return out, err
	}
	if _, has := top["compile_config"]; !has {
		if _, has := top["build_config"]; !has {
			return m.rawConfig, nil
		}
	}
	out := kerasjson.Ordered{}
	for _, k := range []string{"module", "class_name", "config", "registered_name"} {
		if v, ok := top[k]; ok {
			out = append(out, kerasjson.Field{k, v})
		}
	}
	return json.Marshal(out)
}

// isKeras2Source reports whether the model's file was written by Keras 1
// or 2, whose configs tf-keras reads as they are.
func (m *Model) isKeras2Source() bool {
	v := m.info.KerasVersion
	return strings.HasPrefix(v, "1.") || strings.HasPrefix(v, "2.")
}

// legacyTrainingConfig returns training_config: as loaded from a legacy
// .h5, or translated from a .keras compile_config (the optimizer becomes
// optimizer_config {class_name, config}).
//
// For Keras2Compatible the optimizer is written as tf-keras's optimizers
// (2.11+) serialize themselves, "Custom>Adam" with is_legacy_optimizer
// false, from the optimizer's Keras 3 config without the arguments tf-keras
// lacks.
func (m *Model) legacyTrainingConfig(keras2 bool) ([]byte, error) {
	var raw map[string]any
	if err := kerasjson.DecodeNumbers(m.rawCompile, &raw); err != nil {
		return nil, fmt.Errorf("compile config: %w", err)
	}
	opt, isKeras3 := raw["optimizer"]
	if !isKeras3 && !keras2 {
		return m.rawCompile, nil
	}
	if keras2 {
		delete(raw, "optimizer")
		delete(raw, "optimizer_config")
		out := kerasjson.Ordered{}
		for _, k := range slices.Sorted(maps.Keys(raw)) {
			out = append(out, kerasjson.Field{k, raw[k]})
		}
		tr, err := train.NewOptimizer(m.optimizerConfig())
		if err != nil {
			return nil, err
		}
		class := strings.TrimPrefix(m.optimizerConfig().ClassName, "Custom>")
		if c, ok := kerasjson.Keras3OptimizerClass(class); ok {
			class = c
		}
		cfg := kerasjson.FloatsAsFloats(tr.GetConfig())
		delete(cfg, "loss_scale_factor")
		delete(cfg, "gradient_accumulation_steps")
		cfg["jit_compile"] = false
		cfg["is_legacy_optimizer"] = false
		if cfg["name"] == saving.SnakeCase(class) {
			// Keras 3's default name ("rm_sprop"); tf-keras's is the class
			// name, and Keras 3 reading a Keras 2 file resolves by it.
			cfg["name"] = class
		}
		out = append(out, kerasjson.Field{"optimizer_config", kerasjson.Ordered{{"class_name", "Custom>" + class}, {"config", cfg}}})
		return json.Marshal(out)
	}
	out := kerasjson.Ordered{}
	for _, k := range []string{"loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile"} {
		if v, ok := raw[k]; ok {
			out = append(out, kerasjson.Field{k, v})
		}
	}
	if o, ok := opt.(map[string]any); ok {
		out = append(out, kerasjson.Field{"optimizer_config", kerasjson.Ordered{{"class_name", o["class_name"]}, {"config", o["config"]}}})
	} else if s, ok := opt.(string); ok {
		out = append(out, kerasjson.Field{"optimizer_config", kerasjson.Ordered{{"class_name", s}, {"config", map[string]any{}}}})
	}
	return json.Marshal(out)
}
