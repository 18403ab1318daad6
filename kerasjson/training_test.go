package kerasjson

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseTrainingFile(t *testing.T, path string) *TrainingConfig {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := ParseTrainingConfig(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if tc == nil {
		t.Fatalf("%s: no training config", path)
	}
	return tc
}

func lossName(t *testing.T, v any) string {
	t.Helper()
	o, ok := v.(*Object)
	if !ok {
		t.Fatalf("loss %T %v is not an *Object", v, v)
	}
	return o.ClassName
}

func TestTrainingConfigGenerated(t *testing.T) {
	cases := []struct {
		file      string
		optimizer string
		lr        string
		loss      string
	}{
		// Keras 3 compile_config and legacy .h5 training_config.
		{"k3_compile_adam_mse.json", "Adam", "0.0020000000949949026", "mse"},
		{"k3_compile_adam_mse.training_config.json", "Adam", "0.0020000000949949026", "mse"},
		{"k3_compile_sgd_sparse.json", "SGD", "0.10000000149011612", "SparseCategoricalCrossentropy"},
		{"k3_compile_sgd_sparse.training_config.json", "SGD", "0.10000000149011612", "SparseCategoricalCrossentropy"},
		{"k3_compile_rmsprop_string.json", "RMSprop", "0.0010000000474974513", "binary_crossentropy"},
		{"k3_compile_rmsprop_string.training_config.json", "RMSprop", "0.0010000000474974513", "binary_crossentropy"},
		// tf.keras 2.11+ writes "Custom>Adam".
		{"k2_compile_adam_mse.training_config.json", "Adam", "0.0020000000949949026", "mse"},
		{"k2_compile_sgd_sparse.training_config.json", "SGD", "0.10000000149011612", "SparseCategoricalCrossentropy"},
		{"k2_compile_rmsprop_string.training_config.json", "RMSprop", "0.0010000000474974513", "binary_crossentropy"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tc := parseTrainingFile(t, filepath.Join("testdata/generated", c.file))
			if tc.Optimizer == nil || tc.Optimizer.ClassName != c.optimizer {
				t.Fatalf("optimizer %+v", tc.Optimizer)
			}
			if lr := tc.Optimizer.Config["learning_rate"]; lr != json.Number(c.lr) {
				t.Errorf("learning_rate %v", lr)
			}
			if got := lossName(t, tc.Loss); got != c.loss {
				t.Errorf("loss %q", got)
			}
			if tc.Raw == nil {
				t.Error("Raw not set")
			}
		})
	}
	tc := parseTrainingFile(t, "testdata/generated/k3_compile_sgd_sparse.json")
	loss := tc.Loss.(*Object)
	if fl, _ := loss.Config.Bool("from_logits", false); !fl || loss.Module != "keras.losses" {
		t.Errorf("loss %+v", loss)
	}
	if nest, _ := tc.Optimizer.Config.Bool("nesterov", false); !nest {
		t.Errorf("nesterov lost: %v", tc.Optimizer.Config)
	}
	if m := tc.Metrics.([]any); len(m) != 1 || m[0].(*Object).ClassName != "accuracy" {
		t.Errorf("metrics %v", tc.Metrics)
	}
}

// Multi-output compile: dict losses and loss weights, per-output metrics.
func TestTrainingConfigMultiOutput(t *testing.T) {
	for _, f := range []string{"k2_multiio_h5.training_config.json", "k3_multiio_h5.training_config.json"} {
		tc := parseTrainingFile(t, "testdata/generated/"+f)
		loss, ok := tc.Loss.(map[string]any)
		if !ok || lossName(t, loss["out1"]) != "mse" || lossName(t, loss["out2"]) != "categorical_crossentropy" {
			t.Errorf("%s: loss %v", f, tc.Loss)
		}
		lw := tc.LossWeights.(map[string]any)
		if lw["out2"] != json.Number("0.5") {
			t.Errorf("%s: loss_weights %v", f, lw)
		}
	}
	// tf.keras records per-output metric lists, null for none.
	tc := parseTrainingFile(t, "testdata/generated/k2_multiio_h5.training_config.json")
	m := tc.Metrics.([]any)
	if first := m[0].([]any); len(first) != 1 || first[0] != nil {
		t.Errorf("metrics[0] %v", m[0])
	}
	if w := m[1].([]any)[0].(*Object); w.ClassName != "MeanMetricWrapper" || w.Config["fn"] != "categorical_accuracy" {
		t.Errorf("metrics[1] %+v", w)
	}
}

