package kerasjson

import "strings"

// ParseTrainingConfig decodes what model.compile() recorded, in any of the
// forms Keras writes it:
//
//   - the training_config attribute of a legacy .h5 file (Keras 1, Keras 2
//     and Keras 3): {"loss", "metrics", "weighted_metrics", "loss_weights",
//     "optimizer_config": {"class_name", "config"}, ...};
//   - a Keras 3 compile_config: {"optimizer", "loss", "metrics",
//     "loss_weights", "weighted_metrics", ...};
//   - a whole .keras config.json, whose top-level compile_config is read.
//
// It returns nil and no error when the model was not compiled (an empty
// or null compile_config).
//
// The optimizer is normalized to an Object whose ClassName is the Keras 3
// class ("Adam", "RMSprop", "SGD", ...): Keras 2 "Custom>Adam" and
// lower-case names such as "rmsprop" are mapped, and Keras 1/2 "lr" is
// renamed "learning_rate". Other arguments ("decay", "name", ...) are kept
// as written. Losses and metrics become *Object leaves (a bare string such
// as "mse" is Object{ClassName: "mse"}) inside the file's list or dict
// structure; null entries stay nil.
func ParseTrainingConfig(data []byte) (*TrainingConfig, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	return parseTrainingConfig(v, "")
}

// CompileConfig is ParseTrainingConfig under the name Keras 3 uses; it
// accepts the same forms, in particular config.json of a .keras archive.
func CompileConfig(data []byte) (*TrainingConfig, error) {
	return ParseTrainingConfig(data)
}

func parseTrainingConfig(v any, path string) (*TrainingConfig, error) {
	if v == nil {
		return nil, nil
	}
	obj, ok := asObject(v)
	if !ok {
		return nil, formatErr(path, "want a training config object, got %s", describe(v))
	}
	if _, isModel := obj["class_name"]; isModel {
		if _, ok := obj["compile_config"]; !ok {
			return nil, formatErr(path, "model config has no compile_config")
		}
		return parseTrainingConfig(obj["compile_config"], joinPath(path, "compile_config"))
	}
	if len(obj) == 0 {
		return nil, nil
	}
	tc := &TrainingConfig{Raw: Config(obj)}
	optKey := "optimizer_config"
	if _, ok := obj[optKey]; !ok {
		optKey = "optimizer"
	}
	if ov := obj[optKey]; ov != nil {
		opt, err := DecodeObject(ov)
		if err != nil {
			return nil, formatErr(joinPath(path, optKey), "%v", err)
		}
		normalizeOptimizer(opt)
		tc.Optimizer = opt
	}
	var err error
	if tc.Loss, err = decodeObjects(obj["loss"], joinPath(path, "loss")); err != nil {
		return nil, err
	}
	if tc.Metrics, err = decodeObjects(obj["metrics"], joinPath(path, "metrics")); err != nil {
		return nil, err
	}
	if tc.WeightedMetrics, err = decodeObjects(obj["weighted_metrics"], joinPath(path, "weighted_metrics")); err != nil {
		return nil, err
	}
	tc.LossWeights = obj["loss_weights"]
	return tc, nil
}

// optimizerClasses maps lower-case optimizer names to Keras 3 classes.
var optimizerClasses = map[string]string{
	"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adadelta": "Adadelta",
	"adamw": "AdamW", "adagrad": "Adagrad", "adamax": "Adamax", "adafactor": "Adafactor",
	"nadam": "Nadam", "ftrl": "Ftrl", "lion": "Lion", "muon": "Muon",
	"lossscaleoptimizer": "LossScaleOptimizer",
}

func normalizeOptimizer(o *Object) {
	name := strings.TrimPrefix(o.ClassName, "Custom>")
	if c, ok := optimizerClasses[strings.ToLower(name)]; ok {
		o.ClassName = c
	}
	if o.Config == nil {
		o.Config = Config{}
	}
	renameKey(o.Config, "lr", "learning_rate")
	// A Keras 2 LossScaleOptimizer wraps the real optimizer.
	if inner, ok := asObject(o.Config["inner_optimizer"]); ok {
		if io, err := DecodeObject(inner); err == nil {
			normalizeOptimizer(io)
			inner["class_name"] = io.ClassName
		}
	}
}

// decodeObjects turns the leaves of a loss or metrics structure into
// *Object values, keeping lists, dicts and nulls.
func decodeObjects(v any, path string) (any, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		return &Object{ClassName: t, Config: Config{}}, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			d, err := decodeObjects(e, indexPath(path, i))
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	case map[string]any:
		if _, ok := t["class_name"]; ok {
			o, err := DecodeObject(t)
			if err != nil {
				return nil, formatErr(path, "%v", err)
			}
			return o, nil
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			d, err := decodeObjects(e, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = d
		}
		return out, nil
	}
	return nil, formatErr(path, "want a loss or metric (string, object, list or dict), got %s", describe(v))
}
