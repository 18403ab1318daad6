package kerasbeam

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/kerasrun/kerasrun"
)

// jpegTolerance is the absolute tolerance of a JPEG's outputs, as the
// core's image tests hold them: Go's image/jpeg inverse DCT is not
// libjpeg's, a sample may be 2 levels off PIL's, which moves model_gray's
// outputs (a Dense straight on the pixels) by up to 8.75e-4.
const jpegTolerance = 2e-3

// TestImagesMatchKeras scores the encoded image files of testdata/inputs
// (PNG, JPEG, GIF, BMP, TIFF, WebP of several sizes) as Image elements
// with the RGB model and the channels-first grayscale one: each as Keras
// scored img_to_array(load_img(...)) of it (JPEGs within jpegTolerance); a file that is no image goes
// to the dead-letter output.
func TestImagesMatchKeras(t *testing.T) {
	dir := filepath.Join("..", "testdata", "inputs")
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Tolerance struct{ Atol, Rtol float64 }
		Images    []string
		RGB, Gray struct{ Model, Pred string }
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	var files []Image
	for _, name := range c.Images {
		b, err := os.ReadFile(filepath.Join(dir, "images", name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, Image(b))
	}
	p, s := beam.NewPipelineWithRoot()
	for _, k := range []struct{ Model, Pred string }{c.RGB, c.Gray} {
		path := filepath.Join(dir, k.Model)
		m, err := kerasrun.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := m.ImageOptions("")
		if err != nil {
			t.Fatal(err)
		}
		pred := readNPY(t, filepath.Join(dir, k.Pred))
		f := &checkFn{Label: k.Model, ModelID: path, Atol: c.Tolerance.Atol, Rtol: c.Tolerance.Rtol}
		for i, name := range c.Images {
			x, err := kerasrun.LoadImage(filepath.Join(dir, "images", name), opts)
			if err != nil {
				t.Fatal(err)
			}
			atol := c.Tolerance.Atol
			if strings.HasSuffix(name, ".jpg") {
				atol = jpegTolerance
			}
			f.SampleAtol = append(f.SampleAtol, atol)
			f.Inputs = append(f.Inputs, x.Data)
			f.Want = append(f.Want, row([]*kerasrun.Tensor{pred}, i)[0])
		}
		s := s.Scope(k.Model)
		elems := append(append([]Image(nil), files...), Image("not an image"))
		res, failed := RunInference(s, path, beam.CreateList(s, elems), MaxBatchSize(5))
		checkResults(s, res, f, labels(k.Model, seq(len(c.Images))))
		passert.Count(s, beam.ParDo(s, &containsFn{Sub: "not an image kerasrun decodes"}, beam.ParDo(s, failureText, failed)), "bad image", 1)
	}
	ptest.RunAndValidate(t, p)
}
