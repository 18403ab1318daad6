package legacyh5

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/train"
)

// hdf5ObjectHeaderLimit is Keras's HDF5_OBJECT_HEADER_LIMIT: a list
// attribute whose fixed-length form is larger is split in chunks.
const hdf5ObjectHeaderLimit = 64512

// Model is what a legacy .h5 is written from: the model and what the file
// it was loaded from said.
type Model struct {
	Net  *layers.Model
	Spec *kerasjson.Model
	// Config is the model config JSON as loaded, Compile the compile or
	// training config JSON (nil when not compiled) and Training its parsed
	// form.
	Config, Compile []byte
	Training        *kerasjson.TrainingConfig
	// KerasVersion is the Keras version that wrote the loaded file.
	KerasVersion string
	// Optimizer is the model's optimizer (nil: none yet), built from
	// OptimizerConfig.
	Optimizer       train.Optimizer
	OptimizerConfig *kerasjson.Object
}

// Options say how NewWriter writes a model.
type Options struct {
	// Keras2 writes a model config and optimizer weights tf-keras (Keras
	// 2) reads as well as Keras 3.
	Keras2 bool
	// NoOptimizer leaves the training config and optimizer state out.
	NoOptimizer bool
	// KerasVersion is the Keras release the file names as its writer.
	KerasVersion string
}

// NewWriter lays out a legacy full-model .h5 as Keras 3's
// legacy_h5_format.save_model_to_hdf5 (and tf-keras's hdf5_format) write
// it: root attributes keras_version, backend, model_config and
// training_config; /model_weights with layer_names and one group per
// layer holding weight_names and the weights, plus top_level_model_weights;
// /optimizer_weights with weight_names. Both loaders match weights by
// position, so names only need to be unique.
func NewWriter(m *Model, o Options) (*h5.Writer, error) {
	version := o.KerasVersion
	switch {
	case o.Keras2:
		version = "2.21.0"
	case m.isKeras2Source():
		// The config is the Keras 1/2 one as loaded: keep its writer's
		// version, so that readers apply Keras 2 semantics (hard_sigmoid).
		version = m.KerasVersion
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
	if m.Training != nil && !o.NoOptimizer {
		tc, err := m.legacyTrainingConfig(o.Keras2 && !m.isKeras2Source())
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
	if err := writeWeights(mw, m.Net, version, o.Keras2); err != nil {
		return nil, err
	}
	if m.Optimizer != nil && m.Training != nil && !o.NoOptimizer {
		if err := m.writeOptimizer(root, o.Keras2); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// OptimizerArrays returns an optimizer's variables as Keras stores them:
// the iteration count as a scalar int64, the rest as float32.
func OptimizerArrays(opt train.Optimizer) []*h5.Array {
	vars := opt.Variables()
	out := make([]*h5.Array, len(vars))
	for i, v := range vars {
		if i == 0 {
			// Iterations is exact; the float32 variable is not past 2^24
			// but is the raw count when gradients are accumulated.
			it := opt.Iterations()
			if len(v.Value.Data) == 1 && float32(it) != v.Value.Data[0] {
				it = int64(v.Value.Data[0])
			}
			out[i] = &h5.Array{DType: h5.DType{Kind: h5.Int64, Size: 8}, Data: []int64{it}}
			continue
		}
		out[i] = h5.Float32Array(append([]int(nil), v.Value.Shape...), v.Value.Data)
	}
	return out
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

// writeWeights fills /model_weights. Weight names are the Keras
// variable paths ("dense/kernel"; Keras 2 style "dense/kernel:0" for
// Keras2Compatible), each '/' making a subgroup as h5py does.
func writeWeights(g *h5.GroupWriter, net *layers.Model, version string, keras2 bool) error {
	paths := map[*runtime.Variable]string{}
	for _, v := range layers.WalkVariables(net) {
		paths[v.V] = v.Path()
	}
	ls := layers.ModelLayers(net)
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
		vars := kerasWeights(l)
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

// writeOptimizer fills /optimizer_weights: Keras 3's
// optimizer.variables in order, named "<optimizer>/<variable>"; or, for
// Keras2Compatible, tf-keras's layout: "iteration:0" then the slots
// (without the learning rate and other Keras 3-only variables), named
// "<Class>/<slot>/<variable path>:0".
func (m *Model) writeOptimizer(root *h5.GroupWriter, keras2 bool) error {
	vars := m.Optimizer.Variables()
	arrays := OptimizerArrays(m.Optimizer)
	var names []string
	var values []*h5.Array
	if keras2 {
		_, paths := layers.TrainableVariables(m.Net)
		class, _ := kerasjson.Keras3OptimizerClass(strings.TrimPrefix(m.OptimizerConfig.ClassName, "Custom>"))
		if class == "" {
			class = m.Optimizer.Name()
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
			names = append(names, m.Optimizer.Name()+"/"+v.Name)
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
func (m *Model) legacyModelConfig(o Options) ([]byte, error) {
	var top map[string]any
	if err := kerasjson.DecodeNumbers(m.Config, &top); err != nil {
		return nil, fmt.Errorf("model config: %w", err)
	}
	if o.Keras2 && !m.isKeras2Source() {
		out, err := keras2ModelJSON(m.Spec, m.Net.Trainable)
		// Keras 3's hard_sigmoid (relu6(x + 3) / 6) is not Keras 2's
		// (clip(0.2x + 0.5)): a Keras 2 reader would compute other outputs.
		if err == nil && bytes.Contains(out, []byte(`"hard_sigmoid"`)) {
			return nil, &UnsupportedError{Feature: "Keras 3's hard_sigmoid in a Keras 2 file, where hard_sigmoid means another formula; save as .keras or Keras 3 .h5 instead"}
		}
		return out, err
	}
	if _, has := top["compile_config"]; !has {
		if _, has := top["build_config"]; !has {
			return m.Config, nil
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
	v := m.KerasVersion
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
	if err := kerasjson.DecodeNumbers(m.Compile, &raw); err != nil {
		return nil, fmt.Errorf("compile config: %w", err)
	}
	opt, isKeras3 := raw["optimizer"]
	if !isKeras3 && !keras2 {
		return m.Compile, nil
	}
	if keras2 {
		delete(raw, "optimizer")
		delete(raw, "optimizer_config")
		out := kerasjson.Ordered{}
		for _, k := range slices.Sorted(maps.Keys(raw)) {
			out = append(out, kerasjson.Field{k, raw[k]})
		}
		tr, err := train.NewOptimizer(m.OptimizerConfig)
		if err != nil {
			return nil, err
		}
		class := strings.TrimPrefix(m.OptimizerConfig.ClassName, "Custom>")
		if c, ok := kerasjson.Keras3OptimizerClass(class); ok {
			class = c
		}
		cfg := kerasjson.FloatsAsFloats(tr.GetConfig())
		delete(cfg, "loss_scale_factor")
		delete(cfg, "gradient_accumulation_steps")
		cfg["jit_compile"] = false
		cfg["is_legacy_optimizer"] = false
		if cfg["name"] == kerasjson.SnakeCase(class) {
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

// keras2ModelJSON serializes a model in Keras 2's (tf-keras) form
// (kerasjson.EncodeKeras2Model), refusing with an *UnsupportedError
// naming them all what tf-keras cannot load.
func keras2ModelJSON(spec *kerasjson.Model, trainable bool) ([]byte, error) {
	out, problems, err := kerasjson.EncodeKeras2Model(spec, trainable)
	if len(problems) > 0 {
		return nil, &UnsupportedError{Feature: "Keras2Compatible: " + strings.Join(problems, "; ")}
	}
	return out, err
}
