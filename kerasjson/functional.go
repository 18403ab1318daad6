package kerasjson

import "fmt"

// ConstantValue is the Layer of a TensorRef in Node.Args that stands for a
// constant positional argument instead of a tensor: Keras 2
// ["_CONSTANT_VALUE", -1, value] node entries (TFOpLambda layers) and
// non-tensor positional arguments of Keras 3 nodes (keras.ops calls such as
// multiply(x, 2.0)). Its TensorIndex indexes the list stored in the node's
// Kwargs[ConstantValue], which holds the values as decoded. A loader that
// does not handle constants sees an argument naming an unknown layer.
const ConstantValue = "_CONSTANT_VALUE"

// parseFunctional decodes a Functional model's config.
//
// Node indexes are normalized so that TensorRef.NodeIndex always indexes
// the referenced layer's Inbound list (for an InputLayer it is 0). That is
// Keras 3's meaning inside inbound nodes. Elsewhere Keras counts one extra
// node for a nested model (the node that links its own inputs to its
// outputs): Keras 3 in input_layers/output_layers for a nested Functional
// model (functional.py get_config/get_tensor), Keras 1 and 2 in every
// reference to a nested model built with an input (tf-keras functional.py
// _should_skip_first_node). That offset is removed here. For Keras 1 and 2
// it is detected from the references themselves: calls are only recorded
// when their output is used, so the first recorded call is referenced, and
// when no reference to a nested model uses node 0 every reference is offset.
func parseFunctional(cfg any, path string, depth int) (*Model, error) {
	obj, ok := asObject(cfg)
	if !ok {
		return nil, formatErr(path, "want a Functional config object, got %s", describe(cfg))
	}
	name, err := stringField(obj, "name", path)
	if err != nil {
		return nil, err
	}
	m := &Model{ClassName: "Functional", Name: name}
	layersPath := joinPath(path, "layers")
	list, ok := obj["layers"].([]any)
	if !ok {
		return nil, formatErr(layersPath, "want a list of layers, got %s", describe(obj["layers"]))
	}
	byName := map[string]*Layer{}
	keras3Nodes := false
	for i, lv := range list {
		lpath := indexPath(layersPath, i)
		l, err := parseLayer(lv, lpath, depth)
		if err != nil {
			return nil, err
		}
		if byName[l.Name] != nil {
			return nil, formatErr(lpath, "duplicate layer name %q", l.Name)
		}
		byName[l.Name] = l
		m.Layers = append(m.Layers, l)

		lobj, _ := asObject(lv)
		npath := joinPath(lpath, "inbound_nodes")
		nodes, err := listField(lobj, "inbound_nodes", lpath)
		if err != nil {
			return nil, err
		}
		for j, nv := range nodes {
			var node Node
			if nobj, ok := asObject(nv); ok {
				keras3Nodes = true
				node, err = parseNode3(nobj, indexPath(npath, j))
			} else {
				node, err = parseNode2(nv, indexPath(npath, j))
				if err == nil {
					err = foldInitialState(l, &node, indexPath(npath, j))
				}
			}
			if err != nil {
				return nil, err
			}
			l.Inbound = append(l.Inbound, node)
		}
	}
	if m.Inputs, err = parseRefs(obj["input_layers"], joinPath(path, "input_layers")); err != nil {
		return nil, err
	}
	if m.Outputs, err = parseRefs(obj["output_layers"], joinPath(path, "output_layers")); err != nil {
		return nil, err
	}
	removeNestedOffset(m, byName, keras3Nodes)
	if err := checkRefs(m, byName, path); err != nil {
		return nil, err
	}
	return m, nil
}

func listField(obj map[string]any, key, path string) ([]any, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, formatErr(joinPath(path, key), "want a list, got %s", describe(v))
	}
	return l, nil
}

