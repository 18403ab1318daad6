package kerasjson

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// realworld is the shared folder of other people's Keras files, relative
// to this package's directory.
const realworld = "../../shared/realworld"

func readRealworld(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(realworld + "/" + rel)
	if os.IsNotExist(err) {
		t.Skipf("%s not present", realworld)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// wantConfig checks config values by their JSON text.
func wantConfig(t *testing.T, l *Layer, want map[string]string) {
	t.Helper()
	for k, w := range want {
		v, ok := l.Config[k]
		if w == "ABSENT" {
			if ok {
				t.Errorf("layer %s: %s should be gone, is %v", l.Name, k, v)
			}
			continue
		}
		got, _ := json.Marshal(v)
		if !ok || string(got) != w {
			t.Errorf("layer %s: %s = %s, want %s", l.Name, k, got, w)
		}
	}
}

// Keras 0.x/1.x Convolution2D network with Theano dim ordering.
func TestKeras1ConvNet(t *testing.T) {
	m, err := ParseModel(readRealworld(t, "keras2cpp-mnist-cnn-th/my_nn_arch.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `Sequential "" in=[convolution2d_1_input:0:0] out=[activation_4:0:0]
  InputLayer convolution2d_1_input
  Conv2D convolution2d_1
  Activation activation_1
  Conv2D convolution2d_2
  Activation activation_2
  MaxPooling2D maxpooling2d_1
  Dropout dropout_1
  Flatten flatten_1
  Dense dense_1
  Activation activation_3
  Dropout dropout_2
  Dense dense_2
  Activation activation_4
`
	if got := dumpModel(m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	wantConfig(t, m.Layers[0], map[string]string{"batch_shape": "[null,1,28,28]", "dtype": `"float32"`})
	conv := m.Layers[1]
	if conv.OriginalClassName != "Convolution2D" {
		t.Errorf("OriginalClassName %q", conv.OriginalClassName)
	}
	wantConfig(t, conv, map[string]string{
		"filters": "4", "kernel_size": "[3,3]", "strides": "[1,1]", "padding": `"same"`,
		"data_format": `"channels_first"`, "kernel_initializer": `"glorot_uniform"`,
		"kernel_regularizer": "null", "bias_regularizer": "null", "kernel_constraint": "null",
		"batch_shape": "[null,1,28,28]",
		"nb_filter":   "ABSENT", "nb_row": "ABSENT", "nb_col": "ABSENT", "dim_ordering": "ABSENT",
		"border_mode": "ABSENT", "subsample": "ABSENT", "init": "ABSENT", "input_dtype": "ABSENT",
	})
	wantConfig(t, layerByName(t, m, "maxpooling2d_1"), map[string]string{
		"pool_size": "[2,2]", "strides": "[2,2]", "padding": `"valid"`, "data_format": `"channels_first"`,
	})
	wantConfig(t, layerByName(t, m, "dropout_1"), map[string]string{"rate": "0.25", "p": "ABSENT"})
	wantConfig(t, layerByName(t, m, "dense_1"), map[string]string{
		"units": "6", "use_bias": "true", "kernel_initializer": `"glorot_uniform"`,
		"output_dim": "ABSENT", "bias": "ABSENT", "input_dim": "ABSENT",
	})
}

// Keras 1.2.2 LSTM with the Keras 1 argument names.
func TestKeras1LSTM(t *testing.T) {
	m := parseFile(t, "testdata/realworld/dl4j-simple_lstm_tf_keras_1.simple_lstm_tf_keras_1_model.model_config.json")
	if got := m.Layers[0]; got.Name != "lstm_1_input" || !reflect.DeepEqual(shapeOf(t, got, "batch_shape"), []int{-1, 1, 1}) {
		t.Errorf("synthesized input %s %v", got.Name, got.Config)
	}
	wantConfig(t, layerByName(t, m, "lstm_1"), map[string]string{
		"units": "50", "recurrent_activation": `"hard_sigmoid"`, "activation": `"tanh"`,
		"kernel_initializer": `"glorot_uniform"`, "recurrent_initializer": `"orthogonal"`,
		"dropout": "0.2", "recurrent_dropout": "0.0", "implementation": "0", "unit_forget_bias": "true",
		"return_sequences": "false",
		"inner_activation": "ABSENT", "inner_init": "ABSENT", "dropout_W": "ABSENT", "dropout_U": "ABSENT",
		"consume_less": "ABSENT", "forget_bias_init": "ABSENT", "input_dim": "ABSENT", "input_length": "ABSENT",
		"U_regularizer": "ABSENT", "recurrent_regularizer": "null",
	})
}

// Keras 1 Embedding: input_dtype gives the synthesized input's dtype, the
// removed dropout argument goes.
func TestKeras1Embedding(t *testing.T) {
	m := parseFile(t, "testdata/realworld/dl4j-embedding_lstm_th_1.embedding_lstm_theano_1.model_config.json")
	wantConfig(t, m.Layers[0], map[string]string{"name": `"embedding_1_input"`, "batch_shape": "[null,10]", "dtype": `"int32"`})
	wantConfig(t, layerByName(t, m, "embedding_1"), map[string]string{
		"input_dim": "4", "output_dim": "5", "embeddings_initializer": `"uniform"`,
		"embeddings_regularizer": "null", "embeddings_constraint": "null",
		"dropout": "ABSENT", "init": "ABSENT", "input_dtype": "ABSENT",
	})
	wantConfig(t, layerByName(t, m, "lstm_1"), map[string]string{"units": "6", "return_sequences": "true"})
}

// tf.keras 2.x arguments that Keras 3 renamed or reshaped.
func TestKeras2Renames(t *testing.T) {
	m := parseFile(t, "testdata/realworld/dl4j-act-LeakyReLU_0.LeakyReLU_0_model.model_config.json")
	wantConfig(t, layerByName(t, m, "leaky_re_lu_1"), map[string]string{"negative_slope": "0.5", "alpha": "ABSENT"})
	m = parseFile(t, "testdata/realworld/keras2circom-best_practice-lambda.best_practice.model_config.json")
	wantConfig(t, layerByName(t, m, "batch_normalization"), map[string]string{"axis": "3"})
	lambda := layerByName(t, m, "lambda")
	if lambda.ClassName != "Lambda" || !lambda.Config.Has("function") {
		t.Errorf("Lambda %s %v", lambda.ClassName, lambda.Config)
	}
}

// Keras 1 functional models, Merge layers and other conversions that the
// real files do not cover. The configs are written the way Keras 1.2
// get_config() writes them.
func TestKeras1Conversions(t *testing.T) {
	doc := `{"class_name": "Model", "keras_version": "1.2.2", "config": {"name": "model_1",
	"input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["m_dot", 0, 0]],
	"layers": [
	 {"class_name": "InputLayer", "name": "a", "inbound_nodes": [], "config": {"batch_input_shape": [null, 8, 8, 3], "input_dtype": "float32", "sparse": false, "name": "a"}},
	 {"class_name": "InputLayer", "name": "b", "inbound_nodes": [], "config": {"batch_input_shape": [null, 8, 8, 3], "input_dtype": "float32", "sparse": false, "name": "b"}},
	 {"class_name": "AtrousConvolution2D", "name": "atrous", "inbound_nodes": [[["a", 0, 0]]], "config": {"name": "atrous", "nb_filter": 2, "nb_row": 3, "nb_col": 1, "atrous_rate": [2, 2], "border_mode": "valid", "dim_ordering": "tf", "subsample": [1, 1], "bias": false, "init": "he_normal", "activation": "relu"}},
	 {"class_name": "Deconvolution2D", "name": "deconv", "inbound_nodes": [[["b", 0, 0]]], "config": {"name": "deconv", "nb_filter": 2, "nb_row": 3, "nb_col": 3, "output_shape": [null, 10, 10, 2], "border_mode": "valid", "dim_ordering": "default", "subsample": [1, 1], "bias": true}},
	 {"class_name": "ZeroPadding2D", "name": "pad", "inbound_nodes": [[["deconv", 0, 0]]], "config": {"name": "pad", "padding": {"top_pad": 1, "bottom_pad": 2, "left_pad": 3, "right_pad": 4}, "dim_ordering": "th"}},
	 {"class_name": "BatchNormalization", "name": "bn", "inbound_nodes": [[["atrous", 0, 0]]], "config": {"name": "bn", "mode": 0, "axis": -1, "beta_init": "zero", "gamma_init": "one", "momentum": 0.99, "epsilon": 0.001}},
	 {"class_name": "Merge", "name": "m_concat", "inbound_nodes": [[["bn", 0, 0], ["pad", 0, 0]]], "config": {"name": "m_concat", "mode": "concat", "concat_axis": 3, "dot_axes": -1, "mode_type": "raw", "output_shape": null, "output_shape_type": "raw", "output_mask": null, "output_mask_type": "raw", "arguments": {}}},
	 {"class_name": "Merge", "name": "m_sum", "inbound_nodes": [[["m_concat", 0, 0], ["m_concat", 0, 0]]], "config": {"name": "m_sum", "mode": "sum", "concat_axis": -1, "dot_axes": -1, "mode_type": "raw"}},
	 {"class_name": "Merge", "name": "m_dot", "inbound_nodes": [[["m_sum", 0, 0], ["m_sum", 0, 0]]], "config": {"name": "m_dot", "mode": "dot", "dot_axes": [1, 1], "concat_axis": -1, "mode_type": "raw"}}
	]}}`
	m, err := ParseModel([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := `Functional "model_1" in=[a:0:0 b:0:0] out=[m_dot:0:0]
  InputLayer a
  InputLayer b
  Conv2D atrous (a:0:0)
  Conv2DTranspose deconv (b:0:0)
  ZeroPadding2D pad (deconv:0:0)
  BatchNormalization bn (atrous:0:0)
  Concatenate m_concat (bn:0:0 pad:0:0)
  Add m_sum (m_concat:0:0 m_concat:0:0)
  Dot m_dot (m_sum:0:0 m_sum:0:0)
`
	if got := dumpModel(m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	wantConfig(t, m.Layers[0], map[string]string{"dtype": `"float32"`, "batch_shape": "[null,8,8,3]", "input_dtype": "ABSENT"})
	wantConfig(t, layerByName(t, m, "atrous"), map[string]string{
		"filters": "2", "kernel_size": "[3,1]", "dilation_rate": "[2,2]", "padding": `"valid"`,
		"data_format": `"channels_last"`, "use_bias": "false", "kernel_initializer": `"he_normal"`, "strides": "[1,1]",
	})
	wantConfig(t, layerByName(t, m, "deconv"), map[string]string{"data_format": "ABSENT", "output_shape": "ABSENT", "kernel_size": "[3,3]"})
	wantConfig(t, layerByName(t, m, "pad"), map[string]string{"padding": "[[1,2],[3,4]]", "data_format": `"channels_first"`})
	wantConfig(t, layerByName(t, m, "bn"), map[string]string{"mode": "ABSENT", "beta_initializer": `"zero"`, "gamma_initializer": `"one"`})
	wantConfig(t, layerByName(t, m, "m_concat"), map[string]string{"axis": "3", "mode": "ABSENT", "concat_axis": "ABSENT", "arguments": "ABSENT"})
	wantConfig(t, layerByName(t, m, "m_dot"), map[string]string{"axes": "[1,1]", "dot_axes": "ABSENT"})
	if got := layerByName(t, m, "m_sum").OriginalClassName; got != "Merge" {
		t.Errorf("OriginalClassName %q", got)
	}
}

func TestKeras1Unsupported(t *testing.T) {
	cases := []struct{ name, doc, feature string }{
		{"bn mode 1", `{"class_name": "Sequential", "config": [{"class_name": "BatchNormalization", "config": {"name": "bn", "mode": 1, "batch_input_shape": [null, 3]}}]}`,
			"BatchNormalization mode=1"},
		{"merge branches", `{"class_name": "Sequential", "config": [{"class_name": "Merge", "config": {"name": "m", "mode": "sum", "layers": [{"class_name": "Sequential", "config": []}]}}]}`,
			"Merge of Sequential branches"},
	}
	for _, c := range cases {
		m, err := ParseModel([]byte(c.doc))
		var ue *UnsupportedError
		if m != nil || !errors.As(err, &ue) || !strings.Contains(ue.Feature, c.feature) {
			t.Errorf("%s: got %v, %v", c.name, m, err)
		}
	}
}

// Keras 1 and 2 RNN layers record initial states as extra inputs; a
// Keras 2 Bidirectional with constants as well.
func TestRecurrentExtraInputs(t *testing.T) {
	doc := `{"class_name": "Functional", "config": {"name": "m", "input_layers": [["x", 0, 0], ["s", 0, 0], ["k", 0, 0]], "output_layers": [["rnn", 0, 0]],
	"layers": [
	 {"class_name": "InputLayer", "name": "x", "inbound_nodes": [], "config": {"name": "x", "batch_input_shape": [null, 4, 2]}},
	 {"class_name": "InputLayer", "name": "s", "inbound_nodes": [], "config": {"name": "s", "batch_input_shape": [null, 3]}},
	 {"class_name": "InputLayer", "name": "k", "inbound_nodes": [], "config": {"name": "k", "batch_input_shape": [null, 5]}},
	 {"class_name": "RNN", "name": "rnn", "inbound_nodes": [[["x", 0, 0, {}], ["s", 0, 0, {}], ["k", 0, 0, {}]]], "config": {"name": "rnn", "num_constants": 1, "cell": {"class_name": "SimpleRNNCell", "config": {"name": "c", "units": 3}}}}
	]}}`
	m, err := ParseModel([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	n := layerByName(t, m, "rnn").Inbound[0]
	if len(n.Args) != 1 || !reflect.DeepEqual(n.Kwargs["initial_state"], []TensorRef{{"s", 0, 0}}) ||
		!reflect.DeepEqual(n.Kwargs["constants"], []TensorRef{{"k", 0, 0}}) {
		t.Errorf("node %+v", n)
	}
}

// Wrapped layers get the same rewrites as top-level ones.
func TestWrappedLayerRenames(t *testing.T) {
	doc := `{"class_name": "Sequential", "config": [{"class_name": "TimeDistributed", "config": {"name": "td", "batch_input_shape": [null, 5, 3],
	  "layer": {"class_name": "Dense", "config": {"name": "d", "output_dim": 4, "init": "uniform", "bias": true}}}}]}`
	m, err := ParseModel([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := m.Layers[1].Config.Object("layer")
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := inner.Config.Int("units", 0); inner.ClassName != "Dense" || u != 4 || inner.Config.Has("output_dim") {
		t.Errorf("inner %+v", inner)
	}
	m = parseFile(t, "testdata/realworld/dl4j-bidirectional_lstm_tf_2.bidirectional_lstm_tensorflow_2.model_config.json")
	inner, err = m.Layers[1].Config.Object("layer")
	if err != nil || inner.ClassName != "LSTM" {
		t.Fatalf("%+v %v", inner, err)
	}
}
