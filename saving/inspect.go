package saving

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/saving/legacyh5"
)

// Inspection is what a model file says about the model, read without
// loading its weights: the configuration, shapes, writer and compile
// settings, and parameter counts taken from the weight datasets' shapes.
type Inspection struct {
	Path         string
	Format       Format
	KerasVersion string // the writer's Keras version, when the file says
	Backend      string // the writer's backend, when the file says
	Name         string // the model's name
	ClassName    string // "Sequential", "Functional", or a subclassed model's class
	// Config is the parsed model configuration (nil for a subclassed
	// model, whose configuration holds no layer graph).
	Config *kerasjson.Model
	// TrainingConfig is what model.compile() recorded, or nil.
	TrainingConfig *kerasjson.TrainingConfig
	// Inputs are the model's inputs with their declared shapes.
	Inputs []TensorInfo
	// Outputs are the model's outputs with their inferred shapes; nil when
	// the model cannot be built (see Unsupported).
	Outputs []TensorInfo
	// Layers lists the model's layers as model.layers does.
	Layers []LayerInfo
	// Params counts parameters as model.summary() does when the model
	// builds; otherwise Total is the sum of the weight shapes stored in the
	// file and Trainable and NonTrainable are zero.
	Params ParamCounts
	// Unsupported lists the layers kerasrun cannot run; Load would fail
	// with a *layers.UnsupportedError naming them.
	Unsupported []layers.UnsupportedLayer
}

// LayerInfo describes one layer of an Inspection.
type LayerInfo struct {
	Name      string
	ClassName string
	// OutputShapes are the layer's output shapes at its first call, nil
	// when the model cannot be built.
	OutputShapes [][]int
	// Params is the layer's parameter count, from the file's weight shapes
	// when the file has weights, else from the built layer.
	Params int
}

// Inspect reads a model file's header: configuration, input and output
// shapes, writer version, compile configuration and parameter counts,
// without reading any weight data (only the weight datasets' shapes), as
// png.DecodeConfig reads an image's size. It works on models whose layers
// kerasrun cannot run, and lists those in Unsupported. For a model JSON,
// weights may name its weights file to count its parameters.
func Inspect(path, weights string) (*Inspection, error) {
	format, err := Detect(path)
	if err != nil {
		return nil, err
	}
	in := &Inspection{Path: path, Format: format}
	var cfg []byte
	var shapes weightShapes
	switch format {
	case FormatH5:
		f, err := h5.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		root := f.Root()
		s, err := legacyh5.StringAttr(root, "model_config")
		if errors.Is(err, h5.ErrNotFound) {
			return nil, fmt.Errorf("kerasrun: %s: HDF5 file has no model_config: it holds weights only", path)
		}
		if err != nil {
			return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
		}
		cfg = []byte(s)
		in.KerasVersion, _ = legacyh5.StringAttr(root, "keras_version")
		in.Backend, _ = legacyh5.StringAttr(root, "backend")
		if tc, err := legacyh5.StringAttr(root, "training_config"); err == nil {
			if in.TrainingConfig, err = kerasjson.ParseTrainingConfig([]byte(tc)); err != nil {
				return nil, fmt.Errorf("kerasrun: %s: training_config: %w", path, err)
			}
		}
		if wg, err := root.Group("model_weights"); err == nil {
			if shapes, err = legacyWeightShapes(wg); err != nil {
				return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
			}
		}
	case FormatKeras, FormatKerasDir:
		var a *Archive
		if format == FormatKeras {
			a, err = OpenZipFile(path)
		} else {
			a, err = OpenDir(path)
		}
		if err != nil {
			return nil, err
		}
		defer a.Close()
		if a.Config == nil {
			return nil, fmt.Errorf("kerasrun: %s: archive has no config.json", path)
		}
		cfg = a.Config
		var meta struct {
			KerasVersion string `json:"keras_version"`
		}
		if a.Metadata != nil && json.Unmarshal(a.Metadata, &meta) == nil {
			in.KerasVersion = meta.KerasVersion
		}
		var top struct {
			CompileConfig json.RawMessage `json:"compile_config"`
		}
		if json.Unmarshal(cfg, &top) == nil && len(top.CompileConfig) > 0 && string(top.CompileConfig) != "null" && string(top.CompileConfig) != "{}" {
			if in.TrainingConfig, err = kerasjson.ParseTrainingConfig(top.CompileConfig); err != nil {
				return nil, fmt.Errorf("kerasrun: %s: compile_config: %w", path, err)
			}
		}
		if err := a.OpenWeights(MaxInspectWeights); err != nil {
			return nil, err
		}
		if a.Weights != nil {
			shapes = keras3WeightShapes{store: H5Store{Root: a.Weights.Root()}}
		}
	case FormatJSON:
		if cfg, err = ReadCapped(path, MaxConfigBytes); err != nil {
			return nil, err
		}
		if weights != "" {
			ws, closer, err := openWeightShapes(weights)
			if err != nil {
				return nil, err
			}
			defer closer.Close()
			shapes = ws
		}
	}
	if err := in.fill(cfg, shapes); err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	return in, nil
}

