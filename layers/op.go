package layers

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Operation nodes are the calls of keras.ops functions (and of Python
// operators on symbolic tensors) that Keras 3 records in a Functional
// graph, with module keras.src.ops.numpy, .nn, .core, .math, .image or
// .linalg, and tf-keras's TFOpLambda and SlicingOpLambda layers (tf.*
// functions). Each is an op registered under its full name
// ("keras.src.ops.numpy.Multiply", "tf.math.multiply") with the names of
// its call's positional parameters; its builder reads the arguments, by
// name, from the call's keyword arguments, its positional ones, and (for
// Keras 3) the operation's constructor config, and returns the kernel
// that runs it forward and backward. Tensors are float32; int and bool
// values are held as whole numbers and 0/1, and the ops that make them
// (comparisons, argmax, casts to int) pass no gradient.

// opKernel is one bound operation call.
type opKernel interface {
	// build returns the output shapes for the input shapes (-1 unknown).
	build(in [][]int) ([][]int, error)
	forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error)
}

// opBuilder binds one call's arguments to a kernel.
type opBuilder func(a *opArgs) (opKernel, error)

type opDef struct {
	params []string // the call's positional parameters, in order
	build  opBuilder
}

var (
	opRegistryMu sync.RWMutex
	opRegistry   = map[string]*opDef{}
)

// registerOp registers an operation under its full name; params lists the
// call's positional parameter names ("x1, x2").
func registerOp(fullName, params string, b opBuilder) {
	var ps []string
	for _, p := range strings.Split(params, ",") {
		if p = strings.TrimSpace(p); p != "" {
			ps = append(ps, p)
		}
	}
	opRegistryMu.Lock()
	defer opRegistryMu.Unlock()
	opRegistry[fullName] = &opDef{params: ps, build: b}
}

