package saving

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kerasrun/kerasrun/internal/atomicfile"
	"github.com/kerasrun/kerasrun/saving/legacyh5"
)

// Saving: save.go chooses the format and writes the file atomically;
// save_keras.go writes the Keras 3 .keras archive and .weights.h5;
// legacyh5 writes the legacy full-model .h5.
//
// The model config written is the one the model was loaded with, byte for
// byte where the target format can hold it (a Keras 3 config.json into a
// .keras archive; any model_config into a legacy .h5). Where it cannot —
// a Keras 1/2 config, or a Keras 3 legacy-.h5 config, going into a .keras
// archive, whose loader accepts only the Keras 3 serialization form — the
// config is re-serialized from the parsed, normalized model (see
// kerasjson.EncodeKeras3Model). Keras2 translates a Keras 3 config to the
// form tf-keras reads (kerasjson.EncodeKeras2Model).

// SaveOptions say how Save writes a model.
type SaveOptions struct {
	// Format is what to write; FormatUnknown: by the path's extension.
	Format Format
	// Keras2 writes a legacy .h5 tf-keras reads too; NoOptimizer leaves
	// the optimizer state out (include_optimizer=False).
	Keras2, NoOptimizer bool
	// Now is when a .keras archive says it was saved.
	Now func() time.Time
	// WrapWriter, when set, wraps the temporary file's writer (a test
	// injects a failure midway).
	WrapWriter func(io.Writer) io.Writer
}

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

// Save writes m to path: a Keras 3 .keras archive, a legacy
// full-model .h5 or Keras 3 weights (.weights.h5), chosen by o.Format or
// else the path's extension. The optimizer state is included when the
// model has one (restored from its file or built by training), unless
// o.NoOptimizer. The file is written to a temporary file in
// the same directory, synced and renamed over path, so a failed save
// leaves an existing file as it was; saving to the file the model was
// loaded from works. Saving the same model twice gives identical bytes,
// except for the date in a .keras archive's metadata.json.
func Save(path string, m *Model, o *SaveOptions) error {
	if o.Format == FormatUnknown {
		o.Format = FormatForPath(path)
		if o.Format == FormatUnknown {
			return fmt.Errorf("kerasrun: save %s: cannot tell the format from the extension (use .keras, .h5 or .weights.h5, or kerasrun.SaveFormat)", path)
		}
	}
	if o.Keras2 && o.Format != FormatH5 {
		return fmt.Errorf("kerasrun: save %s: Keras2Compatible applies to the legacy .h5 format only, not %s", path, o.Format)
	}
	var write func(io.Writer) error
	switch o.Format {
	case FormatKeras:
		data, err := m.kerasArchiveBytes(o)
		if err != nil {
			return fmt.Errorf("kerasrun: save %s: %w", path, err)
		}
		write = func(w io.Writer) error { _, err := w.Write(data); return err }
	case FormatWeightsH5:
		hw, err := m.keras3WeightsWriter(o)
		if err != nil {
			return fmt.Errorf("kerasrun: save %s: %w", path, err)
		}
		write = func(w io.Writer) error { _, err := hw.WriteTo(w); return err }
	case FormatH5:
		hw, err := legacyh5.NewWriter(&legacyh5.Model{
			Net: m.Net, Spec: m.Spec, Config: m.RawConfig, Compile: m.RawCompile, Training: m.Training,
			KerasVersion: m.Info.KerasVersion, Optimizer: m.Optimizer, OptimizerConfig: m.OptimizerConfig(),
		}, legacyh5.Options{Keras2: o.Keras2, NoOptimizer: o.NoOptimizer, KerasVersion: KerasVersionWritten})
		if err != nil {
			return fmt.Errorf("kerasrun: save %s: %w", path, err)
		}
		write = func(w io.Writer) error { _, err := hw.WriteTo(w); return err }
	default:
		return fmt.Errorf("kerasrun: save %s: cannot write %s", path, o.Format)
	}
	if err := writeAtomic(path, write, o.WrapWriter); err != nil {
		return fmt.Errorf("kerasrun: save %s: %w", path, err)
	}
	return nil
}

// writeAtomic writes path atomically (see atomicfile.Write), through wrap
// (when not nil) and a write buffer.
func writeAtomic(path string, write func(io.Writer) error, wrap func(io.Writer) io.Writer) error {
	return atomicfile.Write(path, func(out io.Writer) error {
		if wrap != nil {
			out = wrap(out)
		}
		bw := bufio.NewWriterSize(out, 1<<20)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}
