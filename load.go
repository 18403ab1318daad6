package kerasrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/saving"
	"github.com/kerasrun/kerasrun/saving/legacyh5"
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
	weights     string
	weightsR    io.ReaderAt
	weightsSize int64
	name        string
	logger      *slog.Logger
}

func collectLoadOptions(opts []LoadOption) loadOptions {
	o := loadOptions{name: "model"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// WithWeights names the weights file for a model JSON file: a Keras 2
// save_weights .h5 or a Keras 3 .weights.h5.
func WithWeights(path string) LoadOption { return func(o *loadOptions) { o.weights = path } }

// WithWeightsReader gives LoadReader (or Load) the weights of a model JSON
// as an HDF5 file of size bytes read from r: a Keras 2 save_weights .h5, a
// full legacy .h5 or a Keras 3 .weights.h5.
func WithWeightsReader(r io.ReaderAt, size int64) LoadOption {
	return func(o *loadOptions) { o.weightsR, o.weightsSize = r, size }
}

// WithName names the model read by LoadReader or LoadBytes in errors and
// in Info().Path (default "model").
func WithName(name string) LoadOption { return func(o *loadOptions) { o.name = name } }

// WithLogger sends Load's warnings (optimizer state that does not fit the
// model and is skipped, as Keras warns) to l; by default they are dropped.
func WithLogger(l *slog.Logger) LoadOption { return func(o *loadOptions) { o.logger = l } }

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
	format, err := DetectFormat(path)
	if err != nil {
		return nil, err
	}
	if format == FormatKerasDir {
		a, err := saving.OpenDir(path)
		if err != nil {
			return nil, err
		}
		defer a.Close()
		m, err := loadKerasArchive(path, a, &o)
		if err != nil {
			return nil, err
		}
		m.info.Path, m.info.Format, m.logger = path, format, o.logger
		return m, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return loadContent(f, st.Size(), format, path, &o)
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
	return loadContent(r, size, format, o.name, &o)
}

// LoadBytes is LoadReader on a model file held in memory.
func LoadBytes(data []byte, opts ...LoadOption) (*Model, error) {
	return LoadReader(bytes.NewReader(data), int64(len(data)), opts...)
}

func loadContent(r io.ReaderAt, size int64, format Format, name string, o *loadOptions) (*Model, error) {
	var m *Model
	var err error
	switch format {
	case FormatH5:
		var f *h5.File
		if f, err = h5.NewFile(r, size, name); err != nil {
			return nil, err
		}
		m, err = loadH5(f, name, o)
	case FormatKeras:
		var a *saving.Archive
		if a, err = saving.OpenZip(r, size, name); err != nil {
			return nil, err
		}
		defer a.Close()
		m, err = loadKerasArchive(name, a, o)
	case FormatJSON:
		if size > saving.MaxConfigBytes {
			return nil, fmt.Errorf("kerasrun: %s: larger than %d bytes", name, saving.MaxConfigBytes)
		}
		data := make([]byte, size)
		if _, err := r.ReadAt(data, 0); err != nil && !(errors.Is(err, io.EOF) && size > 0) {
			return nil, fmt.Errorf("kerasrun: %s: %w", name, err)
		}
		m, err = loadJSON(data, name, o)
	default:
		return nil, fmt.Errorf("kerasrun: %s: %s cannot be read from a single file", name, format)
	}
	if err != nil {
		return nil, err
	}
	m.info.Path, m.info.Format, m.logger = name, format, o.logger
	return m, nil
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
	return &Model{net: net, spec: spec, logger: slog.New(slog.DiscardHandler)}, nil
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

func loadH5(f *h5.File, path string, o *loadOptions) (*Model, error) {
	root := f.Root()
	cfgJSON, err := legacyh5.StringAttr(root, "model_config")
	if errors.Is(err, h5.ErrNotFound) {
		return nil, fmt.Errorf("kerasrun: %s: HDF5 file has no model_config: it holds weights only; load the model's JSON with kerasrun.Load(json, kerasrun.WithWeights(%q))", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	spec, err := parseModel([]byte(cfgJSON))
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: model_config: %w", path, err)
	}
	version, _ := legacyh5.StringAttr(root, "keras_version")
	m, err := buildModel(path, spec, version)
	if err != nil {
		return nil, err
	}
	m.rawConfig = []byte(cfgJSON)
	m.info.KerasVersion, _ = legacyh5.StringAttr(root, "keras_version")
	m.info.Backend, _ = legacyh5.StringAttr(root, "backend")
	if tc, err := legacyh5.StringAttr(root, "training_config"); err == nil {
		if m.training, err = kerasjson.ParseTrainingConfig([]byte(tc)); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: training_config: %w", path, err)
		}
		m.rawCompile = []byte(tc)
	}
	wg, err := root.Group("model_weights")
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	if err := legacyh5.LoadWeights(wg, m.net); err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	m.info.Path, m.logger = path, o.logger
	if err := m.restoreOptimizerLegacy(root); err != nil {
		if keras1SplitGates(m) {
			// Keras 1 kept one optimizer slot per gate weight of an LSTM
			// or GRU, which Keras 2 merges into three weights; Keras 2
			// could not restore such a state either and started with a
			// fresh optimizer. So does kerasrun.
			err = &optimizerMismatch{"Keras 1 optimizer slots of split LSTM/GRU gates: " + err.Error()}
		}
		if err := m.skipOptimizer(err); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: optimizer_weights: %w", path, err)
		}
	}
	return m, nil
}

// keras1SplitGates reports whether m was written by Keras 1 and has an
// LSTM or GRU, whose Keras 1 weights were split per gate.
func keras1SplitGates(m *Model) bool {
	if kerasMajor(m.info.KerasVersion) >= 2 {
		return false
	}
	for _, l := range allLayers(m.net) {
		switch l.Common().ClassName {
		case "LSTM", "GRU":
			return true
		}
	}
	return false
}

func loadJSON(data []byte, path string, o *loadOptions) (*Model, error) {
	spec, err := parseModel(data)
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	m, err := buildModel(path, spec, jsonKerasVersion(data))
	if err != nil {
		return nil, err
	}
	m.rawConfig = data
	if o.weightsR != nil {
		f, err := h5.NewFile(o.weightsR, o.weightsSize, path+" weights")
		if err != nil {
			return nil, err
		}
		if err := loadWeightsH5(f, path+" weights", m); err != nil {
			return nil, err
		}
		return m, nil
	}
	if o.weights == "" {
		return nil, fmt.Errorf("kerasrun: %s: a model JSON file needs its weights file (kerasrun.WithWeights or WithWeightsReader, or --weights on the command line)", path)
	}
	if err := loadWeightsFile(o.weights, m); err != nil {
		return nil, err
	}
	return m, nil
}

// loadWeightsFile loads a weights file of any layout: Keras 2 save_weights
// (layer groups at the root, with layer_names), a full legacy .h5 (its
// model_weights), Keras 3 .weights.h5 (layers/<name>/vars/<i>), or Keras 3
// sharded weights (a .weights.json map naming .weights.h5 shards).
func loadWeightsFile(path string, m *Model) error {
	format, err := DetectFormat(path)
	if err != nil {
		return err
	}
	if format == FormatJSON {
		store, err := saving.OpenSharded(path)
		if err != nil {
			return err
		}
		defer store.Close()
		if err := loadKeras3Weights(store, m); err != nil {
			return fmt.Errorf("kerasrun: %s: %w", path, err)
		}
		return nil
	}
	if format != FormatH5 {
		return fmt.Errorf("kerasrun: %s: a weights file must be HDF5 (.h5, .weights.h5) or a sharded .weights.json, not %s", path, format)
	}
	f, err := h5.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return loadWeightsH5(f, path, m)
}

// loadWeightsH5 loads an HDF5 weights file of any layout (see
// loadWeightsFile).
func loadWeightsH5(f *h5.File, path string, m *Model) error {
	var err error
	root := f.Root()
	// err must not be shadowed here: each branch's error is returned below.
	if _, aerr := root.Attr("layer_names"); aerr == nil {
		m.info.KerasVersion, _ = legacyh5.StringAttr(root, "keras_version")
		m.info.Backend, _ = legacyh5.StringAttr(root, "backend")
		err = legacyh5.LoadWeights(root, m.net)
	} else if wg, gerr := root.Group("model_weights"); gerr == nil {
		err = legacyh5.LoadWeights(wg, m.net)
	} else {
		err = loadKeras3Weights(saving.H5Store{Root: root}, m)
	}
	if err != nil {
		return fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	return nil
}

func loadKerasArchive(path string, a *saving.Archive, o *loadOptions) (*Model, error) {
	if a.Config == nil {
		return nil, fmt.Errorf("kerasrun: %s: archive has no config.json", path)
	}
	spec, err := parseModel(a.Config)
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: config.json: %w", path, err)
	}
	// A .keras archive is Keras 3's format (tf-keras 2.13+ wrote it too,
	// and says so in metadata.json).
	meta := struct {
		KerasVersion string `json:"keras_version"`
	}{KerasVersion: "3"}
	if a.Metadata != nil {
		json.Unmarshal(a.Metadata, &meta)
	}
	m, err := buildModel(path, spec, meta.KerasVersion)
	if err != nil {
		return nil, err
	}
	m.rawConfig = a.Config
	if a.Metadata != nil {
		m.info.KerasVersion = meta.KerasVersion
	}
	var top struct {
		CompileConfig json.RawMessage `json:"compile_config"`
	}
	if json.Unmarshal(a.Config, &top) == nil && len(top.CompileConfig) > 0 && string(top.CompileConfig) != "null" {
		if m.training, err = kerasjson.ParseTrainingConfig(top.CompileConfig); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: compile_config: %w", path, err)
		}
		m.rawCompile = top.CompileConfig
	}
	if err := a.OpenWeights(saving.WeightsBound(m.net)); err != nil {
		return nil, err
	}
	if a.Weights == nil {
		if a.NPZWeights {
			return nil, fmt.Errorf("kerasrun: %s: %w", path, &UnsupportedError{Feature: "weights stored as model.weights.npz (Keras's npz weights format); re-save the model with the default .h5 weights"})
		}
		return nil, fmt.Errorf("kerasrun: %s: archive has no model.weights.h5", path)
	}
	if err := loadKeras3Weights(saving.H5Store{Root: a.Weights.Root()}, m); err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	m.info.Path, m.logger = path, o.logger
	if err := m.skipOptimizer(m.restoreOptimizerKeras3(a.Weights.Root())); err != nil {
		return nil, fmt.Errorf("kerasrun: %s: optimizer: %w", path, err)
	}
	return m, nil
}

// UnsupportedError reports a valid file that uses a Keras feature kerasrun
// cannot run (layers that cannot run are reported by *layers.UnsupportedError).
type UnsupportedError = legacyh5.UnsupportedError

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