// parseNode3 decodes a Keras 3 node {"args": [...], "kwargs": {...}}.
// Tensors among the positional arguments, at any depth (Concatenate gets
// [[t1, t2]]), become Args in order; dicts are walked in sorted key order
// as Keras's tree.flatten does.
func parseNode3(obj map[string]any, path string) (Node, error) {
	var node Node
	var consts []any
	// walk flattens v into node.Args and returns v with its tensors as
	// TensorRef and its tuples as lists.
	var walk func(v any, p string) (any, error)
	walk = func(v any, p string) (any, error) {
		switch t := v.(type) {
		case []any:
			out := make([]any, len(t))
			for i, e := range t {
				c, err := walk(e, indexPath(p, i))
				if err != nil {
					return nil, err
				}
				out[i] = c
			}
			return out, nil
		case map[string]any:
			switch t["class_name"] {
			case "__keras_tensor__":
				ref, err := kerasTensorRef(t, p)
				if err != nil {
					return nil, err
				}
				node.Args = append(node.Args, ref)
				return ref, nil
			case "__tuple__":
				if c, ok := asObject(t["config"]); ok {
					return walk(c["value"], joinPath(joinPath(p, "config"), "value"))
				}
			case nil:
				out := make(map[string]any, len(t))
				for _, k := range sortedKeys(t) {
					c, err := walk(t[k], joinPath(p, k))
					if err != nil {
						return nil, err
					}
					out[k] = c
				}
				return out, nil
			}
		}
		node.Args = append(node.Args, TensorRef{Layer: ConstantValue, NodeIndex: -1, TensorIndex: len(consts)})
		consts = append(consts, v)
		return v, nil
	}
	args, err := walk(obj["args"], joinPath(path, "args"))
	if err != nil {
		return Node{}, err
	}
	if l, ok := args.([]any); ok {
		node.CallArgs = l
	}
	kwPath := joinPath(path, "kwargs")
	switch kw := obj["kwargs"].(type) {
	case nil:
	case map[string]any:
		for k, v := range kw {
			cv, err := kwarg3(v, joinPath(kwPath, k))
			if err != nil {
				return Node{}, err
			}
			setKwarg(&node, k, cv)
		}
	default:
		return Node{}, formatErr(kwPath, "want an object, got %s", describe(kw))
	}
	if len(consts) > 0 {
		setKwarg(&node, ConstantValue, consts)
	}
	return node, nil
}

func setKwarg(node *Node, k string, v any) {
	if node.Kwargs == nil {
		node.Kwargs = map[string]any{}
	}
	node.Kwargs[k] = v
}

// kwarg3 converts a Keras 3 keyword argument: tensors become TensorRef,
// lists of tensors []TensorRef.
func kwarg3(v any, path string) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		switch t["class_name"] {
		case "__keras_tensor__":
			return kerasTensorRef(t, path)
		case "__tuple__":
			if c, ok := asObject(t["config"]); ok {
				return kwarg3(c["value"], joinPath(joinPath(path, "config"), "value"))
			}
		}
		return v, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			cv, err := kwarg3(e, indexPath(path, i))
			if err != nil {
				return nil, err
			}
			out[i] = cv
		}
		return refListOr(out), nil
	}
	return v, nil
}

// refListOr returns a []TensorRef when every element of l is a TensorRef,
// else l.
func refListOr(l []any) any {
	if len(l) == 0 {
		return l
	}
	refs := make([]TensorRef, len(l))
	for i, e := range l {
		r, ok := e.(TensorRef)
		if !ok {
			return l
		}
		refs[i] = r
	}
	return refs
}

func kerasTensorRef(t map[string]any, path string) (TensorRef, error) {
	cfg, _ := asObject(t["config"])
	h, ok := cfg["keras_history"].([]any)
	hpath := joinPath(joinPath(path, "config"), "keras_history")
	if !ok || len(h) != 3 {
		return TensorRef{}, formatErr(hpath, "want [layer, node_index, tensor_index], got %s", describe(cfg["keras_history"]))
	}
	return refFromList(h, hpath)
}

// refFromList decodes [layer, node_index, tensor_index].
func refFromList(h []any, path string) (TensorRef, error) {
	name, ok := h[0].(string)
	if !ok {
		return TensorRef{}, formatErr(path, "want a layer name, got %s", describe(h[0]))
	}
	node, err := toInt(h[1])
	if err != nil {
		return TensorRef{}, formatErr(indexPath(path, 1), "node index: %v", err)
	}
	tensor, err := toInt(h[2])
	if err != nil {
		return TensorRef{}, formatErr(indexPath(path, 2), "tensor index: %v", err)
	}
	if node < 0 || tensor < 0 {
		return TensorRef{}, formatErr(path, "negative index in [%q, %d, %d]", name, node, tensor)
	}
	return TensorRef{Layer: name, NodeIndex: node, TensorIndex: tensor}, nil
}

// isNodeEntry reports whether l is a Keras 1/2 node entry
// [layer, node_index, tensor_index(, kwargs)], by tf-keras's own rule
// (tf_utils.convert_inner_node_data).
func isNodeEntry(l []any) bool {
	if len(l) != 3 && len(l) != 4 {
		return false
	}
	_, ok := l[0].(string)
	return ok
}

