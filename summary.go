package kerasrun

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kerasrun/kerasrun/internal/summary"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/saving"
	"github.com/kerasrun/kerasrun/train"
)

// ParamCounts are a model's parameter counts as model.summary() reports
// them.
type ParamCounts = saving.ParamCounts

// Params counts the model's parameters.
func (m *Model) Params() ParamCounts { return saving.ModelParams(m.net) }

func layerParams(l layers.Layer) ParamCounts { return saving.LayerParams(l) }

// SummaryOptions are the arguments of Keras's model.summary() and the
// terminal it prints to.
type SummaryOptions struct {
	// LineLength is line_length: the table's width. 0 takes Keras's
	// default, 88 (108 when the table has a "Connected to" column, 12
	// more with ShowTrainable), narrowed to Columns - 4.
	LineLength int
	// Columns is the terminal width Keras would see (COLUMNS, else the
	// terminal's, else 80 when the output is not a terminal): it narrows
	// the default line length and cuts longer lines, as rich's console
	// does. 0 is a terminal wide enough for any table.
	Columns int
	// ExpandNested lists the layers of nested models under them.
	ExpandNested bool
	// ShowTrainable adds a column saying whether each layer is trainable.
	ShowTrainable bool
}

// WriteSummary writes the text of Keras 3's model.summary() for the model
// as Keras has it after loading the file: the layer table (with
// "Connected to" for a Functional model that is not a plain chain), the
// parameter counts with their sizes, and the optimizer's variables when
// Keras builds the optimizer on loading (a compiled .keras file; a legacy
// .h5 with optimizer weights, for which Keras 3 builds an optimizer
// holding only its iteration count and learning rate).
func (m *Model) WriteSummary(w io.Writer, o SummaryOptions) error {
	m.mu.RLock()
	sm, err := m.summaryModel()
	m.mu.RUnlock()
	if err != nil {
		return err
	}
	if err := summary.Write(w, sm, summary.Options(o)); err != nil {
		return fmt.Errorf("kerasrun: %s: summary: %w", m.info.Path, err)
	}
	return nil
}

// writeSummary is Summary: Keras's defaults on a wide terminal.
func writeSummary(w io.Writer, m *Model) error { return m.WriteSummary(w, SummaryOptions{}) }

// summaryModel describes m as print_summary reads a Keras model.
func (m *Model) summaryModel() (*summary.Model, error) {
	f := m.f
	sm := &summary.Model{Name: f.Spec.Name}
	if sm.Name == "" {
		// Keras names an unnamed model after its class in a fresh session.
		sm.Name = strings.ToLower(f.Spec.ClassName)
	}
	net := m.net
	if spec := keras3LegacyInput(f.Spec, f.RawConfig); spec != nil {
		if shifted, err := layers.NewModel(spec); err == nil {
			net = shifted
		}
	}
	v := newKerasView(f.Spec, net)
	v.recorded = recordedShapes(f.RawConfig)
	sm.SequentialLike = v.sequentialLike()
	sm.Layers = v.rows(true, true)

	seen := map[*runtime.Variable]bool{}
	for _, wv := range layers.WalkVariables(net) {
		if seen[wv.V] {
			continue
		}
		seen[wv.V] = true
		c := &sm.NonTrainable
		if wv.Trainable {
			c = &sm.Trainable
		}
		c.Params += int64(wv.V.Value.Size())
		c.Bytes += float64(int64(wv.V.Value.Size())*int64(variableBits(wv))) / 8
	}
	opt, err := m.summaryOptimizer()
	if err != nil {
		return nil, err
	}
	sm.Optimizer = opt
	return sm, nil
}

