package layers

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// opInput stands for a tensor argument: input i of the operation's node.
type opInput int

// opArgs are one operation call's arguments, tensors replaced by opInput.
type opArgs struct {
	op         *Operation
	positional []any
	kwargs     map[string]any
	config     map[string]any
	used       map[string]bool
	nInputs    int
}

func newOpArgs(o *Operation, n kerasjson.Node) (*opArgs, error) {
	a := &opArgs{op: o, kwargs: map[string]any{}, config: map[string]any{}, used: map[string]bool{}}
	var replace func(v any) any
	replace = func(v any) any {
		switch t := v.(type) {
		case json.Number:
			f, err := t.Float64()
			if err != nil {
				return t.String()
			}
			return f
		case kerasjson.TensorRef:
			if t.Layer == kerasjson.ConstantValue {
				return nil
			}
			a.nInputs++
			return opInput(a.nInputs - 1)
		case []kerasjson.TensorRef:
			out := make([]any, len(t))
			for i, r := range t {
				out[i] = replace(r)
			}
			return out
		case []any:
			out := make([]any, len(t))
			for i, e := range t {
				out[i] = replace(e)
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(t))
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out[k] = replace(t[k])
			}
			return out
		}
		return v
	}
	for _, v := range n.CallArgs {
		a.positional = append(a.positional, replace(v))
	}
	// The tensor keyword arguments follow, in TensorKwargs order; the
	// others hold no tensor.
	for _, k := range o.tensorKw {
		if v, ok := n.Kwargs[k]; ok {
			a.kwargs[k] = replace(v)
		}
	}
	for k, v := range n.Kwargs {
		if k == kerasjson.ConstantValue || k == "name" {
			continue
		}
		if _, done := a.kwargs[k]; !done {
			a.kwargs[k] = replace(v)
		}
	}
	for k, v := range o.config {
		if k != "name" {
			a.config[k] = replace(v)
		}
	}
	if len(a.positional) > len(o.def.params) && !(len(o.def.params) > 0 && o.def.params[len(o.def.params)-1][0] == '*') {
		return nil, fmt.Errorf("takes %d positional arguments, the call has %d", len(o.def.params), len(a.positional))
	}
	return a, nil
}

// value returns argument name: a keyword argument, a positional one or a
// constructor argument.
func (a *opArgs) value(name string) (any, bool) {
	a.used[name] = true
	if v, ok := a.kwargs[name]; ok {
		return v, true
	}
	for i, p := range a.op.def.params {
		if p == name && i < len(a.positional) {
			return a.positional[i], true
		}
	}
	if v, ok := a.config[name]; ok {
		return v, true
	}
	return nil, false
}

// rest returns the positional arguments from the variadic parameter on
// ("*operands").
func (a *opArgs) rest() []any {
	ps := a.op.def.params
	a.used[ps[len(ps)-1]] = true
	if len(a.positional) < len(ps) {
		return nil
	}
	return a.positional[len(ps)-1:]
}

// unused refuses an argument that the op did not read: ignoring it would
// compute something else than Keras.
func (a *opArgs) unused() error {
	for i, v := range a.positional {
		if i < len(a.op.def.params) && !a.used[a.op.def.params[i]] {
			return fmt.Errorf("positional argument %d (%s) is not supported", i, a.op.def.params[i])
		}
		_ = v
	}
	for _, m := range []map[string]any{a.kwargs, a.config} {
		for k, v := range m {
			if !a.used[k] && v != nil && !ignoredOpArgs[k] {
				return fmt.Errorf("argument %s=%v is not supported", k, v)
			}
		}
	}
	return nil
}

// ignoredOpArgs are arguments that do not change what an op computes.
var ignoredOpArgs = map[string]bool{"trainable": true, "dtype_policy": true}

// operand is a tensor argument or a constant.
type operand struct {
	in int // input index, -1 for a constant
	c  *runtime.Tensor
}

func (o operand) shape(in [][]int) []int {
	if o.in >= 0 {
		return in[o.in]
	}
	return o.c.Shape
}

func (o operand) value(in []*runtime.Tensor) *runtime.Tensor {
	if o.in >= 0 {
		return in[o.in]
	}
	return o.c
}

// toOperand converts a decoded argument to an operand: a tensor input, a
// number, a bool or a nested list of them.
func toOperand(v any) (operand, error) {
	if i, ok := v.(opInput); ok {
		return operand{in: int(i)}, nil
	}
	t, err := constTensor(v)
	if err != nil {
		return operand{}, err
	}
	return operand{in: -1, c: t}, nil
}

