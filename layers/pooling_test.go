package layers

import "testing"

func TestPoolingContract(t *testing.T) {
	runWindowContract(t, []windowContractCase{
		{"MaxPooling2D", `{"pool_size": 2}`, []int{2, 5, 7, 3}},
		{"MaxPooling2D", `{"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}`, []int{2, 2, 5, 6}},
		{"MaxPool2D", `{"pool_size": [2, 3], "strides": 1}`, []int{1, 4, 5, 2}},
		{"AveragePooling2D", `{"pool_size": 3, "strides": 2, "padding": "same"}`, []int{2, 5, 6, 2}},
		{"AvgPool1D", `{"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}`, []int{2, 2, 7}},
		{"MaxPooling1D", `{"pool_size": 2, "strides": 1}`, []int{2, 6, 3}},
		{"MaxPooling3D", `{"pool_size": 2, "padding": "same"}`, []int{2, 3, 5, 4, 2}},
		{"AveragePooling3D", `{"pool_size": [2, 3, 2], "strides": [1, 2, 1], "padding": "same", "data_format": "channels_first"}`, []int{1, 2, 3, 5, 4}},
	})
}

func TestPoolingConfigErrors(t *testing.T) {
	for _, c := range []struct{ class, config string }{
		{"MaxPooling2D", `{}`},
		{"MaxPooling2D", `{"pool_size": 0}`},
		{"AveragePooling1D", `{"pool_size": 2, "padding": "causal"}`},
	} {
		if err := newLayerError(t, c.class, c.config); err == nil {
			t.Errorf("%s %s: no error", c.class, c.config)
		}
	}
	l := newTestLayer(t, "MaxPooling2D", `{"pool_size": 3}`)
	if _, err := l.Build([][]int{{-1, 2, 5, 3}}); err == nil {
		t.Errorf("Build on a too small input: no error")
	}
	if out, err := l.Build([][]int{{-1, -1, 7, 3}}); err != nil || out[0][1] != -1 || out[0][2] != 2 {
		t.Errorf("Build with an unknown size: %v, %v", out, err)
	}
}

func TestGlobalAndAdaptivePoolingContract(t *testing.T) {
	runWindowContract(t, []windowContractCase{
		{"GlobalMaxPooling2D", `{}`, []int{2, 3, 4, 3}},
		{"GlobalMaxPool1D", `{"data_format": "channels_first", "keepdims": true}`, []int{2, 3, 5}},
		{"GlobalAveragePooling3D", `{"keepdims": true}`, []int{2, 2, 3, 2, 2}},
		{"GlobalAvgPool2D", `{"data_format": "channels_first"}`, []int{2, 3, 4, 3}},
		{"AdaptiveMaxPooling2D", `{"output_size": [2, 3]}`, []int{2, 5, 7, 2}},
		{"AdaptiveAveragePooling1D", `{"output_size": 1, "data_format": "channels_first"}`, []int{2, 3, 7}},
		{"AdaptiveAveragePooling2D", `{"output_size": [6, 1]}`, []int{2, 4, 5, 2}},
		{"AdaptiveMaxPooling3D", `{"output_size": 2, "data_format": "channels_first"}`, []int{1, 2, 3, 4, 3}},
	})
}

func TestAdaptiveBounds(t *testing.T) {
	// Keras's windows for L=5, O=3 are [0,2), [1,4), [3,5).
	start, end := adaptiveBounds(5, 3)
	want := [][2]int{{0, 2}, {1, 4}, {3, 5}}
	for i := range want {
		if start[i] != want[i][0] || end[i] != want[i][1] {
			t.Errorf("window %d = [%d, %d), want %v", i, start[i], end[i], want[i])
		}
	}
}

// TestWindowLayerNamesRegistered lists every convolution and pooling name
// keras.layers exports in Keras 3.15 (keras/layers/__init__.py), aliases
// included.
func TestWindowLayerNamesRegistered(t *testing.T) {
	names := []string{
		"Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D",
		"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
		"Convolution1DTranspose", "Convolution2DTranspose", "Convolution3DTranspose",
		"DepthwiseConv1D", "DepthwiseConv2D",
		"SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
		"MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
		"AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
		"GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
		"GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
		"GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
		"GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
		"AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
		"AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
	}
	have := map[string]bool{}
	for _, n := range Registered() {
		have[n] = true
	}
	for _, n := range names {
		if !have[n] {
			t.Errorf("%s is not registered", n)
		}
	}
}
