package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// fuseModel builds a Sequential model of the given layer configs on an
// NHWC input, with random weights and BatchNormalization statistics.
func fuseModel(t *testing.T, input []int, layers ...string) *Model {
	t.Helper()
	shape := "null"
	for _, d := range input {
		shape += fmt.Sprintf(", %d", d)
	}
	doc := `{"class_name": "Sequential", "config": {"name": "m", "layers": [
	  {"class_name": "InputLayer", "config": {"name": "x", "batch_shape": [` + shape + `]}},` + strings.Join(layers, ",") + `]}}`
	spec, err := kerasjson.ParseModel([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(spec)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(14, 1))
	for _, l := range m.Layers {
		for _, v := range AllWeights(l) {
			for i := range v.Value.Data {
				v.Value.Data[i] = float32(r.NormFloat64())
				if v.Name == "moving_variance" {
					v.Value.Data[i] = float32(0.1 + r.Float64())
				}
			}
			v.Touch()
		}
	}
	return m
}

func conv2D(name string, filters, k, stride int, extra string) string {
	return fmt.Sprintf(`{"class_name": "Conv2D", "config": {"name": %q, "filters": %d, "kernel_size": [%d, %d], "strides": [%d, %d], "padding": "same"%s}}`, name, filters, k, k, stride, stride, extra)
}

func depthwise2D(name string, k, stride int, extra string) string {
	return fmt.Sprintf(`{"class_name": "DepthwiseConv2D", "config": {"name": %q, "kernel_size": [%d, %d], "strides": [%d, %d], "padding": "same"%s}}`, name, k, k, stride, stride, extra)
}

func conv2DPad(name string, filters, k, stride int, padding, extra string) string {
	return fmt.Sprintf(`{"class_name": "Conv2D", "config": {"name": %q, "filters": %d, "kernel_size": [%d, %d], "strides": [%d, %d], "padding": %q%s}}`, name, filters, k, k, stride, stride, padding, extra)
}

func depthwise2DPad(name string, k, stride int, padding, extra string) string {
	return fmt.Sprintf(`{"class_name": "DepthwiseConv2D", "config": {"name": %q, "kernel_size": [%d, %d], "strides": [%d, %d], "padding": %q%s}}`, name, k, k, stride, stride, padding, extra)
}

func zeroPad(name string, dims int, padding, extra string) string {
	return fmt.Sprintf(`{"class_name": "ZeroPadding%dD", "config": {"name": %q, "padding": %s%s}}`, dims, name, padding, extra)
}

func activationLayer(name, act string) string {
	return fmt.Sprintf(`{"class_name": "Activation", "config": {"name": %q, "activation": %q}}`, name, act)
}

func bn(name string, extra string) string {
	return fmt.Sprintf(`{"class_name": "BatchNormalization", "config": {"name": %q, "epsilon": 0.001%s}}`, name, extra)
}

const (
	relu6Layer = `{"class_name": "ReLU", "config": {"name": %q, "max_value": 6.0}}`
	reluAct    = `{"class_name": "Activation", "config": {"name": %q, "activation": "relu"}}`
)

// TestInferenceGraphFusion checks that the inference graph fuses the
// chains it should, leaves the others, and computes what the unfused
// graph computes (to the fixtures' default tolerance: the folded weights
// round differently), before and after the weights change.
func TestInferenceGraphFusion(t *testing.T) {
	cases := []struct {
		name   string
		input  []int
		layers []string
		nodes  int // nodes of the inference graph
	}{
		{"mobilenet_block", []int{9, 9, 3}, []string{
			conv2D("c1", 8, 3, 2, `, "use_bias": false`), bn("b1", ""), fmt.Sprintf(relu6Layer, "r1"),
			depthwise2D("d1", 3, 1, `, "use_bias": false`), bn("b2", ""), fmt.Sprintf(relu6Layer, "r2"),
			conv2D("c2", 4, 1, 1, `, "use_bias": false`), bn("b3", ""),
		}, 3},
		{"conv_bias_relu", []int{6, 6, 5}, []string{
			conv2D("c1", 7, 3, 1, ""), bn("b1", `, "center": false`), fmt.Sprintf(reluAct, "a1"),
			conv2D("c2", 3, 1, 1, ""), fmt.Sprintf(reluAct, "a2"),
			depthwise2D("d1", 3, 2, `, "depth_multiplier": 2`), bn("b2", `, "scale": false`),
		}, 3},
		// ZeroPadding merged into the convolution that reads it.
		{"zero_padding", []int{9, 8, 3}, []string{
			zeroPad("z1", 2, "[[1, 1], [1, 1]]", ""), depthwise2DPad("d1", 3, 2, "valid", ""), bn("b1", ""), fmt.Sprintf(relu6Layer, "r1"),
			zeroPad("z2", 2, "[[0, 1], [2, 1]]", ""), conv2DPad("c1", 5, 3, 2, "same", ""),
			zeroPad("z3", 2, "[[1, 0], [0, 2]]", ""), conv2DPad("c2", 4, 2, 1, "valid", `, "dilation_rate": [2, 1]`), bn("b2", ""),
		}, 3},
		{"zero_padding_1d", []int{11, 3}, []string{
			zeroPad("z1", 1, "[2, 3]", ""), `{"class_name": "Conv1D", "config": {"name": "c1", "filters": 4, "kernel_size": 3, "strides": 2}}`,
		}, 1},
		// Not merged: a channels_first ZeroPadding before a channels_last
		// convolution, a ZeroPadding read twice.
		{"zero_padding_unmergeable", []int{6, 6, 4}, []string{
			zeroPad("z1", 2, "[[1, 1], [0, 0]]", `, "data_format": "channels_first"`), conv2DPad("c1", 4, 3, 1, "valid", ""),
		}, 2},
		// EfficientNet's and MobileNetV3's activations: in the Conv's
		// epilogue, after the DepthwiseConv's kernel.
		{"swish", []int{7, 7, 3}, []string{
			conv2D("c1", 8, 3, 2, `, "use_bias": false`), bn("b1", ""), activationLayer("a1", "swish"),
			depthwise2D("d1", 5, 1, `, "use_bias": false`), bn("b2", ""), activationLayer("a2", "swish"),
			conv2D("c2", 6, 1, 1, ""), activationLayer("a3", "hard_swish"),
			depthwise2D("d2", 3, 1, ""), activationLayer("a4", "hard_silu"),
			conv2D("c3", 5, 1, 1, ""), bn("b3", ""), activationLayer("a5", "sigmoid"),
			conv2D("c4", 4, 3, 1, `, "data_format": "channels_first"`), activationLayer("a6", "tanh"),
		}, 6},
		// Not fused: an activation before the BatchNormalization, a
		// BatchNormalization over another axis, an activation not
		// elementwise.
		{"unfusable", []int{5, 5, 4}, []string{
			conv2D("c1", 6, 3, 1, `, "activation": "relu"`), bn("b1", ""),
			conv2D("c2", 5, 1, 1, ""), bn("b2", `, "axis": 1`),
			conv2D("c3", 4, 1, 1, ""), activationLayer("s", "softmax"),
		}, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fuseModel(t, c.input, c.layers...)
			g := m.inferenceGraph()
			if len(g.Nodes) != c.nodes {
				var names []string
				for _, n := range g.Nodes {
					names = append(names, n.Name)
				}
				t.Fatalf("inference graph has %d nodes %v, want %d", len(g.Nodes), names, c.nodes)
			}
			r := rand.New(rand.NewPCG(2, 3))
			x := runtime.NewTensor(append([]int{3}, c.input...)...)
			for i := range x.Data {
				x.Data[i] = float32(r.NormFloat64() * 3)
			}
			check := func(when string) {
				want, _, err := m.graph.Run(&runtime.Context{}, []*runtime.Tensor{x})
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := m.Forward(&runtime.Context{}, []*runtime.Tensor{x})
				if err != nil {
					t.Fatal(err)
				}
				for i, w := range want[0].Data {
					if d := math.Abs(float64(got[0].Data[i] - w)); d > 1e-5+1e-4*math.Abs(float64(w)) {
						t.Fatalf("%s: element %d: fused %v, unfused %v", when, i, got[0].Data[i], w)
					}
				}
			}
			check("at load")
			// A training step changes the weights (and Touches them): the
			// folded copies follow.
			for _, l := range m.Layers {
				for _, v := range AllWeights(l) {
					for i := range v.Value.Data {
						v.Value.Data[i] *= 1.5
					}
					v.Touch()
				}
			}
			check("after a change of the weights")
		})
	}
}