// parseNode2 decodes a Keras 1 or 2 node: a structure (usually a list) of
// [layer, node_index, tensor_index, kwargs] entries, one per tensor of
// the call's first argument. The kwargs, repeated on every entry, hold the
// other arguments, where [layer, node, tensor] lists are tensors.
func parseNode2(v any, path string) (Node, error) {
	var node Node
	var consts []any
	kwSeen := false
	// walk flattens v into node.Args and returns its structure with each
	// entry replaced by its TensorRef or constant value.
	var walk func(v any, p string) (any, error)
	walk = func(v any, p string) (any, error) {
		switch t := v.(type) {
		case []any:
			if !isNodeEntry(t) {
				out := make([]any, len(t))
				for i, e := range t {
					c, err := walk(e, indexPath(p, i))
					if err != nil {
						return nil, err
					}
					out[i] = c
				}
				return out, nil
			}
			if len(t) == 4 && !kwSeen {
				kwSeen = true
				switch kw := t[3].(type) {
				case nil:
				case map[string]any:
					for k, kv := range kw {
						setKwarg(&node, k, kwarg2(kv))
					}
				default:
					return nil, formatErr(indexPath(p, 3), "want a kwargs object, got %s", describe(kw))
				}
			}
			if t[0] == ConstantValue {
				node.Args = append(node.Args, TensorRef{Layer: ConstantValue, NodeIndex: -1, TensorIndex: len(consts)})
				consts = append(consts, t[2])
				return t[2], nil
			}
			ref, err := refFromList(t[:3], p)
			if err != nil {
				return nil, err
			}
			node.Args = append(node.Args, ref)
			return ref, nil
		case map[string]any:
			out := make(map[string]any, len(t))
			for _, k := range sortedKeys(t) {
				c, err := walk(t[k], joinPath(p, k))
				if err != nil {
					return nil, err
				}
				out[k] = c
			}
			return out, nil
		}
		return nil, formatErr(p, "want a node entry [layer, node_index, tensor_index], got %s", describe(v))
	}
	first, err := walk(v, path)
	if err != nil {
		return Node{}, err
	}
	// A node is a list of entries, one per tensor of the first argument,
	// or (a layer preserving its input structure, TFOpLambda) that
	// argument's structure itself.
	if l, ok := v.([]any); ok && !isNodeEntry(l) && len(l) == 1 {
		first = first.([]any)[0]
	}
	node.CallArgs = []any{first}
	if len(consts) > 0 {
		setKwarg(&node, ConstantValue, consts)
	}
	return node, nil
}

// kwarg2 converts a Keras 2 keyword argument: [layer, node, tensor] lists
// become TensorRef, lists of them []TensorRef.
func kwarg2(v any) any {
	switch t := v.(type) {
	case []any:
		if len(t) == 3 || len(t) == 4 {
			if _, ok := t[0].(string); ok {
				if ref, err := refFromList(t[:3], ""); err == nil {
					return ref
				}
			}
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = kwarg2(e)
		}
		return refListOr(out)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = kwarg2(e)
		}
		return out
	}
	return v
}

// foldInitialState moves the initial states (and constants) that Keras 2
// recurrent layers record as extra inputs of their first argument to the
// initial_state (and constants) keyword arguments where Keras 3 has them.
func foldInitialState(l *Layer, node *Node, path string) error {
	if !recurrentClasses[l.ClassName] || len(node.Args) < 2 {
		return nil
	}
	if _, ok := node.Kwargs["initial_state"]; ok {
		return nil
	}
	nConst, err := l.Config.Int("num_constants", 0)
	if err != nil {
		return formatErr(path, "%v", err)
	}
	extra := node.Args[1:]
	if nConst < 0 || nConst > len(extra) {
		return formatErr(path, "%s %q has %d extra inputs but num_constants=%d", l.ClassName, l.Name, len(extra), nConst)
	}
	states := extra[:len(extra)-nConst]
	consts := extra[len(extra)-nConst:]
	node.Args = node.Args[:1:1]
	if len(states) > 0 {
		setKwarg(node, "initial_state", append([]TensorRef(nil), states...))
	}
	if len(consts) > 0 {
		setKwarg(node, "constants", append([]TensorRef(nil), consts...))
	}
	return nil
}