// RegisteredOperations lists the full names of the registered operations,
// sorted.
func RegisteredOperations() []string {
	opRegistryMu.RLock()
	defer opRegistryMu.RUnlock()
	names := make([]string, 0, len(opRegistry))
	for n := range opRegistry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookupOpDef(fullName string) (*opDef, bool) {
	opRegistryMu.RLock()
	defer opRegistryMu.RUnlock()
	d, ok := opRegistry[fullName]
	return d, ok
}

// opModules are the modules of Keras 3's operation classes.
var opModules = []string{"numpy", "nn", "core", "math", "linalg", "image", "einops"}

// isOperation reports whether a layer record is a Keras 3 operation node:
// its module says so, or (a legacy .h5 written by Keras 3, which records
// no module) its config lacks the trainable argument most layers' have
// and its class is an operation's, or no layer's.
func isOperation(spec *kerasjson.Layer) bool {
	if strings.HasPrefix(spec.Module, "keras.src.ops.") {
		return true
	}
	if spec.Module != "" || len(spec.Inbound) == 0 || spec.ClassName == "InputLayer" || spec.Model != nil {
		return false
	}
	if _, trainable := spec.Config["trainable"]; trainable || spec.Keras2 {
		return false
	}
	if operationName(spec) != "keras.src.ops."+spec.ClassName {
		return true
	}
	registryMu.RLock()
	defer registryMu.RUnlock()
	_, layer := registry[spec.ClassName]
	return !layer
}

// operationName returns the full name of a Keras 3 operation node.
func operationName(spec *kerasjson.Layer) string {
	if spec.Module != "" {
		return spec.Module + "." + spec.ClassName
	}
	for _, m := range opModules {
		if _, ok := lookupOpDef("keras.src.ops." + m + "." + spec.ClassName); ok {
			return "keras.src.ops." + m + "." + spec.ClassName
		}
	}
	return "keras.src.ops." + spec.ClassName
}

// lookupOperation returns the factory of a Keras 3 operation node.
func lookupOperation(spec *kerasjson.Layer) (Factory, bool) {
	full := operationName(spec)
	def, ok := lookupOpDef(full)
	if !ok {
		return nil, false
	}
	return func(spec *kerasjson.Layer) (Layer, error) { return newOperation(spec, full, def, spec.Config) }, true
}

func init() {
	for _, class := range []string{"TFOpLambda", "SlicingOpLambda"} {
		Register(class, newTFOpLambda, Supports{Inference: true, Training: true})
	}
}

// newTFOpLambda builds a tf-keras TFOpLambda or SlicingOpLambda: its
// config's function ("math.multiply") names the tf function.
func newTFOpLambda(spec *kerasjson.Layer) (Layer, error) {
	fn, err := spec.Config.String("function", "")
	if err != nil {
		return nil, err
	}
	full := "tf." + fn
	def, ok := lookupOpDef(full)
	if !ok {
		return nil, fmt.Errorf("no implementation of the operation %s", full)
	}
	return newOperation(spec, full, def, nil)
}

// Operation is one operation node of a Functional graph. It has no
// weights and passes no mask on, as Keras's operations do not.
type Operation struct {
	Base
	// FullName is the operation's name: "keras.src.ops.numpy.Multiply",
	// "tf.math.multiply".
	FullName string
	def      *opDef
	config   kerasjson.Config // Keras 3 constructor arguments; nil for tf
	kernel   opKernel         // set on the bound copy of one call
	tensorKw []string
}

func newOperation(spec *kerasjson.Layer, full string, def *opDef, config kerasjson.Config) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	op := &Operation{Base: b, FullName: full, def: def, config: config}
	seen := map[string]bool{}
	for _, n := range spec.Inbound {
		for k, v := range n.Kwargs {
			switch v.(type) {
			case kerasjson.TensorRef, []kerasjson.TensorRef:
				if !seen[k] {
					seen[k] = true
					op.tensorKw = append(op.tensorKw, k)
				}
			}
		}
	}
	sort.Strings(op.tensorKw)
	// Bind every call now, so that an argument this op cannot take is
	// reported with the model's other unsupported layers.
	for _, n := range spec.Inbound {
		if _, err := op.BindNode(n); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// TensorKwargs returns the keyword arguments passed as tensors.
func (o *Operation) TensorKwargs() []string { return o.tensorKw }

// BindNode returns the operation bound to one call's arguments.
func (o *Operation) BindNode(n kerasjson.Node) (Layer, error) {
	a, err := newOpArgs(o, n)
	if err != nil {
		return nil, fmt.Errorf("operation %s (%s): %w", o.Name, o.FullName, err)
	}
	k, err := o.def.build(a)
	if err == nil {
		err = a.unused()
	}
	if err != nil {
		return nil, fmt.Errorf("operation %s (%s): %w", o.Name, o.FullName, err)
	}
	bound := *o
	bound.kernel = k
	return &bound, nil
}

// Build returns the output shapes.
func (o *Operation) Build(in [][]int) ([][]int, error) {
	if o.kernel == nil {
		return nil, ShapeError(&o.Base, "operation used outside a Functional graph")
	}
	out, err := o.kernel.build(in)
	if err != nil {
		return nil, ShapeError(&o.Base, "%v", err)
	}
	return out, nil
}

// Weights returns none.
func (o *Operation) Weights() []*runtime.Variable { return nil }

// Forward runs the operation.
func (o *Operation) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	if o.kernel == nil {
		return nil, nil, ShapeError(&o.Base, "operation used outside a Functional graph")
	}
	out, back, err := o.kernel.forward(ctx, in)
	if err == nil && ctx.Grad && back == nil {
		// No input gets a gradient: a constant, a bool or an int result.
		back = func([]*runtime.Tensor) ([]*runtime.Tensor, error) { return make([]*runtime.Tensor, len(in)), nil }
	}
	return out, back, err
}

// ForwardMasked runs the operation; its outputs carry no mask.
func (o *Operation) ForwardMasked(ctx *runtime.Context, in, _ []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	out, back, err := o.Forward(ctx, in)
	return out, nil, back, err
}