// summaryOptimizer counts the optimizer variables Keras 3 has built right
// after loading the model's file: for a compiled .keras file, the
// optimizer built on the trainable variables (compile_from_config builds
// it); for a legacy .h5 with optimizer weights, legacy_h5_format's
// optimizer.build(model._trainable_variables), a list that is empty for a
// Sequential or Functional model, so only the iteration count and learning
// rate exist. A model trained here has its optimizer counted as built.
func (m *Model) summaryOptimizer() (*summary.Count, error) {
	f := m.f
	vars, paths := layers.TrainableVariables(m.net)
	var opt train.Optimizer
	optConfig := f.OptimizerConfig()
	switch {
	case m.info.Format == FormatH5 && f.Training != nil && (f.Optimizer != nil || f.OptimizerSkipped != ""):
		vars, paths = nil, nil
	case f.Optimizer != nil:
		opt = f.Optimizer
	case (m.info.Format == FormatKeras || m.info.Format == FormatKerasDir) && f.Training != nil:
	case m.info.Format == FormatJSON:
		// model_from_json compiles a model whose JSON has a
		// compile_config, and builds its optimizer.
		tc, err := jsonCompileConfig(f.RawConfig)
		if err != nil {
			return nil, fmt.Errorf("kerasrun: %s: compile_config: %w", m.info.Path, err)
		}
		if tc == nil {
			return nil, nil
		}
		if tc.Optimizer != nil {
			optConfig = tc.Optimizer
		}
	default:
		return nil, nil
	}
	if opt == nil {
		fresh, err := train.NewOptimizer(optConfig)
		if err != nil {
			return nil, fmt.Errorf("kerasrun: %s: optimizer: %w", m.info.Path, err)
		}
		if err := fresh.Build(vars, paths); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: optimizer: %w", m.info.Path, err)
		}
		opt = fresh
	}
	// A slot takes its variable's dtype (add_variable_from_reference);
	// the iteration count is an int64, the other scalars float32.
	refBits := make(map[string]int, len(paths))
	for i, p := range paths {
		refBits[strings.ReplaceAll(p, "/", "_")+"_"] = dtypeBitsOf(vars[i], m.net)
	}
	c := &summary.Count{}
	for i, v := range opt.Variables() {
		b := 32
		if i == 0 {
			b = 64 // iterations
		} else if rb, ok := longestPrefix(refBits, v.Name); ok {
			b = rb
		}
		c.Params += int64(v.Value.Size())
		c.Bytes += float64(int64(v.Value.Size())*int64(b)) / 8
	}
	return c, nil
}

// jsonCompileConfig is the compile_config of a Keras 3 to_json() text, nil
// when there is none.
func jsonCompileConfig(raw []byte) (*kerasjson.TrainingConfig, error) {
	var top struct {
		CompileConfig json.RawMessage `json:"compile_config"`
	}
	if json.Unmarshal(raw, &top) != nil || len(top.CompileConfig) == 0 {
		return nil, nil
	}
	var probe map[string]any
	if json.Unmarshal(top.CompileConfig, &probe) != nil || len(probe) == 0 {
		return nil, nil
	}
	return kerasjson.ParseTrainingConfig(top.CompileConfig)
}

func longestPrefix(m map[string]int, name string) (int, bool) {
	best, bits := -1, 0
	for p, b := range m {
		if len(p) > best && strings.HasPrefix(name, p) {
			best, bits = len(p), b
		}
	}
	return bits, best >= 0
}

// dtypeBitsOf is the dtype width of model variable v.
func dtypeBitsOf(v *runtime.Variable, net *layers.Model) int {
	for _, wv := range layers.WalkVariables(net) {
		if wv.V == v {
			return variableBits(wv)
		}
	}
	return 32
}

// variableBits is the width of a weight's dtype: its layer's variable
// dtype, except Normalization's sample count, an int64.
func variableBits(wv layers.Variable) int {
	if wv.V.Name == "count" && wv.Owner.Common().ClassName == "Normalization" {
		return 64
	}
	return dtypeBits(wv.Owner.Common().Config)
}