// TestInferenceGraphKeepsShared checks that a value read twice (a residual
// connection) stays unfused, and that graph outputs are kept.
func TestInferenceGraphKeepsShared(t *testing.T) {
	tensor := func(layer string) string {
		return `{"class_name": "__keras_tensor__", "config": {"shape": [null, 4, 4, 3], "dtype": "float32", "keras_history": ["` + layer + `", 0, 0]}}`
	}
	doc := `{"class_name": "Functional", "config": {"name": "m", "layers": [
	  {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [null, 4, 4, 3]}, "inbound_nodes": []},
	  {"class_name": "Conv2D", "name": "c", "config": {"name": "c", "filters": 3, "kernel_size": [1, 1]}, "inbound_nodes": [{"args": [` + tensor("x") + `], "kwargs": {}}]},
	  {"class_name": "BatchNormalization", "name": "b", "config": {"name": "b"}, "inbound_nodes": [{"args": [` + tensor("c") + `], "kwargs": {}}]},
	  {"module": "keras.layers", "class_name": "Add", "name": "a", "config": {"name": "a"}, "inbound_nodes": [{"args": [[` + tensor("c") + `, ` + tensor("b") + `]], "kwargs": {}}]}],
	 "input_layers": [["x", 0, 0]], "output_layers": [["a", 0, 0], ["b", 0, 0]]}}`
	spec, err := kerasjson.ParseModel([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(spec)
	if err != nil {
		t.Fatal(err)
	}
	if g := m.inferenceGraph(); g != &m.graph {
		t.Fatalf("a convolution read twice was fused: %d nodes", len(g.Nodes))
	}
}
