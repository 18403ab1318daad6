package kerasrun

import (
	"io"
	"time"

	"github.com/kerasrun/kerasrun/saving"
)

// SaveOption changes how Save writes a model.
type SaveOption func(*saving.SaveOptions)

// SaveFormat makes Save write format (FormatKeras, FormatH5 or
// FormatWeightsH5) whatever the path's extension.
func SaveFormat(format Format) SaveOption { return func(o *saving.SaveOptions) { o.Format = format } }

// Keras2Compatible makes Save write a legacy .h5 whose model config and
// optimizer weights tf-keras (Keras 2) can load as well as Keras 3.
//
// A model tf-keras cannot express is refused with an *UnsupportedError
// naming every such layer: a layer class tf-keras lacks, an argument it
// does not accept (unless it holds Keras 3's default and can be dropped),
// an activation it lacks, or Keras 3's hard_sigmoid (another formula under
// the same name in Keras 2). The table of what tf-keras accepts,
// kerasjson/keras2_layers.json, is written by compat/python/export_keras2_layer_args.py.
func Keras2Compatible() SaveOption { return func(o *saving.SaveOptions) { o.Keras2 = true } }

// WithoutOptimizer leaves the optimizer state out of the file, as Keras's
// include_optimizer=False does.
func WithoutOptimizer() SaveOption { return func(o *saving.SaveOptions) { o.NoOptimizer = true } }

// saveTime is when a .keras archive says it was saved (a test sets it).
var saveTime = time.Now

// FormatForPath returns the format Save writes for path's extension:
// FormatWeightsH5 for ".weights.h5", FormatKeras for ".keras", FormatH5
// for ".h5" and ".hdf5", FormatUnknown otherwise.
func FormatForPath(path string) Format { return saving.FormatForPath(path) }

// Save writes the model to path: a Keras 3 .keras archive, a legacy
// full-model .h5 or Keras 3 weights (.weights.h5), chosen by the path's
// extension or by SaveFormat. The optimizer state is included when the
// model has one (restored from its file or built by training), unless
// WithoutOptimizer is given. The file is written to a temporary file in
// the same directory, synced and renamed over path, so a failed save
// leaves an existing file as it was; saving to the file the model was
// loaded from works. Saving the same model twice gives identical bytes,
// except for the date in a .keras archive's metadata.json.
func (m *Model) Save(path string, opts ...SaveOption) error {
	o := saving.SaveOptions{Now: saveTime, WrapWriter: saveWriteHook}
	for _, opt := range opts {
		opt(&o)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return saving.Save(path, m.f, &o)
}

// saveWriteHook, when set by a test, wraps the temporary file's writer so
// that a failure can be injected midway.
var saveWriteHook func(io.Writer) io.Writer
