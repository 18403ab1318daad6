package layers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Model is a Sequential or Functional model: a graph of layer calls. It is
// itself a Layer, so models nest.
type Model struct {
	Base
	// Layers in configuration order, InputLayers included.
	Layers []Layer
	// InputNames and OutputNames name the model's inputs (their
	// InputLayers) and outputs (the producing layers), in Keras's order.
	InputNames, OutputNames []string
	// InputShapes and OutputShapes are the shapes inferred at build time,
	// -1 for unknown dimensions (the batch).
	InputShapes, OutputShapes [][]int
	// NodeShapes holds each layer's output shapes at its first call.
	NodeShapes map[Layer][][]int

	graph runtime.Graph
	// infer is the graph rewritten for inference (fuse.go), made on the
	// first forward pass without training or gradients.
	inferOnce sync.Once
	infer     *runtime.Graph
	// buffers recycles the inference graph's activations across calls.
	buffers *runtime.Buffers
}

// Children returns the model's layers.
func (m *Model) Children() []Layer { return m.Layers }

// Weights returns nothing: a model's variables belong to its layers.
func (m *Model) Weights() []*runtime.Variable { return nil }

// valueKey names the output tensor of one layer call.
type valueKey struct {
	layer       string
	node, index int
}

// NewModel builds a model and all its layers from a configuration and
// infers every shape. Layers that cannot run are all reported in one
// *UnsupportedError.
func NewModel(spec *kerasjson.Model) (*Model, error) {
	spec = withoutMaskOps(spec)
	m := &Model{Base: Base{Name: spec.Name, ClassName: spec.ClassName, Trainable: true, Config: kerasjson.Config{}}}
	var unsupported []UnsupportedLayer
	m.build(spec, &unsupported)
	for _, u := range unsupported {
		if u.malformed != nil {
			return nil, u.malformed // a malformed config is not an unsupported feature
		}
	}
	if len(unsupported) > 0 {
		return nil, &UnsupportedError{Layers: unsupported}
	}
	if err := m.connect(spec); err != nil {
		return nil, err
	}
	return m, nil
}

// build instantiates the layers, collecting the ones that cannot run.
func (m *Model) build(spec *kerasjson.Model, unsupported *[]UnsupportedLayer) {
	for _, ls := range spec.Layers {
		if ls.Model != nil {
			sub := &Model{Base: Base{Name: ls.Name, ClassName: ls.ClassName, Trainable: true, Config: ls.Config, Spec: ls}}
			if t, err := ls.Config.Bool("trainable", true); err == nil {
				sub.Trainable = t
			}
			n := len(*unsupported)
			subSpec := withoutMaskOps(ls.Model)
			sub.build(subSpec, unsupported)
			if len(*unsupported) == n {
				if err := sub.connect(subSpec); err != nil {
					*unsupported = append(*unsupported, UnsupportedLayer{Name: ls.Name, ClassName: ls.ClassName, Reason: err.Error()})
				}
			}
			m.Layers = append(m.Layers, sub)
			continue
		}
		f, ok := Lookup(ls)
		if !ok {
			*unsupported = append(*unsupported, UnsupportedLayer{Name: ls.Name, ClassName: ls.ClassName,
				RegisteredName: ls.RegisteredName, Reason: unsupportedReason(ls)})
			m.Layers = append(m.Layers, nil)
			continue
		}
		l, err := f(ls)
		if err != nil {
			u := UnsupportedLayer{Name: ls.Name, ClassName: ls.ClassName, RegisteredName: ls.RegisteredName, Reason: reasonOf(ls, err)}
			errors.As(err, &u.malformed)
			*unsupported = append(*unsupported, u)
		}
		m.Layers = append(m.Layers, l)
	}
}

// reasonOf is a factory's error without the "layer name (Class): " its
// message starts with when the factory runs alone: UnsupportedError names
// the layer already, so the reason says it once.
func reasonOf(ls *kerasjson.Layer, err error) string {
	return strings.TrimPrefix(err.Error(), fmt.Sprintf("layer %s (%s): ", ls.Name, ls.ClassName))
}

