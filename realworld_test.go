package kerasrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/layers"
)

// realworldFile is one model of the real-world corpus: a full-model file,
// or a model JSON with its weights file. The same table drives
// compat/python/export_realworld.py.
type realworldFile struct {
	Case, Model, Weights string
}

var realworldFiles = []realworldFile{
	{"dl4j-act-ELU_0", "ELU_0_model.h5", ""},
	{"dl4j-act-ELU_0", "ELU_0_config.json", "ELU_0_model.h5"},
	{"dl4j-act-LeakyReLU_0", "LeakyReLU_0_model.h5", ""},
	{"dl4j-act-LeakyReLU_0", "LeakyReLU_0_config.json", "LeakyReLU_0_model.h5"},
	{"dl4j-bidirectional_lstm_tf_2", "bidirectional_lstm_tensorflow_2.h5", ""},
	{"dl4j-causal_conv1d_k3_s1_d2_cl", "causal_conv1d_k3_s1_d2_cl_model.h5", ""},
	{"dl4j-causal_conv1d_k3_s1_d2_cl", "causal_conv1d_k3_s1_d2_cl_config.json", "causal_conv1d_k3_s1_d2_cl_model.h5"},
	{"dl4j-conv1d_k3_s2_d1_cf_same", "conv1d_k3_s2_d1_cf_same_model.h5", ""},
	{"dl4j-conv1d_k3_s2_d1_cf_same", "conv1d_k3_s2_d1_cf_same_config.json", "conv1d_k3_s2_d1_cf_same_model.h5"},
	{"dl4j-conv2d_th_2", "conv2d_theano_2.h5", ""},
	{"dl4j-embedding_lstm_th_1", "embedding_lstm_theano_1.h5", ""},
	{"dl4j-keras-attention", "keras-attention.h5", ""},
	{"dl4j-masking_zero_lstm", "masking_zero_lstm.h5", ""},
	{"dl4j-simple_lstm_tf_keras_1", "simple_lstm_tf_keras_1_model.h5", ""},
	{"dl4j-simple_lstm_tf_keras_1", "simple_lstm_tf_keras_1_config.json", "simple_lstm_tf_keras_1_weights.h5"},
	{"dl4j-simple_lstm_th_keras_1", "simple_lstm_th_keras_1_model.h5", ""},
	{"dl4j-simple_lstm_th_keras_1", "simple_lstm_th_keras_1_config.json", "simple_lstm_th_keras_1_weights.h5"},
	{"dl4j-simple_rnn_tf_keras_2", "simple_rnn_tf_keras_2_model.h5", ""},
	{"dl4j-simple_rnn_tf_keras_2", "simple_rnn_tf_keras_2_config.json", "simple_rnn_tf_keras_2_weights.h5"},
	{"dl4j-simpleconv2d_model-mixed-format", "simpleconv2d_model.hdf5", ""},
	{"dl4j-sparse_xent_mlp_keras_2", "simple_sparse_xent_mlp_keras_2_model.h5", ""},
	{"dl4j-sparse_xent_mlp_keras_2", "simple_sparse_xent_mlp_keras_2_config.json", "simple_sparse_xent_mlp_keras_2_weights.h5"},
	{"dl4j-tfkeras-cnn2d_64", "cnn2d_64.h5", ""},
	{"dl4j-tfscope", "model.h5", ""},
	{"dl4j-tfscope", "model.json", "model.weight"},
	{"gurobi-diabetes-keras3", "diabetes_v2.keras", ""},
	{"hls4ml-3layer-batchnorm", "KERAS_3layer_batch_norm.json", "KERAS_3layer_batch_norm_weights.h5"},
	{"hls4ml-jetTagger-conv2d", "jetTagger_Conv2D_Small.json", "jetTagger_Conv2D_Small_weights.h5"},
	{"keras2circom-best_practice-lambda", "best_practice.h5", ""},
	{"keras2cpp-mnist-cnn-th", "my_nn_arch.json", "my_nn_weights.h5"},
	{"keras3-ner-embedding-lstm", "model.keras", ""},
	{"keras3-nested-container", "pre_pr22362_nested_container.keras", ""},
	{"keras3-stock-lstm-functional", "model.keras", ""},
	{"lwtnn-btag-gru-multiio", "arch.json", "weights.h5"},
}

// realworldData are corpus files that are not models: expected outputs,
// inputs and other data.
func realworldData(name string) bool {
	switch {
	case strings.HasSuffix(name, ".npy"), strings.HasSuffix(name, "_inputs_and_outputs.h5"),
		strings.HasSuffix(name, ".dat"), name == "best_practice.json", name == "variables.json":
		return true
	}
	return false
}

