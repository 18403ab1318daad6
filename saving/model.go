package saving

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/saving/legacyh5"
	"github.com/kerasrun/kerasrun/train"
)

// UnsupportedError reports a valid file that uses a Keras feature kerasrun
// cannot run (layers that cannot run are reported by *layers.UnsupportedError).
type UnsupportedError = legacyh5.UnsupportedError

// Model is a model read from a file: the runnable network and what the
// file said about it, which Save writes back.
type Model struct {
	Net      *layers.Model
	Spec     *kerasjson.Model
	Training *kerasjson.TrainingConfig // what model.compile() recorded, or nil
	Info     FileInfo

	// Optimizer is restored from the file or built on first training
	// (EnsureOptimizer); OptimizerSkipped says why the file's optimizer
	// state was not restored; Logger (never nil) takes the warnings.
	Optimizer        train.Optimizer
	OptimizerSkipped string
	Logger           *slog.Logger

	// RawConfig is the model config JSON exactly as the file held it
	// (config.json of a .keras archive, model_config of a legacy .h5, the
	// to_json() text) and RawCompile the compile or training config JSON
	// (nil when not compiled): Save writes them back unchanged.
	RawConfig, RawCompile []byte
}

// FileInfo describes where a model came from.
type FileInfo struct {
	Path         string // the file (or directory) loaded
	Format       Format
	KerasVersion string // the writer's Keras version, when the file says
	Backend      string // the writer's backend, when the file says
}

// parseModel parses a model configuration. A subclassed model (its Python
// class defines the computation; the file has no layer graph) is reported
// as a *layers.UnsupportedError naming the model, its class and
// registered_name, like any other layer that cannot run.
func parseModel(data []byte) (*kerasjson.Model, error) {
	spec, err := kerasjson.ParseModel(data)
	var ue *kerasjson.UnsupportedError
	if err == nil || !errors.As(err, &ue) {
		return spec, err
	}
	switch ue.ClassName {
	case "", "Sequential", "Functional", "Model":
		return nil, err
	}
	return nil, &layers.UnsupportedError{Layers: []layers.UnsupportedLayer{{
		Name: ue.Name, ClassName: ue.ClassName, RegisteredName: ue.RegisteredName,
		Reason: "a subclassed model: its Python call() defines the computation and the file holds no layer graph; rebuild it as a Functional or Sequential model in Python, or run it there (" + ue.Feature + ")",
	}}}
}

// buildModel turns a parsed config into a runnable model. kerasVersion is
// the writer's Keras version: a file from Keras 1 or 2 (or too old to say)
// gets Keras 2's activation formulas where they differ from Keras 3's
// (hard_sigmoid).
func buildModel(path string, spec *kerasjson.Model, kerasVersion string) (*Model, error) {
	if kerasMajor(kerasVersion) < 3 {
		renameKeras2Activations(spec)
	}
	if q := quantizedLayers(spec, nil); len(q) > 0 {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, &layers.UnsupportedError{Layers: q})
	}
	net, err := layers.NewModel(spec)
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	return &Model{Net: net, Spec: spec, Logger: slog.New(slog.DiscardHandler)}, nil
}

// kerasMajor returns the major version of a Keras version string, 0 when
// it is empty or unreadable (files older than keras_version).
func kerasMajor(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func renameKeras2Activations(spec *kerasjson.Model) {
	for _, l := range spec.Layers {
		layers.RenameKeras2Activations(l.Config)
		l.Keras2 = true
		if l.Model != nil {
			renameKeras2Activations(l.Model)
		}
	}
}

// jsonKerasVersion reads the top-level keras_version of a to_json() file.
// Keras 3's to_json() writes none: its serialization format (top-level
// "module" and "registered_name", which Keras 1 and 2 never write) says
// "3".
func jsonKerasVersion(data []byte) string {
	var top struct {
		KerasVersion   string          `json:"keras_version"`
		Module         json.RawMessage `json:"module"`
		RegisteredName json.RawMessage `json:"registered_name"`
	}
	json.Unmarshal(data, &top)
	if top.KerasVersion == "" && (top.Module != nil || top.RegisteredName != nil) {
		return "3"
	}
	return top.KerasVersion
}

// quantizedPolicy matches the dtype policy names of Keras 3's quantized
// layers ("int8_from_float32", "float8_from_mixed_bfloat16", ...).
var quantizedPolicy = regexp.MustCompile(`^(int8|int4|float8|gptq)(/.*)?_from_`)

// quantizedLayers lists the layers whose dtype policy says model.quantize
// replaced their weights by integer ones with scales.
func quantizedLayers(spec *kerasjson.Model, out []layers.UnsupportedLayer) []layers.UnsupportedLayer {
	for _, ls := range spec.Layers {
		if ls.Model != nil {
			out = quantizedLayers(ls.Model, out)
			continue
		}
		if d, _ := ls.Config.String("dtype", ""); quantizedPolicy.MatchString(d) {
			out = append(out, layers.UnsupportedLayer{Name: ls.Name, ClassName: ls.ClassName, RegisteredName: ls.RegisteredName,
				Reason: fmt.Sprintf("quantized layer (dtype policy %q): integer weights with scales are not supported; save the model before model.quantize", d)})
		}
	}
	return out
}