func unsupportedReason(ls *kerasjson.Layer) string {
	switch {
	case isOperation(ls):
		return "no implementation of the operation " + operationName(ls)
	case ls.ClassName == "Lambda":
		return "a Lambda layer holds Python code, which cannot run outside Python; register a Go implementation under its layer name with layers.Register(" + fmt.Sprintf("%q", ls.Name) + ", ...)"
	case ls.RegisteredName != "" && ls.Module != "" && !strings.HasPrefix(ls.Module, "keras."):
		return "custom class; register a Go implementation with layers.Register(" + fmt.Sprintf("%q", ls.RegisteredName) + ", ...)"
	}
	return "no implementation of this layer class; register one with layers.Register"
}

// connect turns the layer calls into the execution graph, in topological
// order, building each layer for the shapes that reach it.
func (m *Model) connect(spec *kerasjson.Model) error {
	byName := make(map[string]Layer, len(m.Layers))
	specs := make(map[string]*kerasjson.Layer, len(spec.Layers))
	for i, ls := range spec.Layers {
		if _, dup := byName[ls.Name]; dup {
			return fmt.Errorf("model %s: two layers named %q", spec.Name, ls.Name)
		}
		byName[ls.Name] = m.Layers[i]
		specs[ls.Name] = ls
	}
	m.NodeShapes = make(map[Layer][][]int)
	values := map[valueKey]int{}
	shapes := [][]int{}
	newValue := func(k valueKey, shape []int) int {
		values[k] = len(shapes)
		shapes = append(shapes, shape)
		return values[k]
	}

	// Model inputs: each names an InputLayer, whose node 0 is the input.
	for _, ref := range spec.Inputs {
		il, ok := byName[ref.Layer].(*InputLayer)
		if !ok {
			return fmt.Errorf("model %s: input %q is not an InputLayer", spec.Name, ref.Layer)
		}
		v := newValue(valueKey{ref.Layer, 0, 0}, copyShape(il.BatchShape))
		m.graph.Inputs = append(m.graph.Inputs, v)
		m.InputNames = append(m.InputNames, ref.Layer)
		m.InputShapes = append(m.InputShapes, copyShape(il.BatchShape))
		m.NodeShapes[il] = [][]int{copyShape(il.BatchShape)}
	}

	type call struct {
		spec     *kerasjson.Layer
		node     int
		args     []valueKey
		kwargs   map[string]any
		callNode kerasjson.Node
	}
	var pending []call
	if spec.ClassName == "Sequential" {
		if len(spec.Inputs) != 1 {
			return fmt.Errorf("model %s: a Sequential model needs one input shape, and this one was saved before it was built (no input shape in the file)", spec.Name)
		}
		prev := valueKey{spec.Inputs[0].Layer, 0, 0}
		for _, ls := range spec.Layers {
			if ls.ClassName == "InputLayer" {
				continue
			}
			pending = append(pending, call{spec: ls, args: []valueKey{prev}})
			prev = valueKey{ls.Name, 0, 0}
		}
	} else {
		for _, ls := range spec.Layers {
			for k, n := range ls.Inbound {
				extra, err := tensorKwargs(byName[ls.Name], ls, n)
				if err != nil {
					return err
				}
				c := call{spec: ls, node: k, kwargs: n.Kwargs}
				c.callNode = n
				for _, a := range append(append([]kerasjson.TensorRef(nil), n.Args...), extra...) {
					if a.Layer == kerasjson.ConstantValue {
						continue // an operation's constant argument (NodeLayer)
					}
					c.args = append(c.args, valueKey{a.Layer, a.NodeIndex, a.TensorIndex})
				}
				pending = append(pending, c)
			}
		}
	}

	// Place calls whose arguments exist, until none are left.
	for len(pending) > 0 {
		progress := false
		rest := pending[:0]
		for _, c := range pending {
			ready := true
			for _, a := range c.args {
				if _, ok := values[a]; !ok {
					ready = false
					break
				}
			}
			if !ready {
				rest = append(rest, c)
				continue
			}
			progress = true
			l := byName[c.spec.Name]
			op, err := bindCall(l, c.callNode, c.kwargs)
			if err != nil {
				return err
			}
			in := make([][]int, len(c.args))
			node := runtime.Node{Name: l.Common().String(), Op: op, Mask: MaskFuncOf(op)}
			for i, a := range c.args {
				node.In = append(node.In, values[a])
				in[i] = shapes[values[a]]
			}
			out, err := op.Build(in)
			if err != nil {
				return err
			}
			if _, seen := m.NodeShapes[l]; !seen {
				m.NodeShapes[l] = out
			}
			for t, s := range out {
				node.Out = append(node.Out, newValue(valueKey{c.spec.Name, c.node, t}, s))
			}
			m.graph.Nodes = append(m.graph.Nodes, node)
		}
		pending = rest
		if !progress {
			var names []string
			for _, c := range pending {
				names = append(names, fmt.Sprintf("%s (node %d)", c.spec.Name, c.node))
			}
			return fmt.Errorf("model %s: calls whose inputs are never computed: %s", spec.Name, strings.Join(names, ", "))
		}
	}

	outs := spec.Outputs
	for _, ref := range outs {
		v, ok := values[valueKey{ref.Layer, ref.NodeIndex, ref.TensorIndex}]
		if !ok {
			return fmt.Errorf("model %s: output %s[%d][%d] is never computed", spec.Name, ref.Layer, ref.NodeIndex, ref.TensorIndex)
		}
		m.graph.Outputs = append(m.graph.Outputs, v)
		m.OutputNames = append(m.OutputNames, ref.Layer)
		m.OutputShapes = append(m.OutputShapes, shapes[v])
	}
	m.graph.NumValues = len(shapes)
	return m.graph.Finish()
}

