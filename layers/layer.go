// Package layers implements Keras layers on top of the runtime package: one
// file per layer, each registered under its Keras class name by an init
// function in that file. A layer holds its Keras configuration, its weights
// in Keras order, and its forward and backward passes.
package layers

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Layer is one Keras layer. Forward (from runtime.Op) must not modify the
// layer, so that one model serves concurrent predictions.
type Layer interface {
	runtime.Op
	// Common returns the fields every layer has.
	Common() *Base
	// Build creates the layer's weights for the given input shapes (-1 for
	// an unknown dimension) on its first call and returns the output shapes.
	// Later calls, for a shared layer's further nodes, only compute shapes.
	Build(inputShapes [][]int) ([][]int, error)
	// Weights returns the layer's own variables in creation order, which
	// is Keras's order: a layer creates its trainable weights first.
	Weights() []*runtime.Variable
}

// Container is a layer made of other layers (a nested model, a wrapper).
type Container interface {
	Layer
	// Children returns the sub-layers in Keras's tracking order.
	Children() []Layer
}

// Base holds what every layer has: its name, class and configuration.
type Base struct {
	Name      string
	ClassName string
	// Trainable is the layer's trainable flag; when false none of its
	// weights are trained.
	Trainable bool
	// Config is the layer's Keras configuration (Keras 3 argument names),
	// written back unchanged on save.
	Config kerasjson.Config
	// Spec is the full layer record from the model configuration.
	Spec *kerasjson.Layer
}

// Common returns b itself; embedding Base gives a layer its Common method.
func (b *Base) Common() *Base { return b }

// String names the layer as error messages do: "dense_1 (Dense)".
func (b *Base) String() string { return fmt.Sprintf("%s (%s)", b.Name, b.ClassName) }

// NewBase reads the common fields of a layer configuration.
func NewBase(spec *kerasjson.Layer) (Base, error) {
	trainable, err := spec.Config.Bool("trainable", true)
	if err != nil {
		return Base{}, err
	}
	return Base{Name: spec.Name, ClassName: spec.ClassName, Trainable: trainable, Config: spec.Config, Spec: spec}, nil
}

// Factory builds a layer from its configuration.
type Factory func(spec *kerasjson.Layer) (Layer, error)

// Supports says what kerasrun can do with a registered layer class. The
// README's layer table is generated from it (SupportTable).
type Supports struct {
	// Inference is set when the layer runs forward (predict, evaluate).
	Inference bool
	// Training is set when the layer also trains: it has a backward pass
	// for every configuration it accepts (and training-only behaviour such
	// as dropout or batch statistics). A layer that refuses training
	// implements InferenceOnly; a test checks the two agree.
	Training bool
}

type registration struct {
	factory  Factory
	supports Supports
}

var (
	registryMu sync.RWMutex
	registry   = map[string]registration{}
)

// Register makes a layer class available under its Keras class name (or a
// custom class's registered_name, e.g. "my_package>MyLayer"), saying what
// it supports. Registering a name twice replaces the earlier factory, so a
// user can override a layer.
func Register(className string, f Factory, s Supports) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[className] = registration{f, s}
}

// Lookup returns the factory for a layer configuration: by registered_name
// first (custom classes), then by class name. A Lambda layer, whose Python
// function cannot run, is looked up by its layer name instead, as
// "Lambda:<name>" or the bare layer name (then as the class "Lambda"), so
// that a user can register a Go implementation for each Lambda of a model.
func Lookup(spec *kerasjson.Layer) (Factory, bool) {
	if isOperation(spec) {
		return lookupOperation(spec)
	}
	registryMu.RLock()
	defer registryMu.RUnlock()
	if spec.ClassName == "Lambda" {
		if r, ok := registry["Lambda:"+spec.Name]; ok {
			return r.factory, true
		}
		if r, ok := registry[spec.Name]; ok {
			return r.factory, true
		}
	}
	if spec.RegisteredName != "" {
		if r, ok := registry[spec.RegisteredName]; ok {
			return r.factory, true
		}
	}
	r, ok := registry[spec.ClassName]
	return r.factory, ok
}

// Registered lists the registered class names, sorted.
func Registered() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// UnsupportedLayer describes one layer a model uses that cannot run.
type UnsupportedLayer struct {
	Name, ClassName, RegisteredName, Reason string

	malformed *ConfigError // set when the layer's config is malformed instead
}

// UnsupportedError lists every layer of a model that cannot run.
type UnsupportedError struct {
	Layers []UnsupportedLayer
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unsupported: %d layer(s) cannot run:", len(e.Layers))
	for _, l := range e.Layers {
		fmt.Fprintf(&b, "\n  %s (class %s", l.Name, l.ClassName)
		if l.RegisteredName != "" && l.RegisteredName != l.ClassName {
			fmt.Fprintf(&b, ", registered_name %q", l.RegisteredName)
		}
		fmt.Fprintf(&b, "): %s", l.Reason)
	}
	return b.String()
}

// ShapeError reports input shapes a layer cannot take.
func ShapeError(b *Base, format string, args ...any) error {
	return fmt.Errorf("layer %s: %s", b, fmt.Sprintf(format, args...))
}
