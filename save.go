package kerasrun

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kerasrun/kerasrun/internal/atomicfile"
	"github.com/kerasrun/kerasrun/saving/legacyh5"
)

// Saving, in three files: save.go chooses the format and writes the file
// atomically; save_keras.go writes the Keras 3 .keras archive and
// .weights.h5; save_h5.go writes the legacy full-model .h5.
//
// The model config written is the one the model was loaded with, byte for
// byte where the target format can hold it (a Keras 3 config.json into a
// .keras archive; any model_config into a legacy .h5). Where it cannot —
// a Keras 1/2 config, or a Keras 3 legacy-.h5 config, going into a .keras
// archive, whose loader accepts only the Keras 3 serialization form — the
// config is re-serialized from the parsed, normalized model (see
// keras3ModelJSON). Keras2Compatible translates a Keras 3 config to the
// form tf-keras reads.

// SaveOption changes how Save writes a model.
type SaveOption func(*saveOptions)

type saveOptions struct {
	format      Format
	keras2      bool
	noOptimizer bool
	now         func() time.Time
}

// SaveFormat makes Save write format (FormatKeras, FormatH5 or
// FormatWeightsH5) whatever the path's extension.
func SaveFormat(format Format) SaveOption { return func(o *saveOptions) { o.format = format } }

// Keras2Compatible makes Save write a legacy .h5 whose model config and
// optimizer weights tf-keras (Keras 2) can load as well as Keras 3.
//
// A model tf-keras cannot express is refused with an *UnsupportedError
// naming every such layer: a layer class tf-keras lacks, an argument it
// does not accept (unless it holds Keras 3's default and can be dropped),
// an activation it lacks, or Keras 3's hard_sigmoid (another formula under
// the same name in Keras 2). The table of what tf-keras accepts,
// kerasjson/keras2_layers.json, is written by compat/python/export_keras2_layer_args.py.
func Keras2Compatible() SaveOption { return func(o *saveOptions) { o.keras2 = true } }

// WithoutOptimizer leaves the optimizer state out of the file, as Keras's
// include_optimizer=False does.
func WithoutOptimizer() SaveOption { return func(o *saveOptions) { o.noOptimizer = true } }

// saveTime is when a .keras archive says it was saved (a test sets it).
var saveTime = time.Now

// FormatForPath returns the format Save writes for path's extension:
// FormatWeightsH5 for ".weights.h5", FormatKeras for ".keras", FormatH5
// for ".h5" and ".hdf5", FormatUnknown otherwise.
func FormatForPath(path string) Format {
	p := strings.ToLower(path)
	switch {
	case strings.HasSuffix(p, ".weights.h5"):
		return FormatWeightsH5
	case strings.HasSuffix(p, ".keras"):
		return FormatKeras
	case strings.HasSuffix(p, ".h5"), strings.HasSuffix(p, ".hdf5"):
		return FormatH5
	}
	return FormatUnknown
}

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
	o := saveOptions{now: saveTime}
	for _, opt := range opts {
		opt(&o)
	}
	if o.format == FormatUnknown {
		o.format = FormatForPath(path)
		if o.format == FormatUnknown {
			return fmt.Errorf("kerasrun: save %s: cannot tell the format from the extension (use .keras, .h5 or .weights.h5, or kerasrun.SaveFormat)", path)
		}
	}
	if o.keras2 && o.format != FormatH5 {
		return fmt.Errorf("kerasrun: save %s: Keras2Compatible applies to the legacy .h5 format only, not %s", path, o.format)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var write func(io.Writer) error
	switch o.format {
	case FormatKeras:
		data, err := m.kerasArchiveBytes(&o)
		if err != nil {
			return fmt.Errorf("kerasrun: save %s: %w", path, err)
		}
		write = func(w io.Writer) error { _, err := w.Write(data); return err }
	case FormatWeightsH5:
		hw, err := m.keras3WeightsWriter(&o)
		if err != nil {
			return fmt.Errorf("kerasrun: save %s: %w", path, err)
		}
		write = func(w io.Writer) error { _, err := hw.WriteTo(w); return err }
	case FormatH5:
		hw, err := legacyh5.NewWriter(&legacyh5.Model{
			Net: m.net, Spec: m.spec, Config: m.rawConfig, Compile: m.rawCompile, Training: m.training,
			KerasVersion: m.info.KerasVersion, Optimizer: m.optimizer, OptimizerConfig: m.optimizerConfig(),
		}, legacyh5.Options{Keras2: o.keras2, NoOptimizer: o.noOptimizer, KerasVersion: kerasVersionWritten})
		if err != nil {
			return fmt.Errorf("kerasrun: save %s: %w", path, err)
		}
		write = func(w io.Writer) error { _, err := hw.WriteTo(w); return err }
	default:
		return fmt.Errorf("kerasrun: save %s: cannot write %s", path, o.format)
	}
	if err := writeAtomic(path, write); err != nil {
		return fmt.Errorf("kerasrun: save %s: %w", path, err)
	}
	return nil
}

// saveWriteHook, when set by a test, wraps the temporary file's writer so
// that a failure can be injected midway.
var saveWriteHook func(io.Writer) io.Writer

// writeAtomic writes path atomically (see atomicfile.Write), through the
// test hook and a write buffer.
func writeAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, func(out io.Writer) error {
		if saveWriteHook != nil {
			out = saveWriteHook(out)
		}
		bw := bufio.NewWriterSize(out, 1<<20)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}
