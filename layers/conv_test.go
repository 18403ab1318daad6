package layers

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"

	"github.com/kerasrun/kerasrun/runtime"
)

// windowContractCase is one layer configuration checked by checkLayerContract.
type windowContractCase struct {
	class, config string
	shape         []int
}

func runWindowContract(t *testing.T, cases []windowContractCase) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range cases {
		t.Run(c.class+c.config, func(t *testing.T) {
			l := newTestLayer(t, c.class, c.config)
			x := randomTensor(r, c.shape...)
			if strings.Contains(c.class, "Max") {
				spreadValues(r, x)
			}
			checkLayerContract(t, l, []*runtime.Tensor{x}, 2e-2)
		})
	}
}

// spreadValues gives x distinct values at least 0.05 apart, so that the
// finite differences of a maximum (step 1e-2) never change which element
// wins a window.
func spreadValues(r *rand.Rand, x *runtime.Tensor) {
	for i, p := range r.Perm(len(x.Data)) {
		x.Data[i] = float32(p)*0.05 - float32(len(x.Data))*0.025
	}
}

func TestConvContract(t *testing.T) {
	runWindowContract(t, []windowContractCase{
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "activation": "relu"}`, []int{2, 5, 6, 2}},
		{"Conv2D", `{"filters": 2, "kernel_size": [2, 3], "strides": 2, "padding": "same"}`, []int{2, 5, 7, 3}},
		{"Conv2D", `{"filters": 4, "kernel_size": 2, "groups": 2, "dilation_rate": 2, "data_format": "channels_first"}`, []int{2, 4, 5, 5}},
		{"Conv2D", `{"filters": 3, "kernel_size": 1, "use_bias": false}`, []int{2, 3, 3, 2}},
		{"Convolution2D", `{"filters": 2, "kernel_size": 3, "padding": "same", "activation": "tanh"}`, []int{1, 4, 4, 2}},
		{"Conv1D", `{"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}`, []int{2, 7, 2}},
		{"Conv1D", `{"filters": 3, "kernel_size": 2, "strides": 3, "data_format": "channels_first"}`, []int{2, 2, 7}},
		{"Conv3D", `{"filters": 2, "kernel_size": [2, 2, 3], "padding": "same", "strides": [1, 2, 1]}`, []int{2, 3, 4, 3, 2}},
		{"Conv3D", `{"filters": 4, "kernel_size": 2, "groups": 2, "data_format": "channels_first"}`, []int{1, 2, 3, 3, 3}},
	})
}

// TestConvRepacksChangedWeights checks that the packed-kernel cache notices
// a change of the kernel's values recorded by Touch (as an optimizer step
// and weight loading do).
func TestConvRepacksChangedWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, cfg := range []string{`{"filters": 3, "kernel_size": 3}`, `{"filters": 4, "kernel_size": 2, "groups": 2}`} {
		l := newTestLayer(t, "Conv2D", cfg)
		if _, err := l.Build([][]int{{-1, 5, 5, 4}}); err != nil {
			t.Fatal(err)
		}
		randomizeWeights(r, l)
		x := randomTensor(r, 2, 5, 5, 4)
		before, _, err := l.Forward(&runtime.Context{}, []*runtime.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		k := l.Weights()[0].Value.Data
		for i := range k {
			k[i] *= 2
		}
		l.Weights()[0].Touch()
		after, _, _ := l.Forward(&runtime.Context{}, []*runtime.Tensor{x})
		b := l.Weights()[1].Value.Data
		for i, v := range after[0].Data {
			want := 2*(before[0].Data[i]-b[i%len(b)]) + b[i%len(b)]
			if d := v - want; d > 1e-4 || d < -1e-4 {
				t.Fatalf("%s: after doubling the kernel, output %d = %g, want %g", cfg, i, v, want)
			}
		}
	}
}

