package kerasrun

import "github.com/kerasrun/kerasrun/saving"

// Inspection is what a model file says about the model, read without
// loading its weights: the configuration, shapes, writer and compile
// settings, and parameter counts taken from the weight datasets' shapes.
type Inspection = saving.Inspection

// LayerInfo describes one layer of an Inspection.
type LayerInfo = saving.LayerInfo

// Inspect reads a model file's header: configuration, input and output
// shapes, writer version, compile configuration and parameter counts,
// without reading any weight data (only the weight datasets' shapes), as
// png.DecodeConfig reads an image's size. It works on models whose layers
// kerasrun cannot run, and lists those in Unsupported. For a model JSON,
// opts may name the weights file (WithWeights) to count its parameters.
func Inspect(path string, opts ...LoadOption) (*Inspection, error) {
	var o loadOptions
	for _, opt := range opts {
		opt(&o)
	}
	return saving.Inspect(path, o.Weights)
}