// kerasRecord is one file's entry in testdata/realworld/<case>/keras.json.
type kerasRecord struct {
	Model        string `json:"model"`
	Loaded       bool   `json:"loaded"`
	Error        string `json:"error"`
	PredictError string `json:"predict_error"`
	Reader       string `json:"reader"`
	Note         string `json:"note"`
	Params       *struct {
		Total        int `json:"total"`
		Trainable    int `json:"trainable"`
		NonTrainable int `json:"non_trainable"`
	} `json:"params"`
	Inputs  []string `json:"inputs"`
	Outputs []string `json:"outputs"`
}

func readKerasRecords(t *testing.T, c string) map[string]kerasRecord {
	data, err := os.ReadFile(filepath.Join("testdata/realworld", c, "keras.json"))
	if err != nil {
		t.Fatalf("%s: %v (run compat/python/export_realworld.py)", c, err)
	}
	var doc struct {
		Files []kerasRecord `json:"files"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]kerasRecord{}
	for _, r := range doc.Files {
		out[r.Model] = r
	}
	return out
}

// realworldResult is one row of README_realworld.md.
type realworldResult struct {
	file           realworldFile
	loads          bool
	reason         string // why it does not load
	params         string // vs Keras's count_params
	expected       string // vs the case's own expected outputs
	keras          string // vs the pinned Keras's prediction
	kerasVersion   string
	formatAndTrain string
}

// TestRealWorld walks the whole corpus: every model either loads and
// predicts (matching the case's expected outputs and the pinned Keras's
// prediction and parameter counts, where known) or fails with an error that
// names the file and every layer that cannot run, with its class.
func TestRealWorld(t *testing.T) {
	if _, err := os.Stat(realworldDir); err != nil {
		t.Skip("real-world corpus absent")
	}
	checkCorpusListed(t)
	var results []realworldResult
	for _, f := range realworldFiles {
		t.Run(f.Case+"/"+f.Model, func(t *testing.T) {
			results = append(results, checkRealworldFile(t, f))
		})
	}
	table := realworldTable(results)
	if os.Getenv("KERASRUN_WRITE_REALWORLD_TABLE") != "" {
		if err := os.WriteFile("README_realworld.md", []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := os.ReadFile("README_realworld.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != table {
		t.Errorf("README_realworld.md disagrees with the corpus results; regenerate it with KERASRUN_WRITE_REALWORLD_TABLE=1 go test -run TestRealWorld .\n--- generated:\n%s", table)
	}
}

// checkCorpusListed fails when the corpus holds a model file the table
// does not list, so that a new case is not silently skipped.
func checkCorpusListed(t *testing.T) {
	listed := map[string]bool{}
	for _, f := range realworldFiles {
		listed[f.Case+"/"+f.Model] = true
		if f.Weights != "" {
			listed[f.Case+"/"+f.Weights] = true
		}
	}
	cases, err := os.ReadDir(realworldDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(realworldDir, c.Name()))
		for _, f := range files {
			if !realworldData(f.Name()) && !listed[c.Name()+"/"+f.Name()] {
				t.Errorf("%s/%s is in the corpus but not in realworldFiles", c.Name(), f.Name())
			}
		}
	}
}

func checkRealworldFile(t *testing.T, f realworldFile) realworldResult {
	res := realworldResult{file: f, params: "-", expected: "-", keras: "-"}
	path := filepath.Join(realworldDir, f.Case, f.Model)
	var opts []LoadOption
	if f.Weights != "" {
		opts = append(opts, WithWeights(filepath.Join(realworldDir, f.Case, f.Weights)))
	}
	records := readKerasRecords(t, f.Case)
	rec, haveRec := records[f.Model]
	m, err := Load(path, opts...)
	if err != nil {
		if m != nil {
			t.Error("Load returned a model together with an error")
		}
		checkLoadError(t, path, err)
		res.reason = shortReason(err)
		if haveRec && rec.Loaded && rec.Params != nil {
			res.keras = "recorded for later"
		}
		return res
	}
	res.loads = true
	res.kerasVersion = m.Info().KerasVersion

	// The case's own expected outputs (DL4J's predictions.npy).
	if x, err := ReadNPY(filepath.Join(realworldDir, f.Case, "input.npy")); err == nil {
		want, err := ReadNPY(filepath.Join(realworldDir, f.Case, "predictions.npy"))
		if err == nil {
			res.expected = predictAndCompare(t, m, []*Tensor{x}, []*Tensor{want}, "expected outputs")
		}
	}
	if !haveRec {
		t.Errorf("no Keras record for %s in testdata/realworld/%s/keras.json", f.Model, f.Case)
		return res
	}
	if !rec.Loaded {
		res.keras = "Keras cannot load it"
		return res
	}
	if rec.Params != nil {
		p := m.Params()
		if p.Total != rec.Params.Total || p.Trainable != rec.Params.Trainable {
			t.Errorf("params: kerasrun %+v, Keras total %d trainable %d", p, rec.Params.Total, rec.Params.Trainable)
			res.params = fmt.Sprintf("differ (%d vs %d)", p.Total, rec.Params.Total)
		} else {
			res.params = fmt.Sprintf("%d = Keras", p.Total)
		}
	}
	if rec.PredictError != "" {
		res.keras = "Keras cannot predict on CPU"
		return res
	}
	var xs, ys []*Tensor
	for _, n := range rec.Inputs {
		x, err := ReadNPY(filepath.Join("testdata/realworld", f.Case, n))
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	for _, n := range rec.Outputs {
		y, err := ReadNPY(filepath.Join("testdata/realworld", f.Case, n))
		if err != nil {
			t.Fatal(err)
		}
		ys = append(ys, y)
	}
	res.keras = predictAndCompare(t, m, xs, ys, "Keras's prediction")
	return res
}

func predictAndCompare(t *testing.T, m *Model, xs, want []*Tensor, what string) string {
	got, err := m.Predict(xs...)
	if err != nil {
		t.Errorf("predict: %v", err)
		return "predict fails"
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d outputs, want %d", what, len(got), len(want))
		return "output count differs"
	}
	for i := range want {
		if msg := compareTensors(got[i], want[i]); msg != "" {
			t.Errorf("%s: output %d: %s", what, i, msg)
			return "differs"
		}
	}
	return "matches"
}

// checkLoadError asserts that a failed load names the file and, for
// layers that cannot run, each layer's name and class.
func checkLoadError(t *testing.T, path string, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, path) {
		t.Errorf("error does not name the file %s: %v", path, err)
	}
	var ue *layers.UnsupportedError
	if !errors.As(err, &ue) {
		t.Errorf("error is not a *layers.UnsupportedError naming the layers: %v", err)
		return
	}
	if len(ue.Layers) == 0 {
		t.Errorf("UnsupportedError without layers: %v", err)
	}
	for _, l := range ue.Layers {
		if l.Name == "" || l.ClassName == "" || l.Reason == "" || !strings.Contains(msg, l.Name) || !strings.Contains(msg, l.ClassName) {
			t.Errorf("error does not name layer %q, class %q and a reason: %v", l.Name, l.ClassName, err)
		}
	}
}

// shortReason summarizes a load error for the table.
func shortReason(err error) string {
	var ue *layers.UnsupportedError
	if errors.As(err, &ue) {
		classes := map[string][]string{}
		var order []string
		for _, l := range ue.Layers {
			key := l.ClassName
			switch {
			case l.ClassName == "Lambda":
				key = "Lambda (Python code)"
			case strings.HasPrefix(l.Reason, "a subclassed model"):
				key = l.ClassName + " (subclassed model)"
			}
			if _, ok := classes[key]; !ok {
				order = append(order, key)
			}
			classes[key] = append(classes[key], l.Name)
		}
		var parts []string
		for _, k := range order {
			parts = append(parts, fmt.Sprintf("%s: %s", k, strings.Join(classes[k], ", ")))
		}
		return "cannot run " + strings.Join(parts, "; ")
	}
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

func realworldTable(results []realworldResult) string {
	sort.SliceStable(results, func(i, j int) bool { return results[i].file.Case < results[j].file.Case })
	var b strings.Builder
	b.WriteString("# Real-world corpus results\n\n")
	b.WriteString("Generated by `KERASRUN_WRITE_REALWORLD_TABLE=1 go test -run TestRealWorld .` from the models\n")
	b.WriteString("in `../shared/realworld` (files other people saved with Keras 0.x to 3.15); `go test` fails when\n")
	b.WriteString("this table disagrees with what kerasrun does. Columns: whether kerasrun loads the file (or why not),\n")
	b.WriteString("its parameter count against Keras's `model.count_params()`, its predictions against the case's own\n")
	b.WriteString("expected outputs (DL4J's `predictions.npy`) and against the pinned Keras (tf-keras 2.21 for Keras 1/2\n")
	b.WriteString("files, Keras 3.15 for `.keras`, recorded by `compat/python/export_realworld.py`), within\n")
	b.WriteString("|got-want| <= 1e-5 + 1e-4*|want|. \"-\" means there is nothing to compare with; \"recorded for later\"\n")
	b.WriteString("means Keras's prediction is recorded in testdata/realworld for when the missing layers arrive.\n\n")
	loaded, matched := 0, 0
	b.WriteString("| case | file | loads | params | expected outputs | Keras prediction |\n|---|---|---|---|---|---|\n")
	for _, r := range results {
		file := "`" + r.file.Model + "`"
		if r.file.Weights != "" {
			file += " + `" + r.file.Weights + "`"
		}
		loads := "yes"
		if r.loads {
			loaded++
			if r.keras == "matches" || r.expected == "matches" {
				matched++
			}
		} else {
			loads = "no — " + strings.ReplaceAll(r.reason, "|", "\\|")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.file.Case, file, loads, r.params, r.expected, r.keras)
	}
	fmt.Fprintf(&b, "\n%d of %d model files load; %d of them match Keras's or the case's expected outputs.\n", loaded, len(results), matched)
	return b.String()
}