func TestConvConfigErrors(t *testing.T) {
	for _, c := range []struct{ class, config string }{
		{"Conv2D", `{"filters": 0, "kernel_size": 3}`},
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "groups": 2}`},
		{"Conv2D", `{"filters": 3, "kernel_size": [3, 3, 3]}`},
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "padding": "causal"}`},
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "data_format": "nhwc"}`},
		{"Conv2D", `{"filters": 3}`},
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "lora_rank": 4}`},
	} {
		if err := newLayerError(t, c.class, c.config); err == nil {
			t.Errorf("%s %s: no error", c.class, c.config)
		} else {
			t.Logf("%s %s: %v", c.class, c.config, err)
		}
	}
	l := newTestLayer(t, "Conv2D", `{"filters": 2, "kernel_size": 3}`)
	for _, s := range [][]int{{-1, 2, 2, 3}, {-1, 5, 3}, {-1, 5, 5, 0}} {
		if _, err := l.Build([][]int{s}); err == nil {
			t.Errorf("Build(%v): no error", s)
		}
	}
}

// newLayerError returns the error of building a layer from a config.
func newLayerError(t *testing.T, class, configJSON string) error {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(configJSON))
	dec.UseNumber()
	var cfg map[string]any
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("bad test config: %v", err)
	}
	spec := &kerasjson.Layer{ClassName: class, Name: "bad", Config: kerasjson.Config(cfg)}
	f, ok := Lookup(spec)
	if !ok {
		t.Fatalf("class %s is not registered", class)
	}
	_, err := f(spec)
	return err
}

func TestConvTransposeContract(t *testing.T) {
	runWindowContract(t, []windowContractCase{
		{"Conv2DTranspose", `{"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}`, []int{2, 3, 4, 2}},
		{"Conv2DTranspose", `{"filters": 2, "kernel_size": [3, 2], "strides": 2, "output_padding": 1, "activation": "tanh"}`, []int{2, 3, 3, 2}},
		{"Conv1DTranspose", `{"filters": 2, "kernel_size": 3, "dilation_rate": 2, "data_format": "channels_first"}`, []int{2, 3, 4}},
		{"Conv3DTranspose", `{"filters": 2, "kernel_size": 2, "strides": [1, 2, 2], "padding": "same", "use_bias": false}`, []int{1, 2, 2, 3, 2}},
	})
}

func TestDepthwiseSeparableContract(t *testing.T) {
	runWindowContract(t, []windowContractCase{
		{"DepthwiseConv2D", `{"kernel_size": 3, "depth_multiplier": 2, "padding": "same", "strides": 2}`, []int{2, 5, 6, 3}},
		{"DepthwiseConv2D", `{"kernel_size": [2, 3], "dilation_rate": 2, "data_format": "channels_first"}`, []int{2, 2, 5, 6}},
		{"DepthwiseConv1D", `{"kernel_size": 3, "strides": 2, "dilation_rate": 2, "activation": "relu"}`, []int{2, 9, 2}},
		{"SeparableConv2D", `{"filters": 3, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"}`, []int{2, 4, 5, 2}},
		{"SeparableConv1D", `{"filters": 2, "kernel_size": 2, "strides": 2, "data_format": "channels_first", "use_bias": false}`, []int{2, 3, 7}},
	})
}

