package layers

import (
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

func TestPreprocessingLayersContract(t *testing.T) {
	runContractCases(t, []layerCase{
		{"Rescaling", `{"scale": [0.5, 2.0], "offset": 1.0}`, [][]int{{2, 3, 2}}, nil},
		{"Normalization", `{"mean": [1.0, 2.0], "variance": [4.0, 0.25]}`, [][]int{{2, 2}}, nil},
		{"Normalization", `{"axis": 1, "invert": true}`, [][]int{{2, 3, 2}}, nil},
		{"Resizing", `{"height": 5, "width": 3}`, [][]int{{1, 3, 4, 2}}, nil},
		{"Resizing", `{"height": 2, "width": 4, "crop_to_aspect_ratio": true, "data_format": "channels_first"}`, [][]int{{1, 2, 3, 5}}, nil},
		{"CenterCrop", `{"height": 2, "width": 3}`, [][]int{{1, 4, 4, 2}}, nil},
		{"CenterCrop", `{"height": 5, "width": 3}`, [][]int{{1, 4, 4, 1}}, nil},
	}, 61)
}

func TestCategoricalLayersErrors(t *testing.T) {
	cases := []struct {
		class, config string
		x             []float32
		want          string
	}{
		{"CategoryEncoding", `{"num_tokens": 3}`, []float32{0, 3}, "value 3 is out of range [0, 3)"},
		{"CategoryEncoding", `{"num_tokens": 3, "output_mode": "count"}`, []float32{-1, 0}, "out of range"},
		{"IntegerLookup", `{"vocabulary": [5, 6], "num_oov_indices": 0}`, []float32{5, 7}, "value 7 is not in the vocabulary"},
	}
	for _, c := range cases {
		l := newTestLayer(t, c.class, c.config)
		if _, err := l.Build([][]int{{-1, len(c.x)}}); err != nil {
			t.Fatal(err)
		}
		out, _, err := l.Forward(&runtime.Context{}, []*runtime.Tensor{{Shape: []int{1, len(c.x)}, Data: c.x}})
		if err == nil || out != nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "("+c.class+")") {
			t.Errorf("%s %s: got %v, %v; want error naming the layer, containing %q", c.class, c.config, out, err, c.want)
		}
	}
	for _, cfg := range []string{`{"num_tokens": 3, "output_mode": "tf_idf"}`, `{"num_tokens": 0}`} {
		if _, err := buildTestLayer("CategoryEncoding", cfg); err == nil {
			t.Errorf("CategoryEncoding %s: want an error", cfg)
		}
	}
	if _, err := buildTestLayer("IntegerLookup", `{"vocabulary": "vocab.txt"}`); err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("file vocabulary: got %v", err)
	}
}
