package kerasrun

import (
	"bytes"
	"errors"
	"io"
	"log/slog"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/saving"
)

// Format is a model file format (saving.Format).
type Format = saving.Format

// The formats Load reads, detected from content.
const (
	FormatUnknown   = saving.FormatUnknown
	FormatH5        = saving.FormatH5        // legacy full-model HDF5 (model.save("m.h5"))
	FormatKeras     = saving.FormatKeras     // Keras 3 .keras zip archive
	FormatKerasDir  = saving.FormatKerasDir  // a .keras archive saved unzipped as a directory
	FormatJSON      = saving.FormatJSON      // model.to_json() plus a weights file
	FormatWeightsH5 = saving.FormatWeightsH5 // Keras 3 weights only (model.save_weights("x.weights.h5")); Save writes it
)

// DetectFormat reports a model file's format from its content.
func DetectFormat(path string) (Format, error) { return saving.Detect(path) }

// LoadOption changes how Load reads a model.
type LoadOption func(*loadOptions)

type loadOptions struct {
	saving.LoadOptions
	name string
}

func collectLoadOptions(opts []LoadOption) loadOptions {
	o := loadOptions{name: "model"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// WithWeights names the weights file for a model JSON file: a Keras 2
// save_weights .h5 or a Keras 3 .weights.h5.
func WithWeights(path string) LoadOption { return func(o *loadOptions) { o.Weights = path } }

// WithWeightsReader gives LoadReader (or Load) the weights of a model JSON
// as an HDF5 file of size bytes read from r: a Keras 2 save_weights .h5, a
// full legacy .h5 or a Keras 3 .weights.h5.
func WithWeightsReader(r io.ReaderAt, size int64) LoadOption {
	return func(o *loadOptions) { o.WeightsReader, o.WeightsSize = r, size }
}

// WithName names the model read by LoadReader or LoadBytes in errors and
// in Info().Path (default "model").
func WithName(name string) LoadOption { return func(o *loadOptions) { o.name = name } }

// WithLogger sends Load's warnings (optimizer state that does not fit the
// model and is skipped, as Keras warns) to l; by default they are dropped.
func WithLogger(l *slog.Logger) LoadOption { return func(o *loadOptions) { o.Logger = l } }

// Load reads a model file of any supported format, detected from content,
// builds its layer graph and loads its weights.
//
// Weights are packed into the GEMM kernels' panel layout lazily, by the
// first Predict (or training step) that needs them (runtime.Packed), and
// again only after training changes them: the pack is a second copy of
// each packed kernel, which a model loaded for Inspect, Save, Convert or
// Fit never needs. The first Predict therefore costs one more pass over
// the packed weights than later ones; call Predict once on a small batch
// to pay it up front.
func Load(path string, opts ...LoadOption) (*Model, error) {
	o := collectLoadOptions(opts)
	return newModel(saving.Load(path, &o.LoadOptions))
}

// LoadReader reads a single-file model of size bytes from r: a .keras
// archive, a legacy .h5, or a model JSON whose weights WithWeightsReader
// gives. The format is detected from content; WithName names the model in
// errors. r must stay readable until LoadReader returns.
func LoadReader(r io.ReaderAt, size int64, opts ...LoadOption) (*Model, error) {
	o := collectLoadOptions(opts)
	format, err := saving.DetectContent(r, size, o.name)
	if err != nil {
		return nil, err
	}
	return newModel(saving.LoadContent(r, size, format, o.name, &o.LoadOptions))
}

// LoadBytes is LoadReader on a model file held in memory.
func LoadBytes(data []byte, opts ...LoadOption) (*Model, error) {
	return LoadReader(bytes.NewReader(data), int64(len(data)), opts...)
}

// UnsupportedError reports a valid file that uses a Keras feature kerasrun
// cannot run (layers that cannot run are reported by *layers.UnsupportedError).
type UnsupportedError = saving.UnsupportedError

// IsUnsupported reports whether err says a valid file uses something
// kerasrun cannot run or read: a layer (*layers.UnsupportedError, naming
// each layer, its class and registered_name), a config feature
// (*kerasjson.UnsupportedError), an HDF5 feature (*h5.UnsupportedError) or
// a file feature (*UnsupportedError). Any other error means the file is
// malformed, unreadable or does not fit the model.
func IsUnsupported(err error) bool {
	var (
		k *UnsupportedError
		l *layers.UnsupportedError
		j *kerasjson.UnsupportedError
		h *h5.UnsupportedError
	)
	return errors.As(err, &k) || errors.As(err, &l) || errors.As(err, &j) || errors.As(err, &h)
}
