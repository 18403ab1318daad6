package layers

import (
	"strings"
	"testing"
)

func TestReshapingLayersContract(t *testing.T) {
	runContractCases(t, []layerCase{
		{"Reshape", `{"target_shape": [-1, 2]}`, [][]int{{2, 3, 4}}, nil},
		{"Permute", `{"dims": [3, 1, 2]}`, [][]int{{2, 2, 3, 4}}, nil},
		{"RepeatVector", `{"n": 3}`, [][]int{{2, 4}}, nil},
		{"Cropping1D", `{"cropping": [1, 2]}`, [][]int{{2, 5, 3}}, nil},
		{"Cropping2D", `{"cropping": [[0, 1], [1, 1]], "data_format": "channels_first"}`, [][]int{{2, 2, 4, 4}}, nil},
		{"Cropping3D", `{"cropping": 1}`, [][]int{{1, 3, 4, 3, 2}}, nil},
		{"ZeroPadding1D", `{"padding": [0, 2]}`, [][]int{{2, 3, 2}}, nil},
		{"ZeroPadding2D", `{"padding": [[1, 0], [0, 2]]}`, [][]int{{2, 2, 3, 2}}, nil},
		{"ZeroPadding3D", `{"padding": 1, "data_format": "channels_first"}`, [][]int{{1, 2, 2, 2, 2}}, nil},
		{"UpSampling1D", `{"size": 2}`, [][]int{{2, 3, 2}}, nil},
		{"UpSampling2D", `{"size": [2, 3]}`, [][]int{{2, 2, 2, 2}}, nil},
		{"UpSampling2D", `{"size": 2, "interpolation": "bilinear", "data_format": "channels_first"}`, [][]int{{1, 2, 3, 3}}, nil},
		{"UpSampling3D", `{"size": [1, 2, 2]}`, [][]int{{1, 2, 2, 2, 2}}, nil},
	}, 41)
}

func TestReshapingErrors(t *testing.T) {
	cases := []struct {
		class, config string
		shape         []int
		want          string
	}{
		{"Reshape", `{"target_shape": [5]}`, []int{-1, 2, 3}, "cannot reshape 6 values"},
		{"Reshape", `{"target_shape": [4, -1]}`, []int{-1, 6}, "cannot reshape 6 values"},
		{"Permute", `{"dims": [2, 1]}`, []int{-1, 3}, "expects rank 3"},
		{"Cropping1D", `{"cropping": [2, 2]}`, []int{-1, 4, 3}, "must be smaller"},
		{"UpSampling2D", `{"interpolation": "bicubic"}`, nil, "not supported"},
	}
	for _, c := range cases {
		l, err := buildTestLayer(c.class, c.config)
		if err == nil {
			_, err = l.Build([][]int{c.shape})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s on %v: got %v, want error containing %q", c.class, c.config, c.shape, err, c.want)
		}
	}
}