// Keras 1 and Keras 2 optimizers: "lr" becomes "learning_rate", "decay"
// stays.
func TestTrainingConfigLegacy(t *testing.T) {
	cases := []struct {
		file, optimizer, lr, decay, loss string
	}{
		{"dl4j-simple_lstm_tf_keras_1.simple_lstm_tf_keras_1_model", "RMSprop", "0.0010000000474974513", "0.0", "mse"},
		{"dl4j-embedding_lstm_th_1.embedding_lstm_theano_1", "Adam", "0.0010000000474974513", "0.0", "mse"},
		{"dl4j-act-ELU_0.ELU_0_model", "RMSprop", "9.999999747378752e-05", "9.999999974752427e-07", "mean_squared_error"},
		{"dl4j-keras-attention.keras-attention", "Adam", "0.004999999888241291", "", "mean_squared_error"},
	}
	for _, c := range cases {
		tc := parseTrainingFile(t, "testdata/realworld/"+c.file+".training_config.json")
		o := tc.Optimizer
		if o.ClassName != c.optimizer || o.Config["learning_rate"] != json.Number(c.lr) || o.Config.Has("lr") {
			t.Errorf("%s: optimizer %+v", c.file, o)
		}
		if c.decay != "" && o.Config["decay"] != json.Number(c.decay) {
			t.Errorf("%s: decay %v", c.file, o.Config["decay"])
		}
		if got := lossName(t, tc.Loss); got != c.loss {
			t.Errorf("%s: loss %q", c.file, got)
		}
	}
	// Every extracted training config parses.
	files, _ := filepath.Glob("testdata/realworld/*.training_config.json")
	for _, f := range files {
		parseTrainingFile(t, f)
	}
}

// A whole .keras config.json is accepted; an uncompiled model has none.
func TestCompileConfigFromArchiveConfig(t *testing.T) {
	data, err := os.ReadFile("testdata/realworld/gurobi-diabetes-keras3.config.json")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := CompileConfig(data)
	if err != nil || tc == nil || tc.Optimizer.ClassName != "Adam" || lossName(t, tc.Loss) != "mean_absolute_error" {
		t.Fatalf("%+v %v", tc, err)
	}
	data, _ = os.ReadFile("testdata/generated/k3_sequential.json")
	if tc, err := CompileConfig(data); tc != nil || err != nil {
		t.Errorf("uncompiled: %+v %v", tc, err)
	}
	for _, doc := range []string{`{}`, `null`} {
		if tc, err := ParseTrainingConfig([]byte(doc)); tc != nil || err != nil {
			t.Errorf("%s: %+v %v", doc, tc, err)
		}
	}
}

func TestOptimizerNames(t *testing.T) {
	cases := map[string]string{
		`{"optimizer_config": {"class_name": "rmsprop", "config": {"lr": 0.01}}}`: "RMSprop",
		`{"optimizer": "adam"}`: "Adam",
		`{"optimizer_config": {"class_name": "Custom>Nadam", "config": {}}}`:                                    "Nadam",
		`{"optimizer_config": {"class_name": "TFOptimizer", "config": {}}}`:                                     "TFOptimizer",
		`{"optimizer_config": {"class_name": "my>Opt", "config": {"learning_rate": 1}}, "loss": ["mse", null]}`: "my>Opt",
	}
	for doc, want := range cases {
		tc, err := ParseTrainingConfig([]byte(doc))
		if err != nil || tc.Optimizer.ClassName != want {
			t.Errorf("%s: %+v %v", doc, tc, err)
		}
		if strings.Contains(doc, `"lr"`) && tc.Optimizer.Config["learning_rate"] != json.Number("0.01") {
			t.Errorf("%s: lr not renamed: %v", doc, tc.Optimizer.Config)
		}
	}
	tc, _ := ParseTrainingConfig([]byte(`{"optimizer_config": {"class_name": "LossScaleOptimizer", "config": {"inner_optimizer": {"class_name": "Custom>SGD", "config": {"lr": 0.1}}, "dynamic": true}}}`))
	inner, err := tc.Optimizer.Config.Object("inner_optimizer")
	if err != nil || inner.ClassName != "SGD" || !reflect.DeepEqual(inner.Config["learning_rate"], json.Number("0.1")) {
		t.Errorf("inner optimizer %+v %v", inner, err)
	}
}