// constTensor converts a number, a bool or a nested list to a tensor.
func constTensor(v any) (*runtime.Tensor, error) {
	if m, ok := v.(map[string]any); ok && m["class_name"] == "__numpy__" {
		if c, ok := m["config"].(map[string]any); ok {
			v = c["value"]
		}
	}
	var shape []int
	var data []float32
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		switch t := v.(type) {
		case []any:
			if depth == len(shape) {
				if len(data) > 0 {
					return fmt.Errorf("ragged constant")
				}
				shape = append(shape, len(t))
			} else if depth > len(shape) || shape[depth] != len(t) {
				return fmt.Errorf("ragged constant")
			}
			for _, e := range t {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
			return nil
		case float64:
			data = append(data, float32(t))
		case bool:
			data = append(data, b2f(t))
		case string:
			switch t {
			case "inf", "Infinity":
				data = append(data, float32(math.Inf(1)))
			case "-inf", "-Infinity":
				data = append(data, float32(math.Inf(-1)))
			case "nan", "NaN":
				data = append(data, float32(math.NaN()))
			default:
				return fmt.Errorf("want a number, got %q", t)
			}
		default:
			return fmt.Errorf("want a tensor or a number, got %v", v)
		}
		if depth != len(shape) {
			return fmt.Errorf("ragged constant")
		}
		return nil
	}
	if err := walk(v, 0); err != nil {
		return nil, err
	}
	return &runtime.Tensor{Shape: shape, Data: data}, nil
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// operand returns a required tensor (or constant) argument.
func (a *opArgs) operand(name string) (operand, error) {
	v, ok := a.value(name)
	if !ok || v == nil {
		return operand{}, fmt.Errorf("missing argument %s", name)
	}
	o, err := toOperand(v)
	if err != nil {
		return operand{}, fmt.Errorf("argument %s: %w", name, err)
	}
	return o, nil
}

// operands returns a list-of-tensors argument.
func (a *opArgs) operands(name string) ([]operand, error) {
	v, ok := a.value(name)
	if !ok {
		return nil, fmt.Errorf("missing argument %s", name)
	}
	return toOperands(v, name)
}

func toOperands(v any, name string) ([]operand, error) {
	l, ok := v.([]any)
	if !ok {
		l = []any{v}
	}
	out := make([]operand, len(l))
	for i, e := range l {
		o, err := toOperand(e)
		if err != nil {
			return nil, fmt.Errorf("argument %s[%d]: %w", name, i, err)
		}
		out[i] = o
	}
	return out, nil
}

func (a *opArgs) float(name string, def float64) (float64, error) {
	v, ok := a.value(name)
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case float64:
		return t, nil
	case bool:
		return float64(b2f(t)), nil
	}
	return 0, fmt.Errorf("argument %s: want a number, got %v", name, v)
}

func (a *opArgs) int(name string, def int) (int, error) {
	f, err := a.float(name, float64(def))
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("argument %s: want an integer, got %v", name, f)
	}
	return int(f), nil
}

func (a *opArgs) boolean(name string, def bool) (bool, error) {
	v, ok := a.value(name)
	if !ok || v == nil {
		return def, nil
	}
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return false, fmt.Errorf("argument %s: want true or false, got %v", name, v)
}

func (a *opArgs) str(name, def string) (string, error) {
	v, ok := a.value(name)
	if !ok || v == nil {
		return def, nil
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	if m, ok := v.(map[string]any); ok { // a DTypePolicy
		if c, ok := m["config"].(map[string]any); ok {
			if s, ok := c["name"].(string); ok {
				return s, nil
			}
		}
	}
	return "", fmt.Errorf("argument %s: want a string, got %v", name, v)
}

// ints returns an int or list-of-ints argument as a list; nil for None
// or absent.
func (a *opArgs) ints(name string) ([]int, bool, error) {
	v, ok := a.value(name)
	if !ok || v == nil {
		return nil, false, nil
	}
	out, err := toInts(v)
	if err != nil {
		return nil, false, fmt.Errorf("argument %s: %w", name, err)
	}
	return out, true, nil
}

func toInts(v any) ([]int, error) {
	switch t := v.(type) {
	case float64:
		if t != math.Trunc(t) {
			return nil, fmt.Errorf("want integers, got %v", t)
		}
		return []int{int(t)}, nil
	case []any:
		out := make([]int, len(t))
		for i, e := range t {
			f, ok := e.(float64)
			if !ok || f != math.Trunc(f) {
				if e == nil {
					out[i] = -1
					continue
				}
				return nil, fmt.Errorf("want integers, got %v", e)
			}
			out[i] = int(f)
		}
		return out, nil
	case opInput:
		return nil, fmt.Errorf("a tensor here is not supported (it must be a constant)")
	}
	return nil, fmt.Errorf("want integers, got %v", v)
}
