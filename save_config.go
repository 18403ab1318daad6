package kerasrun

import (
	"fmt"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/train"
)

// keras3CompileConfig returns the model's compile_config in Keras 3's
// form: as loaded from a .keras archive, or translated from a legacy
// training_config (optimizer from its Keras 3 config, Keras 2 metric
// wrappers by name).
func (m *Model) keras3CompileConfig() (any, error) {
	var raw map[string]any
	if err := kerasjson.DecodeNumbers(m.rawCompile, &raw); err != nil {
		return nil, fmt.Errorf("compile config: %w", err)
	}
	if _, isKeras3 := raw["optimizer"]; isKeras3 {
		return raw, nil
	}
	var opt any
	if o := m.training.Optimizer; o != nil {
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
	outputs := m.net.OutputNames
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