// fill parses the configuration and builds what can be built.
func (in *Inspection) fill(cfg []byte, shapes weightShapes) error {
	spec, err := parseModel(cfg)
	var ue *layers.UnsupportedError
	if errors.As(err, &ue) {
		// A subclassed model: report it, with what the config says.
		in.Unsupported = ue.Layers
		if len(ue.Layers) > 0 {
			in.Name, in.ClassName = ue.Layers[0].Name, ue.Layers[0].ClassName
		}
		return nil
	}
	if err != nil {
		return err
	}
	in.Config, in.Name, in.ClassName = spec, spec.Name, spec.ClassName
	for _, ref := range spec.Inputs {
		for _, ls := range spec.Layers {
			if ls.Name == ref.Layer {
				shape, _, _ := ls.Config.Shape("batch_shape")
				in.Inputs = append(in.Inputs, TensorInfo{Name: ref.Layer, Shape: shape})
			}
		}
	}
	var net *layers.Model
	if q := quantizedLayers(spec, nil); len(q) > 0 {
		in.Unsupported = q
	} else if net, err = layers.NewModel(spec); errors.As(err, &ue) {
		in.Unsupported = ue.Layers
	} else if err != nil {
		return err
	}
	if net != nil {
		in.Outputs = TensorInfos(net.OutputNames, net.OutputShapes)
		in.Params = ModelParams(net)
	}
	fromFile := map[*kerasjson.Layer]int{}
	total := 0
	if shapes != nil {
		var err error
		if fromFile, total, err = shapes.counts(spec); err != nil {
			return err
		}
	}
	// By name: the graph leaves out what the file's config holds only to
	// compute Keras 3 masks (NotEqual, ...).
	built := map[string]layers.Layer{}
	if net != nil {
		for _, l := range layers.ModelLayers(net) {
			built[l.Common().Name] = l
		}
	}
	for _, ls := range specLayers(spec) {
		li := LayerInfo{Name: ls.Name, ClassName: ls.ClassName, Params: fromFile[ls]}
		if l, ok := built[ls.Name]; ok {
			li.OutputShapes = net.NodeShapes[l]
			if shapes == nil {
				li.Params = LayerParams(l).Total
			}
		}
		in.Layers = append(in.Layers, li)
	}
	if shapes != nil && net == nil {
		in.Params.Total = total
	}
	return nil
}

// specLayers lists a configuration's layers as model.layers does (a
// Sequential model leaves out its InputLayer), matching layers.ModelLayers.
func specLayers(spec *kerasjson.Model) []*kerasjson.Layer {
	var out []*kerasjson.Layer
	for _, ls := range spec.Layers {
		if ls.ClassName == "InputLayer" && spec.ClassName == "Sequential" {
			continue
		}
		out = append(out, ls)
	}
	return out
}

// weightShapes counts the parameters a weights file stores for each layer
// of a configuration, from dataset shapes only.
type weightShapes interface {
	counts(spec *kerasjson.Model) (map[*kerasjson.Layer]int, int, error)
}

// legacyShapes maps layer_names entries to their weight counts.
type legacyShapes map[string]int

func legacyWeightShapes(g *h5.Group) (legacyShapes, error) {
	counts, err := legacyh5.WeightCounts(g)
	return legacyShapes(counts), err
}

func (s legacyShapes) counts(spec *kerasjson.Model) (map[*kerasjson.Layer]int, int, error) {
	out := map[*kerasjson.Layer]int{}
	total := 0
	for _, ls := range specLayers(spec) {
		out[ls] = s[ls.Name]
	}
	for _, n := range s {
		total += n
	}
	return out, total, nil
}

// keras3WeightShapes walks a Keras 3 weights store by saving_lib paths.
type keras3WeightShapes struct{ store Store }

func (s keras3WeightShapes) counts(spec *kerasjson.Model) (map[*kerasjson.Layer]int, int, error) {
	out := map[*kerasjson.Layer]int{}
	top := map[string]*kerasjson.Layer{} // the model's layers by path
	total := 0
	err := walkConfig(spec, func(path string, ls *kerasjson.Layer) error {
		// A top-level layer is at layers/<name>; what is nested in it
		// counts towards it.
		key := path
		if i := strings.Index(path, "/"); i >= 0 {
			if j := strings.Index(path[i+1:], "/"); j >= 0 {
				key = path[:i+1+j]
			}
		}
		if key == path {
			top[path] = ls
		}
		if ls.Model != nil {
			return nil // a nested model: its layers hold its variables
		}
		n, err := s.varsSize(path)
		if err != nil {
			return err
		}
		out[top[key]] += n
		total += n
		return nil
	})
	return out, total, err
}

