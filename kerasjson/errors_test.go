package kerasjson

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each invalid config must give a FormatError with this path and message
// text, and no model.
func TestInvalidConfigs(t *testing.T) {
	const inputX = `{"class_name": "InputLayer", "name": "x", "inbound_nodes": [], "config": {"name": "x", "batch_shape": [null, 2]}}`
	functional := func(layers, outputs string) string {
		return `{"class_name": "Functional", "config": {"name": "f", "input_layers": [["x", 0, 0]], "output_layers": ` + outputs + `, "layers": [` + inputX + `, ` + layers + `]}}`
	}
	cases := []struct {
		name, doc, path, msg string
	}{
		{"not json", `{"class_name": `, "", "invalid JSON"},
		{"trailing", `{"class_name": "Sequential", "config": []} {}`, "", "data after the top-level value"},
		{"not object", `[1, 2]`, "", "want a model object, got a list"},
		{"no class", `{"config": {}}`, "", "no class_name"},
		{"class type", `{"class_name": 3, "config": {}}`, "class_name", "want a string"},
		{"seq config", `{"class_name": "Sequential", "config": 5}`, "config", "want a Sequential config"},
		{"seq layers", `{"class_name": "Sequential", "config": {"name": "s", "layers": {}}}`, "config.layers", "want a list of layers"},
		{"layer type", `{"class_name": "Sequential", "config": [7]}`, "config[0]", "want a layer object"},
		{"layer class", `{"class_name": "Sequential", "config": [{"config": {"name": "a"}}]}`, "config[0]", "no class_name"},
		{"layer name", `{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"units": 2}}]}`, "config[0]", "Dense layer has no name"},
		{"layer config", `{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": "x"}]}`, "config[0].config", "want a layer config object"},
		{"duplicate", `{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "a"}}, {"class_name": "Dense", "config": {"name": "a"}}]}`,
			"config[1]", `duplicate layer name "a"`},
		{"late input", `{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "a"}}, {"class_name": "InputLayer", "config": {"name": "i"}}]}`,
			"config[1]", "is not the first layer"},
		{"dtype policy", `{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "a", "dtype": {"class_name": "DTypePolicy"}}}]}`,
			"config[0].config.dtype", "dtype policy without a config"},
		{"consume_less", `{"class_name": "Sequential", "config": [{"class_name": "LSTM", "config": {"name": "a", "consume_less": "fast"}}]}`,
			"config[0].config.consume_less", `unknown value "fast"`},
		{"kernel size", `{"class_name": "Sequential", "config": [{"class_name": "Convolution2D", "config": {"name": "a", "nb_row": 3}}]}`,
			"config[0].config", "needs all of"},
		{"unknown ref", functional(`{"class_name": "Dense", "name": "d", "config": {"name": "d"}, "inbound_nodes": [[["nope", 0, 0, {}]]]}`, `[["d", 0, 0]]`),
			"config", `layer "d" node 0 refers to unknown layer "nope"`},
		{"node out of range", functional(`{"class_name": "Dense", "name": "d", "config": {"name": "d"}, "inbound_nodes": [[["x", 0, 0, {}]]]}`, `[["d", 3, 0]]`),
			"config", `output_layers refers to call 3 of layer "d", which has 1`},
		{"negative index", functional(`{"class_name": "Dense", "name": "d", "config": {"name": "d"}, "inbound_nodes": [[["x", -1, 0]]]}`, `[["d", 0, 0]]`),
			"config.layers[1].inbound_nodes[0][0]", "negative index"},
		{"bad entry", functional(`{"class_name": "Dense", "name": "d", "config": {"name": "d"}, "inbound_nodes": [[5]]}`, `[["d", 0, 0]]`),
			"config.layers[1].inbound_nodes[0][0]", "want a node entry"},
		{"bad history", functional(`{"class_name": "Dense", "name": "d", "config": {"name": "d"}, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0]}}], "kwargs": {}}]}`, `[["d", 0, 0]]`),
			"config.layers[1].inbound_nodes[0].args[0].config.keras_history", "want [layer, node_index, tensor_index]"},
		{"float index", functional(`{"class_name": "Dense", "name": "d", "config": {"name": "d"}, "inbound_nodes": [[["x", 0.5, 0]]]}`, `[["d", 0, 0]]`),
			"config.layers[1].inbound_nodes[0][0][1]", "node index"},
		{"kwargs type", functional(`{"class_name": "Dense", "name": "d", "config": {"name": "d"}, "inbound_nodes": [{"args": [], "kwargs": 3}]}`, `[["d", 0, 0]]`),
			"config.layers[1].inbound_nodes[0].kwargs", "want an object"},
		{"nodes type", functional(`{"class_name": "Dense", "name": "d", "config": {"name": "d"}, "inbound_nodes": 3}`, `[["d", 0, 0]]`),
			"config.layers[1].inbound_nodes", "want a list"},
		{"outputs", functional(`{"class_name": "Dense", "name": "d", "config": {"name": "d"}, "inbound_nodes": [[["x", 0, 0]]]}`, `["d", 0]`),
			"config.output_layers[0]", "want [layer, node_index, tensor_index]"},
		{"num_constants", functional(`{"class_name": "LSTM", "name": "d", "config": {"name": "d", "num_constants": 5}, "inbound_nodes": [[["x", 0, 0], ["x", 0, 0]]]}`, `[["d", 0, 0]]`),
			"config.layers[1].inbound_nodes[0]", "num_constants=5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseModel([]byte(c.doc))
			if m != nil {
				t.Errorf("model returned with error %v", err)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("want FormatError, got %T %v", err, err)
			}
			if fe.Path != c.path || !strings.Contains(fe.Msg, c.msg) {
				t.Errorf("got path %q msg %q, want path %q msg containing %q", fe.Path, fe.Msg, c.path, c.msg)
			}
			if !strings.HasPrefix(err.Error(), "kerasjson: ") {
				t.Errorf("error text %q", err)
			}
		})
	}
}

func TestInvalidTrainingConfigs(t *testing.T) {
	cases := []struct{ doc, path, msg string }{
		{`[1]`, "", "want a training config object"},
		{`{"optimizer_config": 5}`, "optimizer_config", "want a string or an object"},
		{`{"optimizer": {"config": {}}}`, "optimizer", "no class_name"},
		{`{"loss": 5}`, "loss", "want a loss or metric"},
		{`{"metrics": [["acc", 3]]}`, "metrics[0][1]", "want a loss or metric"},
		{`{"class_name": "Sequential", "config": []}`, "", "no compile_config"},
		{`{"loss": "mse"`, "", "invalid JSON"},
	}
	for _, c := range cases {
		tc, err := ParseTrainingConfig([]byte(c.doc))
		var fe *FormatError
		if tc != nil || !errors.As(err, &fe) || fe.Path != c.path || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("%s: got %+v, %v", c.doc, tc, err)
		}
	}
}

// seedFiles lists the JSON fixtures used to seed the fuzzers.
func seedFiles(t testing.TB) []string {
	files, err := filepath.Glob("testdata/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return files
}

func readSeeds(f *testing.F) {
	for _, p := range seedFiles(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}