// withoutMaskOps returns a Functional model's configuration without the
// mask computations Keras 3 records in it. Keras 3 serializes the masks it
// passed implicitly as explicit "mask" call arguments, computed by
// operations (NotEqual, Any, LogicalOr, ConvertToTensor, ...) that are not
// layers of the model. The graph propagates masks itself, the same way
// Keras computed those (Embedding, Masking, compute_mask), so the mask
// arguments are dropped, with the operations that only feed them.
func withoutMaskOps(spec *kerasjson.Model) *kerasjson.Model {
	if spec.ClassName == "Sequential" {
		return spec
	}
	isMaskRef := func(k string, v any) bool {
		_, ok := v.(kerasjson.TensorRef)
		return k == "mask" && ok
	}
	// Candidates: the layers the mask arguments reach, backwards.
	byName := map[string]*kerasjson.Layer{}
	for _, ls := range spec.Layers {
		byName[ls.Name] = ls
	}
	candidate := map[string]bool{}
	var reach func(name string)
	reach = func(name string) {
		ls, ok := byName[name]
		if !ok || candidate[name] || ls.ClassName == "InputLayer" || ls.Model != nil {
			return
		}
		candidate[name] = true
		for _, n := range ls.Inbound {
			for _, a := range n.Args {
				reach(a.Layer)
			}
		}
	}
	found := false
	for _, ls := range spec.Layers {
		for _, n := range ls.Inbound {
			for k, v := range n.Kwargs {
				if isMaskRef(k, v) {
					reach(v.(kerasjson.TensorRef).Layer)
					found = true
				}
			}
		}
	}
	if !found {
		return spec
	}
	for _, o := range spec.Outputs {
		delete(candidate, o.Layer)
	}
	// Keep a candidate that a positional argument of a kept layer reads.
	for changed := true; changed; {
		changed = false
		for _, ls := range spec.Layers {
			if candidate[ls.Name] {
				continue
			}
			for _, n := range ls.Inbound {
				refs := append([]kerasjson.TensorRef(nil), n.Args...)
				for k, v := range n.Kwargs {
					switch r := v.(type) {
					case kerasjson.TensorRef:
						if k != "mask" {
							refs = append(refs, r)
						}
					case []kerasjson.TensorRef:
						refs = append(refs, r...)
					}
				}
				for _, a := range refs {
					if candidate[a.Layer] {
						delete(candidate, a.Layer)
						changed = true
					}
				}
			}
		}
	}
	out := *spec
	out.Layers = nil
	for _, ls := range spec.Layers {
		if candidate[ls.Name] {
			continue
		}
		c := *ls
		c.Inbound = make([]kerasjson.Node, len(ls.Inbound))
		for i, n := range ls.Inbound {
			c.Inbound[i] = n
			if n.Kwargs != nil {
				c.Inbound[i].Kwargs = map[string]any{}
				for k, v := range n.Kwargs {
					if !isMaskRef(k, v) {
						c.Inbound[i].Kwargs[k] = v
					}
				}
			}
		}
		out.Layers = append(out.Layers, &c)
	}
	return &out
}

