package saving

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/saving/legacyh5"
	"github.com/kerasrun/kerasrun/train"
)

// KerasVersionWritten is the Keras release whose file layout Save
// reproduces; files name it as their writer, as Keras reads it.
const KerasVersionWritten = "3.15.1"

// kerasArchiveBytes builds a .keras archive as Keras 3's saving_lib writes
// it: a zip of stored members metadata.json, config.json and
// model.weights.h5, in that order. Member times are fixed (1980-01-01, as
// Python's zipfile writes members it is given as bytes) so that the bytes
// depend on the model and the save date only.
func (m *Model) kerasArchiveBytes(o *SaveOptions) ([]byte, error) {
	config, err := m.keras3ConfigJSON(o)
	if err != nil {
		return nil, err
	}
	meta, err := json.Marshal(kerasjson.Ordered{
		{"keras_version", KerasVersionWritten},
		{"date_saved", o.Now().Format("2006-01-02@15:04:05")},
	})
	if err != nil {
		return nil, err
	}
	hw, err := m.keras3WeightsWriter(o)
	if err != nil {
		return nil, err
	}
	var weights bytes.Buffer
	if _, err := hw.WriteTo(&weights); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, member := range []struct {
		name string
		data []byte
	}{{"metadata.json", meta}, {"config.json", config}, {"model.weights.h5", weights.Bytes()}} {
		fh := &zip.FileHeader{
			Name:               member.name,
			Method:             zip.Store,
			CreatorVersion:     3 << 8, // Unix, as Python writes
			ModifiedDate:       1<<5 | 1,
			ExternalAttrs:      0o600 << 16,
			CRC32:              crc32.ChecksumIEEE(member.data),
			CompressedSize64:   uint64(len(member.data)),
			UncompressedSize64: uint64(len(member.data)),
		}
		w, err := zw.CreateRaw(fh)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(member.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// keras3WeightsWriter lays out the model's variables as Keras 3's
// saving_lib does (model.weights.h5 of a .keras archive, or a
// .weights.h5): for every layer <path>/vars/<i> with a "name" attribute
// on each vars group (Keras 3.6+), the paths from the same walk Load uses
// (WalkSaveable), the model's own vars at the root, and the optimizer's
// variables at optimizer/vars/<i> in Keras order.
func (m *Model) keras3WeightsWriter(o *SaveOptions) (*h5.Writer, error) {
	w := h5.NewWriter()
	if err := writeKeras3Layers(w.Root(), m.Net); err != nil {
		return nil, err
	}
	if m.Optimizer != nil && !o.NoOptimizer {
		og, err := w.Root().CreateGroup("optimizer")
		if err != nil {
			return nil, err
		}
		vg, err := og.CreateGroup("vars")
		if err != nil {
			return nil, err
		}
		if err := vg.SetAttr("name", h5.StringAttr(m.Optimizer.Name())); err != nil {
			return nil, err
		}
		for i, arr := range legacyh5.OptimizerArrays(m.Optimizer) {
			if _, err := vg.CreateDataset(strconv.Itoa(i), arr); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// writeKeras3Layers writes every layer's vars group at its saving_lib
// path below g, creating the groups on the way.
func writeKeras3Layers(g *h5.GroupWriter, net layers.Layer) error {
	groups := map[string]*h5.GroupWriter{"": g}
	var groupAt func(p string) (*h5.GroupWriter, error)
	groupAt = func(p string) (*h5.GroupWriter, error) {
		if gw, ok := groups[p]; ok {
			return gw, nil
		}
		parent, name := "", p
		if i := strings.LastIndex(p, "/"); i >= 0 {
			parent, name = p[:i], p[i+1:]
		}
		pg, err := groupAt(parent)
		if err != nil {
			return nil, err
		}
		gw, err := pg.CreateGroup(name)
		if err != nil {
			return nil, err
		}
		groups[p] = gw
		return gw, nil
	}
	return WalkSaveable(net, func(path string, l layers.Layer) error {
		lg, err := groupAt(path)
		if err != nil {
			return err
		}
		return writeKeras3Vars(lg, l)
	})
}

func writeKeras3Vars(g *h5.GroupWriter, l layers.Layer) error {
	vg, err := g.CreateGroup("vars")
	if err != nil {
		return err
	}
	if err := vg.SetAttr("name", h5.StringAttr(l.Common().Name)); err != nil {
		return err
	}
	if err := layers.SaveOwnVars(l, h5VarsWriter{vg}); err != nil {
		return fmt.Errorf("layer %s: %w", l.Common(), err)
	}
	return nil
}

// h5VarsWriter saves a layer's own variables into its vars group.
type h5VarsWriter struct{ g *h5.GroupWriter }

func (w h5VarsWriter) Float32(i int, v *runtime.Variable) error {
	_, err := w.g.CreateDataset(strconv.Itoa(i), h5.Float32Array(append([]int(nil), v.Value.Shape...), v.Value.Data))
	return err
}

func (w h5VarsWriter) Int64(i int, shape []int, data []int64) error {
	_, err := w.g.CreateDataset(strconv.Itoa(i), &h5.Array{DType: h5.DType{Kind: h5.Int64, Size: 8}, Shape: shape, Data: data})
	return err
}

// keras3ConfigJSON returns config.json for a .keras archive: the config
// the model was loaded with when it is already in Keras 3's serialization
// form (a .keras archive or a Keras 3 to_json()), else the model
// re-serialized in that form with its compile config translated.
func (m *Model) keras3ConfigJSON(o *SaveOptions) ([]byte, error) {
	var top map[string]any
	if err := kerasjson.DecodeNumbers(m.RawConfig, &top); err == nil && top["module"] != nil && top["config"] != nil {
		if _, has := top["compile_config"]; has || m.Training == nil {
			return m.RawConfig, nil
		}
		cc, err := m.keras3CompileConfig()
		if err != nil {
			return nil, err
		}
		top["compile_config"] = cc
		return json.Marshal(top)
	}
	obj, err := kerasjson.EncodeKeras3Model(m.Spec, m.Net.Trainable)
	if err != nil {
		return nil, err
	}
	var inputShape any
	if m.Spec.ClassName == "Sequential" && len(m.Spec.Layers) > 0 && m.Spec.Layers[0].ClassName == "InputLayer" {
		inputShape = m.Spec.Layers[0].Config["batch_shape"]
	}
	obj = append(obj, kerasjson.Field{"build_config", kerasjson.Ordered{{"input_shape", inputShape}}})
	if m.Training != nil {
		cc, err := m.keras3CompileConfig()
		if err != nil {
			return nil, err
		}
		obj = append(obj, kerasjson.Field{"compile_config", cc})
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	// Keras 1 and 2 computed hard_sigmoid as clip(0.2x + 0.5, 0, 1); Keras 3
	// has no activation of that formula, so such a model cannot become a
	// .keras archive without changing its outputs.
	if bytes.Contains(out, []byte(`"`+layers.Keras2Activation("hard_sigmoid")+`"`)) {
		return nil, &UnsupportedError{Feature: "Keras 2's hard_sigmoid (clip(0.2x + 0.5)), which a Keras 3 .keras archive cannot express; save as legacy .h5 instead"}
	}
	return out, nil
}

// keras3CompileConfig returns the model's compile_config in Keras 3's
// form: as loaded from a .keras archive, or translated from a legacy
// training_config (optimizer from its Keras 3 config, Keras 2 metric
// wrappers by name).
func (m *Model) keras3CompileConfig() (any, error) {
	var raw map[string]any
	if err := kerasjson.DecodeNumbers(m.RawCompile, &raw); err != nil {
		return nil, fmt.Errorf("compile config: %w", err)
	}
	if _, isKeras3 := raw["optimizer"]; isKeras3 {
		return raw, nil
	}
	var opt any
	if o := m.Training.Optimizer; o != nil {
		tr, err := train.NewOptimizer(o)
		if err != nil {
			return nil, err
		}
		class := strings.TrimPrefix(o.ClassName, "Custom>")
		if c, ok := kerasjson.Keras3OptimizerClass(class); ok {
			class = c
		}
		opt = kerasjson.Ordered{{"module", "keras.optimizers"}, {"class_name", class}, {"config", kerasjson.FloatsAsFloats(tr.GetConfig())}, {"registered_name", nil}}
	}
	outputs := m.Net.OutputNames
	return kerasjson.Ordered{
		{"optimizer", opt},
		{"loss", kerasjson.Keras3Losses(raw["loss"])},
		{"loss_weights", raw["loss_weights"]},
		{"metrics", kerasjson.Keras3Metrics(raw["metrics"], outputs)},
		{"weighted_metrics", kerasjson.Keras3Metrics(raw["weighted_metrics"], outputs)},
		{"run_eagerly", false},
		{"steps_per_execution", 1},
		{"jit_compile", false},
	}, nil
}