// parseRefs decodes input_layers/output_layers: one [layer, node, tensor]
// (Keras 3 with a single tensor), a list of them, or a nested structure
// (dicts in sorted key order).
func parseRefs(v any, path string) ([]TensorRef, error) {
	var refs []TensorRef
	var walk func(v any, p string) error
	walk = func(v any, p string) error {
		switch t := v.(type) {
		case nil:
			return nil
		case []any:
			if len(t) == 3 {
				if _, ok := t[0].(string); ok {
					r, err := refFromList(t, p)
					if err != nil {
						return err
					}
					refs = append(refs, r)
					return nil
				}
			}
			for i, e := range t {
				if err := walk(e, indexPath(p, i)); err != nil {
					return err
				}
			}
			return nil
		case map[string]any:
			for _, k := range sortedKeys(t) {
				if err := walk(t[k], joinPath(p, k)); err != nil {
					return err
				}
			}
			return nil
		}
		return formatErr(p, "want [layer, node_index, tensor_index], got %s", describe(v))
	}
	if err := walk(v, path); err != nil {
		return nil, err
	}
	return refs, nil
}

// forEachRef calls fn on every tensor reference of m: node arguments,
// tensor keyword arguments, inputs and outputs. fn may change the ref.
func forEachRef(m *Model, fn func(r *TensorRef, where string) error) error {
	for _, l := range m.Layers {
		for j := range l.Inbound {
			n := &l.Inbound[j]
			where := fmt.Sprintf("layer %q node %d", l.Name, j)
			for k := range n.Args {
				if err := fn(&n.Args[k], where); err != nil {
					return err
				}
			}
			for key, v := range n.Kwargs {
				nv, err := mapKwargRefs(v, func(r *TensorRef) error { return fn(r, where+" argument "+key) })
				if err != nil {
					return err
				}
				n.Kwargs[key] = nv
			}
		}
	}
	for i := range m.Inputs {
		if err := fn(&m.Inputs[i], "input_layers"); err != nil {
			return err
		}
	}
	for i := range m.Outputs {
		if err := fn(&m.Outputs[i], "output_layers"); err != nil {
			return err
		}
	}
	return nil
}

func mapKwargRefs(v any, fn func(r *TensorRef) error) (any, error) {
	switch t := v.(type) {
	case TensorRef:
		err := fn(&t)
		return t, err
	case []TensorRef:
		for i := range t {
			if err := fn(&t[i]); err != nil {
				return nil, err
			}
		}
		return t, nil
	case []any:
		for i, e := range t {
			ne, err := mapKwargRefs(e, fn)
			if err != nil {
				return nil, err
			}
			t[i] = ne
		}
		return t, nil
	case map[string]any:
		for k, e := range t {
			ne, err := mapKwargRefs(e, fn)
			if err != nil {
				return nil, err
			}
			t[k] = ne
		}
		return t, nil
	}
	return v, nil
}

// removeNestedOffset applies the node index normalization described on
// parseFunctional.
func removeNestedOffset(m *Model, byName map[string]*Layer, keras3Nodes bool) {
	if keras3Nodes {
		for _, refs := range [][]TensorRef{m.Inputs, m.Outputs} {
			for i := range refs {
				if l := byName[refs[i].Layer]; l != nil && l.Model != nil && l.ClassName == "Functional" && refs[i].NodeIndex > 0 {
					refs[i].NodeIndex--
				}
			}
		}
	} else {
		minIndex := map[string]int{}
		_ = forEachRef(m, func(r *TensorRef, _ string) error {
			if l := byName[r.Layer]; l != nil && l.Model != nil {
				if cur, ok := minIndex[r.Layer]; !ok || r.NodeIndex < cur {
					minIndex[r.Layer] = r.NodeIndex
				}
			}
			return nil
		})
		_ = forEachRef(m, func(r *TensorRef, _ string) error {
			if minIndex[r.Layer] > 0 {
				r.NodeIndex--
			}
			return nil
		})
	}
	_ = forEachRef(m, func(r *TensorRef, _ string) error {
		// Keras 2 resolves any reference to an InputLayer to its only node.
		if l := byName[r.Layer]; l != nil && l.ClassName == "InputLayer" {
			r.NodeIndex = 0
		}
		return nil
	})
}

// checkRefs verifies that every reference names a layer of m and one of
// its recorded calls.
func checkRefs(m *Model, byName map[string]*Layer, path string) error {
	return forEachRef(m, func(r *TensorRef, where string) error {
		if r.Layer == ConstantValue {
			return nil
		}
		l := byName[r.Layer]
		if l == nil {
			return formatErr(path, "%s refers to unknown layer %q", where, r.Layer)
		}
		if l.ClassName != "InputLayer" && r.NodeIndex >= len(l.Inbound) {
			return formatErr(path, "%s refers to call %d of layer %q, which has %d", where, r.NodeIndex, r.Layer, len(l.Inbound))
		}
		return nil
	})
}