// TensorKwargsLayer is a layer that takes tensors as keyword arguments of
// its call (an RNN's initial_state): they become extra inputs after the
// positional ones, in the order TensorKwargs lists the argument names.
type TensorKwargsLayer interface {
	Layer
	TensorKwargs() []string
}

// CallArgsLayer is a layer whose calls take plain keyword arguments that
// change what a call computes (Attention's use_causal_mask): BindCall
// returns the layer to run for one call, sharing the weights of the
// original.
type CallArgsLayer interface {
	Layer
	BindCall(kwargs map[string]any) (Layer, error)
}

// tensorKwargs returns the tensor keyword arguments of a call that the
// layer takes as extra inputs, and refuses the others.
func tensorKwargs(l Layer, ls *kerasjson.Layer, n kerasjson.Node) ([]kerasjson.TensorRef, error) {
	var accepted []string
	if tk, ok := l.(TensorKwargsLayer); ok {
		accepted = tk.TensorKwargs()
	}
	for k, v := range n.Kwargs {
		if len(flattenRefs(v)) > 0 && !slices.Contains(accepted, k) {
			return nil, &UnsupportedError{Layers: []UnsupportedLayer{{Name: ls.Name, ClassName: ls.ClassName,
				Reason: fmt.Sprintf("call argument %q passed as a tensor is not supported yet", k)}}}
		}
	}
	var refs []kerasjson.TensorRef
	for _, k := range accepted {
		refs = append(refs, flattenRefs(n.Kwargs[k])...)
	}
	return refs, nil
}

// flattenRefs returns the tensor references in a keyword argument, nested
// lists flattened in order as Keras's tree.flatten does (the initial
// states of RNN(StackedRNNCells), [[h1, c1], h2]).
func flattenRefs(v any) []kerasjson.TensorRef {
	switch t := v.(type) {
	case kerasjson.TensorRef:
		return []kerasjson.TensorRef{t}
	case []kerasjson.TensorRef:
		return t
	case []any:
		var out []kerasjson.TensorRef
		for _, e := range t {
			out = append(out, flattenRefs(e)...)
		}
		return out
	}
	return nil
}

// NodeLayer is a layer whose calls' arguments, tensors and constants
// alike, say what each call computes (an operation node: keras.ops calls,
// TFOpLambda): BindNode returns the layer to run for one call, whose
// inputs are the call's tensors (Node.Args without the constants, then
// the tensor keyword arguments of TensorKwargs).
type NodeLayer interface {
	Layer
	BindNode(n kerasjson.Node) (Layer, error)
}

// bindCall returns the layer to run for one call with these keyword
// arguments.
func bindCall(l Layer, n kerasjson.Node, kwargs map[string]any) (Layer, error) {
	if nl, ok := l.(NodeLayer); ok {
		return nl.BindNode(n)
	}
	if cl, ok := l.(CallArgsLayer); ok {
		return cl.BindCall(kwargs)
	}
	return l, nil
}