// dtypePolicyName is the name of a layer config's dtype policy: the
// "dtype" string of Keras 2 and early Keras 3, or the name inside Keras
// 3's DTypePolicy object; "" when there is none.
func dtypePolicyName(cfg kerasjson.Config) string {
	switch d := cfg["dtype"].(type) {
	case string:
		return d
	case map[string]any:
		if c, ok := d["config"].(map[string]any); ok {
			name, _ := c["name"].(string)
			return name
		}
	}
	return ""
}

// dtypeBits is the width of the variables of a layer with this config:
// its dtype policy's variable dtype (float32 for the mixed policies).
func dtypeBits(cfg kerasjson.Config) int {
	switch dtypePolicyName(cfg) {
	case "float64", "int64", "uint64", "complex64":
		return 64
	case "float16", "bfloat16", "int16", "uint16":
		return 16
	case "int8", "uint8", "bool":
		return 8
	}
	return 32
}

// kerasView is a model's graph as Keras 3 builds it from the
// configuration: its operations (layers, and keras.ops calls) in Keras's
// order and their call nodes.
type kerasView struct {
	spec   *kerasjson.Model
	net    *layers.Model
	byName map[string]layers.Layer
	specs  map[string]*kerasjson.Layer
	// ops are model._operations (for a Sequential model, model.layers).
	ops []*kerasjson.Layer
	// inGraph holds the nodes of model._nodes_by_depth, by depth.
	inGraph map[nodeKey]int
	// recorded are the tensor shapes a Keras 3 config records where
	// tensors are passed, for the operations that do not run here (the
	// mask computations the graph drops).
	recorded map[tensorKey]recordedTensor
}

// recordedTensor is what a config says of a tensor passed to a call.
type recordedTensor struct {
	shape []int
	dtype string
}

// tensorKey names a tensor of a model's graph: the model, and the
// keras_history of the tensor.
type tensorKey struct {
	model, layer string
	node, tensor int
}

type nodeKey struct {
	layer string
	index int
}

func newKerasView(spec *kerasjson.Model, net *layers.Model) *kerasView {
	v := &kerasView{spec: spec, net: net, byName: map[string]layers.Layer{}, specs: map[string]*kerasjson.Layer{}}
	if net != nil {
		for _, l := range net.Layers {
			if l != nil {
				v.byName[l.Common().Name] = l
			}
		}
	}
	for _, ls := range spec.Layers {
		v.specs[ls.Name] = ls
	}
	if spec.ClassName == "Sequential" {
		for i, ls := range spec.Layers {
			if i == 0 && ls.ClassName == "InputLayer" {
				continue
			}
			v.ops = append(v.ops, ls)
		}
		return v
	}
	v.mapGraph()
	return v
}