// TestConvMalformedConfig: for every convolution class, an argument Keras
// refuses is a *ConfigError naming the layer, its class and the argument; a
// valid argument kerasrun cannot run (lora_rank, an unknown activation) is
// not.
func TestConvMalformedConfig(t *testing.T) {
	for _, c := range []struct{ class, config, arg string }{
		{"Conv2D", `{"filters": -128, "kernel_size": 3}`, "filters"},
		{"Conv2D", `{"filters": "8", "kernel_size": 3}`, "filters"},
		{"Conv2D", `{"filters": 4, "kernel_size": 3, "groups": 3}`, "groups"},
		{"Conv2D", `{"filters": 3, "kernel_size": [3, 3, 3]}`, "kernel_size"},
		{"Conv2D", `{"filters": 3, "kernel_size": [3, 0]}`, "kernel_size"},
		{"Conv2D", `{"filters": 3}`, "kernel_size"},
		{"Conv1D", `{"filters": 3, "kernel_size": 3, "strides": -1}`, "strides"},
		{"Conv3D", `{"filters": 3, "kernel_size": 2, "dilation_rate": [1, 0, 1]}`, "dilation_rate"},
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "padding": "full"}`, "padding"},
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "padding": "causal"}`, "padding"},
		{"Conv1D", `{"filters": 3, "kernel_size": 3, "padding": "reflect"}`, "padding"},
		{"Convolution2D", `{"filters": 3, "kernel_size": 3, "data_format": "nhwc"}`, "data_format"},
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "use_bias": "yes"}`, "use_bias"},
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "activation": 7}`, "activation"},
		{"Conv2DTranspose", `{"filters": -128, "kernel_size": 3}`, "filters"},
		{"Conv2DTranspose", `{"filters": 2, "kernel_size": [3, 3, 3]}`, "kernel_size"},
		{"Conv1DTranspose", `{"filters": 2, "kernel_size": 3, "padding": "causal"}`, "padding"},
		{"Conv2DTranspose", `{"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}`, "output_padding"},
		{"Conv3DTranspose", `{"filters": 2, "kernel_size": 3, "output_padding": [0, 0]}`, "output_padding"},
		{"DepthwiseConv2D", `{"kernel_size": 3, "depth_multiplier": 0}`, "depth_multiplier"},
		{"DepthwiseConv2D", `{"kernel_size": [3]}`, "kernel_size"},
		{"DepthwiseConv1D", `{"kernel_size": 3, "padding": "causal"}`, "padding"},
		{"DepthwiseConv2D", `{"kernel_size": 3, "data_format": "NCHW"}`, "data_format"},
		{"SeparableConv2D", `{"filters": -128, "kernel_size": 3}`, "filters"},
		{"SeparableConv1D", `{"filters": 2, "kernel_size": [3, 3]}`, "kernel_size"},
		{"SeparableConvolution2D", `{"filters": 2, "kernel_size": 3, "padding": "valid ", "depth_multiplier": 1}`, "padding"},
		{"SeparableConv2D", `{"filters": 2, "kernel_size": 3, "depth_multiplier": -1}`, "depth_multiplier"},
	} {
		wantConfigError(t, c.class, c.config, c.arg)
	}
	for _, c := range []struct{ class, config string }{
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "lora_rank": 4}`},
		{"Conv2D", `{"filters": 3, "kernel_size": 3, "activation": "no_such_activation"}`},
		{"Conv2DTranspose", `{"filters": 3, "kernel_size": 3, "activation": "no_such_activation"}`},
		{"DepthwiseConv2D", `{"kernel_size": 3, "activation": "no_such_activation"}`},
		{"SeparableConv2D", `{"filters": 3, "kernel_size": 3, "activation": "no_such_activation"}`},
	} {
		wantOtherError(t, c.class, c.config)
	}
}

// wantConfigError checks that building class from config fails with a
// *ConfigError naming the layer "bad", its class and the argument arg, each
// once in the message.
func wantConfigError(t *testing.T, class, config, arg string) {
	t.Helper()
	err := newLayerError(t, class, config)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("%s %s: %v, want a *ConfigError", class, config, err)
		return
	}
	if ce.Layer != "bad" || ce.ClassName != class || ce.Arg != arg {
		t.Errorf("%s %s: ConfigError names layer %q, class %q, argument %q; want bad, %s, %s", class, config, ce.Layer, ce.ClassName, ce.Arg, class, arg)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "layer bad ("+class+"): config \""+arg+"\": ") {
		t.Errorf("%s %s: message %q does not name layer, class and argument once", class, config, msg)
	}
}

// wantOtherError checks that building class from config fails with an
// error that is not a *ConfigError (a feature kerasrun does not run).
func wantOtherError(t *testing.T, class, config string) {
	t.Helper()
	err := newLayerError(t, class, config)
	var ce *ConfigError
	if err == nil || errors.As(err, &ce) {
		t.Errorf("%s %s: %v, want an error that is not a *ConfigError", class, config, err)
	}
}

// TestNewModelMalformedConfig: NewModel reports a malformed layer config as
// the *ConfigError, not as an unsupported layer.
func TestNewModelMalformedConfig(t *testing.T) {
	doc := `{"class_name": "Sequential", "config": {"name": "m", "layers": [
	  {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 5, 5, 1]}},
	  {"class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": 3, "padding": "full"}},
	  {"class_name": "Conv2D", "config": {"name": "d", "filters": 2, "kernel_size": 1, "lora_rank": 2}}]}}`
	spec, err := kerasjson.ParseModel([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewModel(spec)
	var ce *ConfigError
	var ue *UnsupportedError
	if !errors.As(err, &ce) || errors.As(err, &ue) || ce.Layer != "c" || ce.Arg != "padding" {
		t.Errorf("NewModel: %v, want the malformed padding of layer c as a *ConfigError alone", err)
	}
}