// Build checks the shapes a nested model is called on and returns its
// output shapes.
func (m *Model) Build(in [][]int) ([][]int, error) {
	if len(in) != len(m.InputShapes) {
		return nil, ShapeError(&m.Base, "takes %d inputs, called with %d", len(m.InputShapes), len(in))
	}
	for i, s := range in {
		if !shapeCompatible(m.InputShapes[i], s) {
			return nil, ShapeError(&m.Base, "input %d expects %s, got %s", i, runtime.FormatShape(m.InputShapes[i]), runtime.FormatShape(s))
		}
	}
	out := make([][]int, len(m.OutputShapes))
	for i, s := range m.OutputShapes {
		out[i] = copyShape(s)
	}
	return out, nil
}

// Forward runs the model's graph.
func (m *Model) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	out, _, back, err := m.ForwardMasked(ctx, in, nil)
	return out, back, err
}

// ForwardMasked runs the model's graph with masks on its inputs (a nested
// model called on masked tensors, as Keras's Functional.call(mask=...))
// and returns its outputs' masks.
func (m *Model) ForwardMasked(ctx *runtime.Context, in, masks []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	if len(in) != len(m.InputShapes) {
		return nil, nil, nil, fmt.Errorf("model %s takes %d inputs, got %d", m.Name, len(m.InputShapes), len(in))
	}
	for i, x := range in {
		if !batchCompatible(m.InputShapes[i], x.Shape) {
			return nil, nil, nil, fmt.Errorf("input %q expects shape %s, got %s", m.InputNames[i],
				runtime.FormatShape(m.InputShapes[i]), runtime.FormatShape(x.Shape))
		}
	}
	if len(masks) != len(in) {
		masks = nil
	}
	g := &m.graph
	if !ctx.Training && !ctx.Grad {
		g = m.inferenceGraph()
		if ctx.Buffers == nil {
			ctx.Buffers = m.buffers
		}
	}
	out, outMasks, trace, err := g.RunMasked(ctx, in, masks)
	if err != nil || trace == nil {
		return out, outMasks, nil, err
	}
	return out, outMasks, trace.Backward, nil
}

// inferenceGraph returns the graph a forward pass without training or
// gradients runs: the model's graph with convolution, BatchNormalization
// and activation fused (fuse.go), or the graph itself when the rewrite
// fails.
func (m *Model) inferenceGraph() *runtime.Graph {
	m.inferOnce.Do(func() {
		g, err := inferenceGraph(&m.graph)
		if err != nil {
			g = &m.graph
		}
		m.infer = g
		m.buffers = &runtime.Buffers{}
	})
	return m.infer
}

// FixedBatch returns the batch size the model's inputs declare
// (batch_input_shape [25, ...], Input(batch_size=25)), or 0 when an input
// leaves it open. A caller splits larger batches into chunks of this size,
// as Keras's predict(x, batch_size=25) does.
func (m *Model) FixedBatch() int {
	b := 0
	for _, s := range m.InputShapes {
		if len(s) == 0 || s[0] <= 0 {
			return 0
		}
		b = s[0]
	}
	return b
}

// batchCompatible is shapeCompatible, except that a batch smaller than a
// fixed declared one fits: the last, short chunk of a predict over a
// sample count that is not a multiple of the fixed batch size, which
// tf-keras runs as it is.
func batchCompatible(declared, got []int) bool {
	if len(declared) == 0 || len(got) == 0 || declared[0] < 0 || got[0] < 0 || got[0] > declared[0] {
		return shapeCompatible(declared, got)
	}
	return shapeCompatible(declared[1:], got[1:])
}

// shapeCompatible reports whether a concrete shape fits a declared one.
func shapeCompatible(declared, got []int) bool {
	if len(declared) != len(got) {
		return false
	}
	for i, d := range declared {
		if d >= 0 && got[i] >= 0 && d != got[i] {
			return false
		}
	}
	return true
}
