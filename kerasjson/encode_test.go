package kerasjson

import (
	"strings"
	"testing"
)

// TestKeras2CheckLayer checks the argument and activation rules on
// hand-built configs against the exported table.
func TestKeras2CheckLayer(t *testing.T) {
	cfg := map[string]any{"name": "pad", "padding": 1, "data_format": "channels_last", "trainable": true}
	if p := keras2CheckLayer("pad", "ZeroPadding1D", cfg); p != nil {
		t.Errorf("ZeroPadding1D default data_format: %v", p)
	}
	if _, ok := cfg["data_format"]; ok {
		t.Errorf("data_format at its default was not dropped")
	}
	cfg = map[string]any{"name": "pad", "padding": 1, "data_format": "channels_first"}
	if p := keras2CheckLayer("pad", "ZeroPadding1D", cfg); len(p) != 1 || !strings.Contains(p[0], "data_format") {
		t.Errorf("ZeroPadding1D channels_first: %v, want one problem naming data_format", p)
	}
	cfg = map[string]any{"name": "ln", "rms_scaling": true, "axis": -1}
	if p := keras2CheckLayer("ln", "LayerNormalization", cfg); len(p) != 1 || !strings.Contains(p[0], "rms_scaling") {
		t.Errorf("LayerNormalization rms_scaling true: %v", p)
	}
	cfg = map[string]any{"name": "d", "units": 2, "activation": "hard_silu"}
	if p := keras2CheckLayer("d", "Dense", cfg); len(p) != 1 || !strings.Contains(p[0], "hard_silu") {
		t.Errorf("Dense hard_silu: %v", p)
	}
	cfg = map[string]any{"name": "bi", "layer": map[string]any{"class_name": "LSTM",
		"config": map[string]any{"name": "lstm", "units": 2, "recurrent_activation": "sparse_plus"}}}
	if p := keras2CheckLayer("bi", "Bidirectional", cfg); len(p) != 1 || !strings.Contains(p[0], `"bi/lstm"`) {
		t.Errorf("nested LSTM recurrent_activation sparse_plus: %v", p)
	}
	cfg = map[string]any{"name": "d", "units": 2, "activation": "silu", "lora_rank": nil}
	if p := keras2CheckLayer("d", "Dense", cfg); p != nil {
		t.Errorf("Dense silu: %v", p)
	}
	if _, ok := cfg["lora_rank"]; ok {
		t.Errorf("lora_rank at its default was not dropped")
	}
	cfg = map[string]any{"name": "leaky", "negative_slope": 0.2}
	if p := keras2CheckLayer("leaky", "LeakyReLU", cfg); p != nil || cfg["alpha"] != 0.2 || cfg["negative_slope"] != nil {
		t.Errorf("LeakyReLU negative_slope: %v, config %v, want alpha 0.2", p, cfg)
	}
	if p := keras2CheckLayer("c", "MyCustomLayer", map[string]any{"anything": 1}); p != nil {
		t.Errorf("custom layer: %v", p)
	}
}
