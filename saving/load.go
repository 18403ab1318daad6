package saving

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/saving/legacyh5"
)

// LoadOptions say how Load reads a model.
type LoadOptions struct {
	// Weights names the weights file of a model JSON; WeightsReader, when
	// set, gives it as an HDF5 file of WeightsSize bytes instead.
	Weights       string
	WeightsReader io.ReaderAt
	WeightsSize   int64
	// Logger takes the warnings (never nil).
	Logger *slog.Logger
	// ArchitectureOnly builds a model JSON given no weights file from its
	// configuration alone, its weights left unloaded: for describing the
	// model (summary, plot), never for running it.
	ArchitectureOnly bool
}

// Load reads a model file or .keras directory of any format, detected
// from content, builds its layer graph and loads its weights and optimizer
// state.
func Load(path string, o *LoadOptions) (*Model, error) {
	format, err := Detect(path)
	if err != nil {
		return nil, err
	}
	if format == FormatKerasDir {
		a, err := OpenDir(path)
		if err != nil {
			return nil, err
		}
		defer a.Close()
		m, err := loadKerasArchive(path, a, o)
		if err != nil {
			return nil, err
		}
		m.Info.Path, m.Info.Format, m.Logger = path, format, o.Logger
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
	return LoadContent(f, st.Size(), format, path, o)
}

// LoadContent reads a single-file model of size bytes from r, of the given
// format, named name in errors.
func LoadContent(r io.ReaderAt, size int64, format Format, name string, o *LoadOptions) (*Model, error) {
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
		var a *Archive
		if a, err = OpenZip(r, size, name); err != nil {
			return nil, err
		}
		defer a.Close()
		m, err = loadKerasArchive(name, a, o)
	case FormatJSON:
		if size > MaxConfigBytes {
			return nil, fmt.Errorf("kerasrun: %s: larger than %d bytes", name, MaxConfigBytes)
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
	m.Info.Path, m.Info.Format, m.Logger = name, format, o.Logger
	return m, nil
}

func loadH5(f *h5.File, path string, o *LoadOptions) (*Model, error) {
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
	m.RawConfig = []byte(cfgJSON)
	m.Info.KerasVersion, _ = legacyh5.StringAttr(root, "keras_version")
	m.Info.Backend, _ = legacyh5.StringAttr(root, "backend")
	if tc, err := legacyh5.StringAttr(root, "training_config"); err == nil {
		if m.Training, err = kerasjson.ParseTrainingConfig([]byte(tc)); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: training_config: %w", path, err)
		}
		m.RawCompile = []byte(tc)
	}
	wg, err := root.Group("model_weights")
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	if err := legacyh5.LoadWeights(wg, m.Net); err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	m.Info.Path, m.Logger = path, o.Logger
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
	if kerasMajor(m.Info.KerasVersion) >= 2 {
		return false
	}
	for _, l := range allLayers(m.Net) {
		switch l.Common().ClassName {
		case "LSTM", "GRU":
			return true
		}
	}
	return false
}

func loadJSON(data []byte, path string, o *LoadOptions) (*Model, error) {
	spec, err := parseModel(data)
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	m, err := buildModel(path, spec, jsonKerasVersion(data))
	if err != nil {
		return nil, err
	}
	m.RawConfig = data
	if o.WeightsReader != nil {
		f, err := h5.NewFile(o.WeightsReader, o.WeightsSize, path+" weights")
		if err != nil {
			return nil, err
		}
		if err := loadWeightsH5(f, path+" weights", m); err != nil {
			return nil, err
		}
		return m, nil
	}
	if o.Weights == "" && o.ArchitectureOnly {
		return m, nil
	}
	if o.Weights == "" {
		return nil, fmt.Errorf("kerasrun: %s: a model JSON file needs its weights file (kerasrun.WithWeights or WithWeightsReader, or --weights on the command line)", path)
	}
	if err := loadWeightsFile(o.Weights, m); err != nil {
		return nil, err
	}
	return m, nil
}

// loadWeightsFile loads a weights file of any layout: Keras 2 save_weights
// (layer groups at the root, with layer_names), a full legacy .h5 (its
// model_weights), Keras 3 .weights.h5 (layers/<name>/vars/<i>), or Keras 3
// sharded weights (a .weights.json map naming .weights.h5 shards).
func loadWeightsFile(path string, m *Model) error {
	format, err := Detect(path)
	if err != nil {
		return err
	}
	if format == FormatJSON {
		store, err := OpenSharded(path)
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
		m.Info.KerasVersion, _ = legacyh5.StringAttr(root, "keras_version")
		m.Info.Backend, _ = legacyh5.StringAttr(root, "backend")
		err = legacyh5.LoadWeights(root, m.Net)
	} else if wg, gerr := root.Group("model_weights"); gerr == nil {
		err = legacyh5.LoadWeights(wg, m.Net)
	} else {
		err = loadKeras3Weights(H5Store{Root: root}, m)
	}
	if err != nil {
		return fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	return nil
}

func loadKerasArchive(path string, a *Archive, o *LoadOptions) (*Model, error) {
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
	m.RawConfig = a.Config
	if a.Metadata != nil {
		m.Info.KerasVersion = meta.KerasVersion
	}
	var top struct {
		CompileConfig json.RawMessage `json:"compile_config"`
	}
	if json.Unmarshal(a.Config, &top) == nil && len(top.CompileConfig) > 0 && string(top.CompileConfig) != "null" {
		if m.Training, err = kerasjson.ParseTrainingConfig(top.CompileConfig); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: compile_config: %w", path, err)
		}
		m.RawCompile = top.CompileConfig
	}
	if err := a.OpenWeights(WeightsBound(m.Net)); err != nil {
		return nil, err
	}
	if a.Weights == nil {
		if a.NPZWeights {
			return nil, fmt.Errorf("kerasrun: %s: %w", path, &UnsupportedError{Feature: "weights stored as model.weights.npz (Keras's npz weights format); re-save the model with the default .h5 weights"})
		}
		return nil, fmt.Errorf("kerasrun: %s: archive has no model.weights.h5", path)
	}
	if err := loadKeras3Weights(H5Store{Root: a.Weights.Root()}, m); err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	m.Info.Path, m.Logger = path, o.Logger
	if err := m.skipOptimizer(m.restoreOptimizerKeras3(a.Weights.Root())); err != nil {
		return nil, fmt.Errorf("kerasrun: %s: optimizer: %w", path, err)
	}
	return m, nil
}