// varsSize sums the sizes of the datasets under <path>/vars, and of any
// nested objects' vars below path (a layer's own sub-layers).
func (s keras3WeightShapes) varsSize(path string) (int, error) {
	groups, err := s.store.Get(path)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, g := range groups {
		k, err := varsGroupSize(g)
		if err != nil {
			return 0, err
		}
		n += k
	}
	if h, ok := s.store.(H5Store); ok && path != "" {
		// Sub-objects of a layer (an LSTM's cell, a wrapper's layer) keep
		// their variables in groups below the layer's own path.
		if g, err := LookupGroup(h.Root, path); err == nil {
			sub, err := nestedVarsSize(g, 0)
			if err != nil {
				return 0, err
			}
			n += sub
		}
	}
	return n, nil
}

// varsGroupSize sums the sizes of the datasets of a vars group.
func varsGroupSize(vg *h5.Group) (int, error) {
	names, err := vg.Children()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		ds, err := vg.Dataset(name)
		if err != nil {
			return 0, err
		}
		k, err := runtime.CheckedShapeSize(ds.Shape(), legacyh5.MaxWeightElements)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// nestedVarsSize sums the datasets of every vars group below g other than
// g's own.
func nestedVarsSize(g *h5.Group, depth int) (int, error) {
	if depth > 32 {
		return 0, fmt.Errorf("%s: groups nested too deep", g.Path())
	}
	names, err := g.Children()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		if name == "vars" {
			if depth == 0 {
				continue
			}
			vg, err := g.Group(name)
			if err != nil {
				continue
			}
			k, err := varsGroupSize(vg)
			if err != nil {
				return 0, err
			}
			n += k
			continue
		}
		if isGroup, err := g.IsGroup(name); err != nil || !isGroup {
			continue
		}
		sub, err := g.Group(name)
		if err != nil {
			return 0, err
		}
		k, err := nestedVarsSize(sub, depth+1)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// openWeightShapes opens a weights file for Inspect.
func openWeightShapes(path string) (weightShapes, io.Closer, error) {
	format, err := Detect(path)
	if err != nil {
		return nil, nil, err
	}
	if format == FormatJSON {
		s, err := OpenSharded(path)
		if err != nil {
			return nil, nil, err
		}
		return keras3WeightShapes{store: s}, closerFunc(s.Close), nil
	}
	f, err := h5.Open(path)
	if err != nil {
		return nil, nil, err
	}
	root := f.Root()
	if _, err := root.Attr("layer_names"); err == nil {
		ls, err := legacyWeightShapes(root)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("kerasrun: %s: %w", path, err)
		}
		return ls, f, nil
	}
	if wg, err := root.Group("model_weights"); err == nil {
		ls, err := legacyWeightShapes(wg)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("kerasrun: %s: %w", path, err)
		}
		return ls, f, nil
	}
	return keras3WeightShapes{store: H5Store{Root: root}}, f, nil
}

type closerFunc func()

func (c closerFunc) Close() error { c(); return nil }

// String formats the inspection as a short report.
func (in *Inspection) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\nmodel %q (%s)", in.Path, in.Format, in.Name, in.ClassName)
	if in.KerasVersion != "" {
		fmt.Fprintf(&b, ", written by Keras %s", in.KerasVersion)
	}
	if in.Backend != "" {
		fmt.Fprintf(&b, " (%s backend)", in.Backend)
	}
	b.WriteString("\n")
	for _, t := range in.Inputs {
		fmt.Fprintf(&b, "input  %s %s\n", t.Name, runtime.FormatShape(t.Shape))
	}
	for _, t := range in.Outputs {
		fmt.Fprintf(&b, "output %s %s\n", t.Name, runtime.FormatShape(t.Shape))
	}
	for _, l := range in.Layers {
		var ss []string
		for _, s := range l.OutputShapes {
			ss = append(ss, runtime.FormatShape(s))
		}
		fmt.Fprintf(&b, "  %-28s %-20s %-24s %d\n", l.Name, l.ClassName, strings.Join(ss, ", "), l.Params)
	}
	fmt.Fprintf(&b, "params: %d", in.Params.Total)
	if len(in.Unsupported) == 0 && in.Config != nil {
		fmt.Fprintf(&b, " (trainable %d, non-trainable %d)", in.Params.Trainable, in.Params.NonTrainable)
	}
	b.WriteString("\n")
	if in.TrainingConfig != nil && in.TrainingConfig.Optimizer != nil {
		fmt.Fprintf(&b, "compiled with optimizer %s\n", in.TrainingConfig.Optimizer.ClassName)
	}
	for _, u := range in.Unsupported {
		fmt.Fprintf(&b, "cannot run %s (%s): %s\n", u.Name, u.ClassName, u.Reason)
	}
	return b.String()
}
