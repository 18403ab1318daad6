package kerasrun

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// inputsCases is testdata/inputs/cases.json (compat/python/export_inputs.py).
type inputsCases struct {
	Images []string `json:"images"`
	Arrays []struct {
		Array, Image, Key string
		ColorMode         string `json:"color_mode"`
		Height, Width     int
		KeepAspectRatio   bool   `json:"keep_aspect_ratio"`
		DataFormat        string `json:"data_format"`
	} `json:"arrays"`
}

func readInputsCases(t *testing.T) inputsCases {
	t.Helper()
	raw, err := os.ReadFile("testdata/inputs/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var c inputsCases
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// jpegLevels is how far a JPEG's samples may be from PIL's: Go's
// image/jpeg inverse DCT is not libjpeg's islow, and a sample rounds to a
// neighbouring level (measured on testdata/inputs: Y, Cb, Cr each at most 1 off, RGB at most 2).
const jpegLevels = 2

// TestLoadImageMatchesKeras: every image of testdata/inputs under every
// color mode, target size, aspect handling and data format gives the
// array keras.utils.img_to_array(keras.utils.load_img(...)) gave: exactly,
// but JPEGs within jpegLevels.
func TestLoadImageMatchesKeras(t *testing.T) {
	c := readInputsCases(t)
	want, err := ReadNPZ("testdata/inputs/arrays.npz")
	if err != nil {
		t.Fatal(err)
	}
	worst := map[string]float64{}
	off := map[string]int{}
	for _, a := range c.Arrays {
		got, err := LoadImage(filepath.Join("testdata/inputs", a.Image), ImageOptions{
			Height: a.Height, Width: a.Width, ColorMode: a.ColorMode, DataFormat: a.DataFormat, KeepAspectRatio: a.KeepAspectRatio,
		})
		if err != nil {
			t.Errorf("%s: %v", a.Key, err)
			continue
		}
		w := want[a.Array]
		if !slices.Equal(got.Shape, w.Shape) {
			t.Errorf("%s: shape %v, Keras %v", a.Key, got.Shape, w.Shape)
			continue
		}
		for i := range w.Data {
			d := math.Abs(float64(got.Data[i] - w.Data[i]))
			worst[a.Image] = math.Max(worst[a.Image], d)
			if d != 0 {
				off[a.Image]++
			}
		}
	}
	for img, d := range worst {
		limit := 0.0
		if strings.HasSuffix(img, ".jpg") {
			limit = jpegLevels
		}
		if d > limit {
			t.Errorf("%s: a value %v levels from Keras's (%d values differ); want at most %v", img, d, off[img], limit)
		}
		if d > 0 {
			t.Logf("%s: %d values differ from Keras's, by at most %v", img, off[img], d)
		}
	}
	if len(worst) != len(c.Images) {
		t.Errorf("checked %d images of %d", len(worst), len(c.Images))
	}
}

// TestImageModelsMatchKeras: the folder testdata/inputs/images as one
// batch, loaded with the options the model's input implies
// (Model.ImageOptions: target size, color mode, data format), gives
// Keras's predictions of the same images through load_img and
// img_to_array: an RGB channels_last model and a grayscale
// channels_first one. JPEG rows, whose pixels may be jpegLevels off,
// are held to jpegTolerance.
func TestImageModelsMatchKeras(t *testing.T) {
	c := readInputsCases(t)
	for _, k := range []struct{ model, pred string }{{"model_rgb.keras", "pred_rgb.npy"}, {"model_gray.keras", "pred_gray.npy"}} {
		m, err := Load(filepath.Join("testdata/inputs", k.model))
		if err != nil {
			t.Fatal(err)
		}
		opts, err := m.ImageOptions("")
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, f := range c.Images {
			paths = append(paths, filepath.Join("testdata/inputs/images", f))
		}
		x, err := LoadImages(paths, opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		want := readNPYT(t, filepath.Join("testdata/inputs", k.pred))
		cols := want.Shape[1]
		for i, f := range c.Images {
			atol, rtol := 1e-5, 1e-4
			if strings.HasSuffix(f, ".jpg") {
				atol = jpegTolerance
			}
			worst := 0.0
			for j := 0; j < cols; j++ {
				g, w := float64(out[0].Data[i*cols+j]), float64(want.Data[i*cols+j])
				worst = math.Max(worst, math.Abs(g-w))
				if math.Abs(g-w) > atol+rtol*math.Abs(w) {
					t.Errorf("%s %s: output [%d] = %v, Keras %v", k.model, f, j, g, w)
				}
			}
			if strings.HasSuffix(f, ".jpg") {
				t.Logf("%s %s: worst |got-want| %.3g", k.model, f, worst)
			}
		}
	}
}

// jpegTolerance is the absolute tolerance of a JPEG's outputs: its
// pixels may be jpegLevels off (TestLoadImageMatchesKeras), and a level
// moves an output by its weights' sum over those pixels / 255: measured
// 2.0e-5 on model_rgb (within the default tolerance) and 8.75e-4 on
// model_gray, a Dense straight on the pixels.
const jpegTolerance = 2e-3

// FuzzDecodeImage: no panic on any bytes, and an image that decodes
// converts to a tensor of the shape the options say.
func FuzzDecodeImage(f *testing.F) {
	files, _ := filepath.Glob("testdata/inputs/images/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := DecodeImage(bytes.NewReader(b), ImageOptions{Height: 3, Width: 4, ColorMode: "rgba"})
		if err != nil {
			if x != nil {
				t.Fatal("a tensor and an error")
			}
			return
		}
		if !slices.Equal(x.Shape, []int{3, 4, 4}) || len(x.Data) != 48 {
			t.Fatalf("shape %v, %d values", x.Shape, len(x.Data))
		}
	})
}
