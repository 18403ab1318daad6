// Package kerasjson decodes Keras model configurations (model.to_json(),
// the model_config and training_config attributes of legacy .h5 files, and
// config.json of .keras archives) from every Keras dialect, Keras 1 to 3,
// into one normalized form that uses Keras 3 vocabulary.
//
// The package uses only the standard library and knows nothing of layers'
// semantics beyond renaming old arguments to their Keras 3 names (the
// table is in legacy.go) and moving Keras 2 call conventions to Keras 3
// ones (node indexes of nested models, see parseFunctional; recurrent
// initial states, see foldInitialState).
package kerasjson

// Model is a Sequential or Functional model's configuration.
type Model struct {
	// ClassName is "Sequential" or "Functional" ("Model" in Keras 2 files is
	// normalized to "Functional").
	ClassName string
	Name      string
	// Layers in config order. For a Sequential model the layers carry no
	// inbound nodes; an InputLayer is synthesized from the first layer's
	// batch_shape or the model's build_input_shape when the file has none
	// (named "<first layer>_input" as tf.keras does, or "input_layer" for
	// Keras 3 files). A Sequential model that was never built has no shape
	// anywhere: then no InputLayer is synthesized and Inputs is empty.
	Layers []*Layer
	// Inputs and Outputs name the model's input and output tensors, in
	// Keras's order (a dict of inputs or outputs is flattened in sorted key
	// order, as Keras's tree.flatten does). For a Sequential model they are
	// derived from Layers, with NodeIndex 0.
	Inputs  []TensorRef
	Outputs []TensorRef
}

// Layer is one layer's configuration.
type Layer struct {
	ClassName string // normalized Keras 3 class name, e.g. "Conv2D" for Keras 1's "Convolution2D"
	// OriginalClassName is the class name as the file spells it, for
	// messages ("Convolution2D", "Model"); equal to ClassName for most layers.
	OriginalClassName string
	Module            string // Keras 3 "module", empty for older files
	RegisteredName    string // Keras 3 "registered_name", empty for older files
	Name              string
	// Config is the layer's "config" object with argument names normalized
	// to Keras 3 (units, filters, padding, data_format, batch_shape, ...).
	Config Config
	// Inbound lists the layer's call nodes in a Functional model: one per
	// call, several for a shared layer. Empty in a Sequential model.
	Inbound []Node
	// Model is set when the layer is itself a Sequential or Functional
	// model nested inside this one.
	Model *Model
	// Keras2 is set by a loader when the file was written by Keras 1 or 2
	// (tf-keras), whose layers differ from Keras 3's in places (a merge's
	// mask, MultiHeadAttention's softmax masking).
	Keras2 bool
}

// Node is one call of a layer: its positional tensor arguments and its
// keyword arguments.
type Node struct {
	// Args are the tensors of the positional arguments, flattened in order:
	// a merge layer called on [a, b] and a layer called as f(a, b) both
	// have Args [a, b]. A constant positional argument appears as a
	// TensorRef whose Layer is ConstantValue.
	Args []TensorRef
	// Kwargs holds keyword arguments: plain JSON values, or TensorRef
	// (or []TensorRef) where the argument is a tensor (mask, initial_state).
	// Keras 2 recurrent layers' extra inputs are moved here under
	// "initial_state" and "constants", where Keras 3 puts them. Nil when
	// the call has none.
	Kwargs map[string]any
	// CallArgs holds the positional arguments with their structure, for
	// operation nodes (keras.ops calls, TFOpLambda), whose meaning depends
	// on where each argument sits: JSON values in which every tensor is a
	// TensorRef (in the order of Args) and Keras 3 tuples are lists. A
	// Keras 2 node has one positional argument, its first (the others are
	// in Kwargs).
	CallArgs []any
}

// TensorRef names a tensor in a Functional graph: output TensorIndex of call
// NodeIndex of layer Layer (Keras's keras_history). NodeIndex always
// indexes the referenced layer's Inbound (0 for an InputLayer): the extra
// node that Keras counts for nested models in some places is removed.
type TensorRef struct {
	Layer       string
	NodeIndex   int
	TensorIndex int
}

// Object is a serialized Keras object: an initializer, regularizer,
// constraint, activation, optimizer, loss, metric or learning-rate schedule.
// A bare string such as "relu" decodes to Object{ClassName: "relu"}.
type Object struct {
	ClassName      string
	Module         string
	RegisteredName string
	Config         Config
}

// TrainingConfig is what model.compile() recorded: Keras 2 and Keras 3
// legacy .h5 "training_config", or Keras 3 .keras "compile_config".
type TrainingConfig struct {
	Optimizer *Object
	// Loss is a single loss (Object), or a list ([]any) or dict
	// (map[string]any) of them for multi-output models, as in the file.
	Loss            any
	Metrics         any
	WeightedMetrics any
	LossWeights     any
	// Raw is the whole decoded object, for fields not mapped above.
	Raw Config
}