// nodeInputs are node.input_tensors: the tensors of the positional
// arguments, then those of the keyword arguments in key order (Keras
// flattens the call's (args, kwargs)).
func nodeInputs(n kerasjson.Node) []kerasjson.TensorRef {
	var refs []kerasjson.TensorRef
	for _, a := range n.Args {
		if a.Layer != kerasjson.ConstantValue {
			refs = append(refs, a)
		}
	}
	keys := make([]string, 0, len(n.Kwargs))
	for k := range n.Kwargs {
		if k != kerasjson.ConstantValue {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var flatten func(v any)
	flatten = func(v any) {
		switch t := v.(type) {
		case kerasjson.TensorRef:
			refs = append(refs, t)
		case []kerasjson.TensorRef:
			refs = append(refs, t...)
		case []any:
			for _, e := range t {
				flatten(e)
			}
		}
	}
	for _, k := range keys {
		flatten(n.Kwargs[k])
	}
	return refs
}

// mapGraph is keras.src.ops.function.map_graph: a depth-first walk from
// the outputs gives each node a depth (the longest path to an output) and
// each operation its first traversal index; the operations are listed by
// decreasing depth, then traversal order.
func (v *kerasView) mapGraph() {
	inputs := map[kerasjson.TensorRef]bool{}
	for _, r := range v.spec.Inputs {
		inputs[r] = true
	}
	isInput := func(k nodeKey) bool {
		ls := v.specs[k.layer]
		return ls != nil && ls.ClassName == "InputLayer"
	}
	parents := func(k nodeKey) []kerasjson.TensorRef {
		ls := v.specs[k.layer]
		if ls == nil || isInput(k) || k.index >= len(ls.Inbound) {
			return nil
		}
		return nodeInputs(ls.Inbound[k.index])
	}
	finished, inProgress := map[nodeKey]bool{}, map[nodeKey]bool{}
	var ordered []nodeKey
	opIndex := map[string]int{}
	var visit func(r kerasjson.TensorRef)
	visit = func(r kerasjson.TensorRef) {
		k := nodeKey{r.Layer, r.NodeIndex}
		if v.specs[r.Layer] == nil || finished[k] {
			return
		}
		if !isInput(k) && inputs[r] {
			finished[k] = true
			return
		}
		if inProgress[k] {
			return // a cycle: the model did not load
		}
		if _, ok := opIndex[r.Layer]; !ok {
			opIndex[r.Layer] = len(opIndex)
		}
		inProgress[k] = true
		for _, p := range parents(k) {
			visit(p)
		}
		finished[k] = true
		delete(inProgress, k)
		ordered = append(ordered, k)
	}
	for _, r := range v.spec.Outputs {
		visit(r)
	}
	inGraph := map[nodeKey]bool{}
	for _, k := range ordered {
		inGraph[k] = true
	}
	nodeDepth := map[nodeKey]int{}
	opDepth := map[string]int{}
	var opOrder []string // operations_depths' insertion order
	for i := len(ordered) - 1; i >= 0; i-- {
		k := ordered[i]
		d := nodeDepth[k]
		prev, seen := opDepth[k.layer]
		if !seen {
			opOrder = append(opOrder, k.layer)
		}
		d = max(d, prev)
		opDepth[k.layer] = d
		nodeDepth[k] = d
		for _, p := range parents(k) {
			pk := nodeKey{p.Layer, p.NodeIndex}
			if inGraph[pk] {
				nodeDepth[pk] = max(d+1, nodeDepth[pk])
			}
		}
	}
	for _, r := range v.spec.Inputs {
		k := nodeKey{r.Layer, r.NodeIndex}
		if _, ok := opDepth[r.Layer]; !ok && v.specs[r.Layer] != nil && isInput(k) {
			opDepth[r.Layer] = 0
			opIndex[r.Layer] = -1
			nodeDepth[k] = 0
			opOrder = append(opOrder, r.Layer)
		}
	}
	sort.SliceStable(opOrder, func(i, j int) bool {
		a, b := opOrder[i], opOrder[j]
		if opDepth[a] != opDepth[b] {
			return opDepth[a] > opDepth[b]
		}
		return opIndex[a] < opIndex[b]
	})
	for _, name := range opOrder {
		v.ops = append(v.ops, v.specs[name])
	}
	v.inGraph = nodeDepth
}

// sequentialLike is print_summary's test: a Sequential model, or a
// Functional one with one node per depth, no node with several inputs,
// and no layer called twice.
func (v *kerasView) sequentialLike() bool {
	if v.spec.ClassName == "Sequential" {
		return true
	}
	perDepth := map[int][]nodeKey{}
	for k, d := range v.inGraph {
		perDepth[d] = append(perDepth[d], k)
	}
	calls := map[string]int{}
	for _, nodes := range perDepth {
		if len(nodes) > 1 {
			return false
		}
		k := nodes[0]
		if ls := v.specs[k.layer]; ls != nil && ls.ClassName != "InputLayer" && k.index < len(ls.Inbound) && len(nodeInputs(ls.Inbound[k.index])) > 1 {
			return false
		}
		calls[k.layer]++
		if calls[k.layer] > 1 {
			return false
		}
	}
	return true
}

// isOperation reports whether ls is a keras.ops call rather than a Layer:
// it has no weights, no built flag, and a nested Functional model's
// layers leave it out.
func isOperation(ls *kerasjson.Layer) bool {
	return strings.HasPrefix(ls.Module, "keras.src.ops") || ls.ClassName == "TFOpLambda" || ls.ClassName == "SlicingOpLambda"
}

// rows are the table's rows for the model's layers. top says whether
// these are the rows of the model being summarized (whose connections are
// shown); all says whether operations are listed (model._operations)
// rather than only the layers (model.layers of a nested model).
func (v *kerasView) rows(top, all bool) []summary.Layer {
	var out []summary.Layer
	for _, ls := range v.ops {
		if !all && isOperation(ls) {
			continue
		}
		l := v.byName[ls.Name]
		row := summary.Layer{Name: ls.Name, ClassName: pythonClassName(ls.ClassName), Shape: v.shapeOf(ls, l), Trainable: "-"}
		if l != nil {
			vars := layers.WalkVariables(l)
			for _, wv := range vars {
				row.Params += int64(wv.V.Value.Size())
			}
			if len(vars) > 0 {
				row.Trainable = "N"
				// Sequential.from_config does not restore the model's
				// own trainable flag (its layers keep theirs).
				if l.Common().Trainable || ls.ClassName == "Sequential" {
					row.Trainable = "Y"
				}
			}
		}
		if top && v.spec.ClassName != "Sequential" {
			for k, n := range ls.Inbound {
				if _, ok := v.inGraph[nodeKey{ls.Name, k}]; !ok {
					continue
				}
				for _, r := range nodeInputs(n) {
					row.Connections = append(row.Connections, fmt.Sprintf("%s[%d][%d]", r.Layer, r.NodeIndex, r.TensorIndex))
				}
			}
		}
		if ls.Model != nil {
			sub, _ := l.(*layers.Model)
			nv := newKerasView(ls.Model, sub)
			nv.recorded = v.recorded
			row.Layers = nv.rows(false, false)
		}
		out = append(out, row)
	}
	return out
}

// shapeOf formats a layer's output shapes as format_layer_shape does.
func (v *kerasView) shapeOf(ls *kerasjson.Layer, l layers.Layer) string {
	var shapes [][]int
	if l != nil && v.net != nil {
		shapes = v.net.NodeShapes[l]
	}
	if shapes == nil {
		for t := 0; ; t++ {
			rt, ok := v.recorded[tensorKey{v.spec.Name, ls.Name, len(ls.Inbound) - 1, t}]
			if !ok {
				break
			}
			shapes = append(shapes, rt.shape)
		}
	}
	// format_layer_shape prints a rank-1 shape as "(None)", not as the
	// Python tuple "(None,)" plot_model shows.
	return formatShapes(shapes, false)
}

// pythonClassNames maps Keras 3's exported aliases to the class names
// (layer.__class__.__name__) that the summary prints.
var pythonClassNames = map[string]string{
	"AvgPool1D":              "AveragePooling1D",
	"AvgPool2D":              "AveragePooling2D",
	"AvgPool3D":              "AveragePooling3D",
	"Convolution1D":          "Conv1D",
	"Convolution2D":          "Conv2D",
	"Convolution3D":          "Conv3D",
	"Convolution1DTranspose": "Conv1DTranspose",
	"Convolution2DTranspose": "Conv2DTranspose",
	"Convolution3DTranspose": "Conv3DTranspose",
	"GlobalAvgPool1D":        "GlobalAveragePooling1D",
	"GlobalAvgPool2D":        "GlobalAveragePooling2D",
	"GlobalAvgPool3D":        "GlobalAveragePooling3D",
	"GlobalMaxPool1D":        "GlobalMaxPooling1D",
	"GlobalMaxPool2D":        "GlobalMaxPooling2D",
	"GlobalMaxPool3D":        "GlobalMaxPooling3D",
	"GroupQueryAttention":    "GroupedQueryAttention",
	"MaxPool1D":              "MaxPooling1D",
	"MaxPool2D":              "MaxPooling2D",
	"MaxPool3D":              "MaxPooling3D",
	"SeparableConvolution1D": "SeparableConv1D",
	"SeparableConvolution2D": "SeparableConv2D",
}

func pythonClassName(class string) string {
	if n, ok := pythonClassNames[class]; ok {
		return n
	}
	return class
}

// recordedShapes collects the shapes of the __keras_tensor__ arguments of
// a Keras 3 model config, keyed by the model that holds the call and the
// tensor's keras_history. Older configs record none.
func recordedShapes(raw []byte) map[tensorKey]recordedTensor {
	var top any
	if json.Unmarshal(raw, &top) != nil {
		return nil
	}
	out := map[tensorKey]recordedTensor{}
	var walk func(v any, model string)
	walk = func(v any, model string) {
		switch t := v.(type) {
		case []any:
			for _, e := range t {
				walk(e, model)
			}
		case map[string]any:
			if t["class_name"] == "__keras_tensor__" {
				cfg, _ := t["config"].(map[string]any)
				hist, _ := cfg["keras_history"].([]any)
				dims, _ := cfg["shape"].([]any)
				if len(hist) == 3 {
					name, _ := hist[0].(string)
					node, _ := hist[1].(float64)
					tensor, _ := hist[2].(float64)
					shape := make([]int, len(dims))
					for i, d := range dims {
						shape[i] = -1
						if f, ok := d.(float64); ok {
							shape[i] = int(f)
						}
					}
					dtype, _ := cfg["dtype"].(string)
					out[tensorKey{model, name, int(node), int(tensor)}] = recordedTensor{shape, dtype}
				}
				return
			}
			for k, e := range t {
				inner := model
				if cfg, ok := e.(map[string]any); ok && k == "config" {
					if _, isModel := cfg["layers"]; isModel {
						inner, _ = cfg["name"].(string)
					}
				}
				walk(e, inner)
			}
		}
	}
	walk(top, "")
	return out
}

// keras3LegacyInput returns the model as Keras 3 builds a legacy
// Sequential config whose first layer declares batch_input_shape (Keras
// up to 2.3 wrote no InputLayer): Keras 3's legacy loader
// (saving_utils.model_from_config) passes that batch shape as the layer's
// input_shape, so the model's input gets a second batch axis, (None,
// None, 4) for a batch_input_shape of [null, 4], and every output shape
// one too. It returns nil for any other model.
func keras3LegacyInput(spec *kerasjson.Model, raw []byte) *kerasjson.Model {
	if spec.ClassName != "Sequential" || len(spec.Layers) < 2 || spec.Layers[0].ClassName != "InputLayer" {
		return nil
	}
	var top struct {
		ClassName string `json:"class_name"`
		Config    struct {
			Layers []struct {
				ClassName string          `json:"class_name"`
				Module    json.RawMessage `json:"module"`
				Config    struct {
					BatchInputShape []any `json:"batch_input_shape"`
				} `json:"config"`
			} `json:"layers"`
		} `json:"config"`
	}
	if json.Unmarshal(raw, &top) != nil || top.ClassName != "Sequential" || len(top.Config.Layers) == 0 {
		return nil
	}
	first := top.Config.Layers[0]
	if first.ClassName == "InputLayer" || first.Module != nil || first.Config.BatchInputShape == nil {
		return nil
	}
	in := *spec.Layers[0]
	in.Config = kerasjson.Config{}
	for k, v := range spec.Layers[0].Config {
		in.Config[k] = v
	}
	in.Config["batch_shape"] = append([]any{nil}, first.Config.BatchInputShape...)
	out := *spec
	out.Layers = append([]*kerasjson.Layer{&in}, spec.Layers[1:]...)
	return &out
}
