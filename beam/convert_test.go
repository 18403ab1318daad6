package kerasbeam

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"reflect"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun"
)

// schemaRow is a row as the Go SDK decodes a schema row: field names from
// beam tags.
type schemaRow struct {
	Pixels [2][3]uint8 `beam:"in_a"`
	Extra  float64     `beam:"in_b"`
	Note   string      `beam:"note"`
}

// tagWins has both a keras tag and a field named after the other input:
// the tag decides.
type tagWins struct {
	InA    []float32
	Actual []float32 `keras:"in_a"`
	Other  []float32 `keras:"in_b"`
}

// png2x1 is a 2x1 RGB PNG: pixels (255, 0, 10) and (0, 128, 255).
var png2x1 = func() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.NRGBA{255, 0, 10, 255})
	img.Set(1, 0, color.NRGBA{0, 128, 255, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}()

// rgbImages converts images as an RGB input of their own size.
func rgbImages(string) (kerasrun.ImageOptions, error) {
	return kerasrun.ImageOptions{ColorMode: "rgb"}, nil
}

// TestToExample converts each element type to a model's inputs: the
// tensors (names, shapes, values) for the good ones, an error naming the
// problem, and no tensors, for the bad ones.
func TestToExample(t *testing.T) {
	one := []kerasrun.TensorInfo{{Name: "x", Shape: []int{-1, 2, 2}}}
	open := []kerasrun.TensorInfo{{Name: "seq", Shape: []int{-1, -1, 3}}}
	two := []kerasrun.TensorInfo{{Name: "in_a", Shape: []int{-1, 2, 3}}, {Name: "in_b", Shape: []int{-1, 1}}}
	flat := []kerasrun.TensorInfo{{Name: "in_a", Shape: []int{-1, 2}}, {Name: "in_b", Shape: []int{-1, 2}}}
	pic := []kerasrun.TensorInfo{{Name: "pic", Shape: []int{-1, 1, 2, 3}}}
	vals := []float32{1, 2, 3, 4}
	tensor := func(name string, shape []int, data ...float32) Tensor {
		return Tensor{Name: name, Shape: shape, Data: data}
	}
	for _, tc := range []struct {
		name   string
		elem   any
		inputs []kerasrun.TensorInfo
		want   []Tensor
		err    string
	}{
		{"float32", vals, one, []Tensor{tensor("x", []int{2, 2}, vals...)}, ""},
		{"float64", []float64{1, 2, 3, 4}, one, []Tensor{tensor("x", []int{2, 2}, vals...)}, ""},
		{"nested", [][]int{{1, 2}, {3, 4}}, one, []Tensor{tensor("x", []int{2, 2}, vals...)}, ""},
		{"array", [2][2]float32{{1, 2}, {3, 4}}, one, []Tensor{tensor("x", []int{2, 2}, vals...)}, ""},
		{"pointer", &[]float32{1, 2, 3, 4}, one, []Tensor{tensor("x", []int{2, 2}, vals...)}, ""},
		{"ragged", [][]float32{{1, 2}, {3}}, one, nil, "ragged: rows of 2 and 1 values"},
		{"short", []float32{1, 2, 3}, one, nil, `input "x": 3 values do not fill shape [2 2] (4)`},
		{"unknown dim", []float32{1, 2, 3}, open, nil, "unknown dimension: give a Tensor with its shape"},
		{"tensor unknown dim", tensor("", []int{2, 3}, 1, 2, 3, 4, 5, 6), open, []Tensor{tensor("seq", []int{2, 3}, 1, 2, 3, 4, 5, 6)}, ""},
		{"tensor no shape", tensor("", nil, vals...), one, []Tensor{tensor("x", []int{2, 2}, vals...)}, ""},
		{"tensor no shape unknown dim", tensor("", nil, 1, 2, 3), open, nil, "unknown dimension"},
		{"tensor wrong rank", tensor("", []int{6}, 1, 2, 3, 4, 5, 6), open, nil, "takes samples of shape [-1 3], element has shape [6]"},
		{"slice into two inputs", vals, two, nil, "feeds a single-input model; this one takes 2 inputs [in_a in_b]"},
		{"example by name", Example{Inputs: []Tensor{tensor("in_b", []int{2}, 3, 4), tensor("in_a", []int{2}, 1, 2)}}, flat,
			[]Tensor{tensor("in_a", []int{2}, 1, 2), tensor("in_b", []int{2}, 3, 4)}, ""},
		{"example in order", Example{Inputs: []Tensor{tensor("", []int{2}, 1, 2), tensor("", []int{2}, 3, 4)}}, flat,
			[]Tensor{tensor("in_a", []int{2}, 1, 2), tensor("in_b", []int{2}, 3, 4)}, ""},
		{"example unknown name", Example{Inputs: []Tensor{tensor("in_a", []int{2}, 1, 2), tensor("c", []int{2}, 3, 4)}}, flat, nil, `no tensor named "in_b"`},
		{"map", map[string][]float32{"in_a": {1, 2}, "in_b": {3, 4}}, flat, []Tensor{tensor("in_a", []int{2}, 1, 2), tensor("in_b", []int{2}, 3, 4)}, ""},
		{"map missing", map[string][]float32{"in_a": {1, 2}}, flat, nil, `no values for input "in_b"`},
		{"schema row", schemaRow{Pixels: [2][3]uint8{{1, 2, 3}, {4, 5, 6}}, Extra: 7, Note: "n"}, two,
			[]Tensor{tensor("in_a", []int{2, 3}, 1, 2, 3, 4, 5, 6), tensor("in_b", []int{1}, 7)}, ""},
		{"go names", struct{ InA, InB []float32 }{[]float32{1, 2}, []float32{3, 4}}, flat,
			[]Tensor{tensor("in_a", []int{2}, 1, 2), tensor("in_b", []int{2}, 3, 4)}, ""},
		{"keras tag wins", &tagWins{InA: []float32{9, 9}, Actual: []float32{1, 2}, Other: []float32{3, 4}}, flat,
			[]Tensor{tensor("in_a", []int{2}, 1, 2), tensor("in_b", []int{2}, 3, 4)}, ""},
		{"struct field not numbers", struct {
			InA string
			InB []float32
		}{"a", []float32{3, 4}}, flat, nil, "InA: a string is not a number or a list of numbers"},
		{"struct tensor field", struct {
			InA Tensor
			InB []float32
		}{tensor("", []int{3}, 1, 2, 3), []float32{3, 4}}, flat, nil, "InA: input \"in_a\" takes samples of shape [2], element has shape [3]"},
		{"string", "1,2,3,4", one, nil, "cannot feed a string element"},
		{"image", Image(png2x1), pic, []Tensor{tensor("pic", []int{1, 2, 3}, 255, 0, 10, 0, 128, 255)}, ""},
		{"image field", struct{ Pic Image }{png2x1}, pic, []Tensor{tensor("pic", []int{1, 2, 3}, 255, 0, 10, 0, 128, 255)}, ""},
		{"image wrong size", Image(png2x1), []kerasrun.TensorInfo{{Name: "pic", Shape: []int{-1, 2, 2, 3}}}, nil, "takes samples of shape [2 2 3], element has shape [1 2 3]"},
		{"not an image", Image("GIF87a?"), pic, nil, `input "pic": not an image kerasrun decodes`},
		{"image into two inputs", Image(png2x1), flat, nil, "an Image element feeds a single-input model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := toExample(tc.elem, tc.inputs, rgbImages)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				if ex.Inputs != nil {
					t.Errorf("tensors %v came back with the error", ex.Inputs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ex.Inputs, tc.want) {
				t.Errorf("got %+v, want %+v", ex.Inputs, tc.want)
			}
		})
	}
}
