package legacyh5

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/h5"
)

// realworldDir is the shared corpus of other people's Keras files.
const realworldDir = "../../../shared/realworld"

type conversionCase struct {
	Name         string  `json:"name"`
	ClassName    string  `json:"class_name"`
	ResetAfter   bool    `json:"reset_after"`
	DataFormat   string  `json:"data_format"`
	Filters      int     `json:"filters"`
	KernelSize   []int   `json:"kernel_size"`
	TargetShapes [][]int `json:"target_shapes"`
	KerasVersion string  `json:"keras_version"`
	File         string  `json:"file"`
	Layer        string  `json:"layer"`
	Inputs       []struct {
		Shape []int     `json:"shape"`
		Data  []float32 `json:"data"`
	} `json:"inputs"`
	Outputs []struct {
		Shape  []int     `json:"shape"`
		SHA256 string    `json:"sha256"`
		Head   []float32 `json:"head"`
	} `json:"outputs"`
}

// readLegacyGroup reads one layer group's weights in weight_names order.
func readLegacyGroup(t *testing.T, path, layer string) []Array {
	t.Helper()
	f, err := h5.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g := f.Root()
	if mw, err := g.Group("model_weights"); err == nil {
		g = mw
	}
	lg, err := g.Group(layer)
	if err != nil {
		t.Fatal(err)
	}
	names, err := ReadStringList(lg, "weight_names")
	if err != nil {
		t.Fatal(err)
	}
	var out []Array
	for _, n := range names {
		ds, err := lg.Dataset(n)
		if err != nil {
			t.Fatal(err)
		}
		w, err := ReadWeight(ds, layer, n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}

func float32sHash(data []float32) string {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestLegacyConversionsMatchTFKeras checks every conversion against what
// tf-keras's preprocess_weights_for_loading produced for the same weights
// (testdata/legacy_convert.json, from compat/python/export_legacy_conversions.py):
// Keras 1 LSTM gates from three real Keras 1.2.2 files, LSTM<->CuDNNLSTM,
// Keras 1 GRU, GRU<->CuDNNGRU, Keras 1 Conv1D and channels_first Conv2D.
func TestLegacyConversionsMatchTFKeras(t *testing.T) {
	data, err := os.ReadFile("../../testdata/legacy_convert.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []conversionCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 10 {
		t.Fatalf("only %d conversion cases", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var in []Array
			if c.File != "" {
				path := filepath.Join(realworldDir, c.File)
				if _, err := os.Stat(path); err != nil {
					t.Skip("real-world corpus absent")
				}
				in = readLegacyGroup(t, path, c.Layer)
			} else {
				for _, a := range c.Inputs {
					in = append(in, Array{Shape: a.Shape, Data: a.Data})
				}
			}
			target := Target{ClassName: c.ClassName, DataFormat: c.DataFormat, Filters: c.Filters,
				KernelSize: c.KernelSize, ResetAfter: c.ResetAfter, Shapes: c.TargetShapes}
			if target.DataFormat == "" {
				target.DataFormat = "channels_last"
			}
			got, err := Preprocess(target, in, Source{KerasVersion: c.KerasVersion})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.Outputs) {
				t.Fatalf("got %d weights, tf-keras %d", len(got), len(c.Outputs))
			}
			for i, want := range c.Outputs {
				if !slices.Equal(got[i].Shape, want.Shape) {
					t.Fatalf("weight %d: shape %v, tf-keras %v", i, got[i].Shape, want.Shape)
				}
				for j, v := range want.Head {
					if got[i].Data[j] != v {
						t.Errorf("weight %d element %d: %v, tf-keras %v", i, j, got[i].Data[j], v)
					}
				}
				if h := float32sHash(got[i].Data); h != want.SHA256 {
					t.Errorf("weight %d %v: content differs from tf-keras's (sha256 %s, want %s)", i, want.Shape, h[:12], want.SHA256[:12])
				}
			}
		})
	}
}

// TestLegacyConversionErrors checks that weights that fit no known layout
// are refused with the shapes named, not silently mangled.
func TestLegacyConversionErrors(t *testing.T) {
	lstmBad := []Array{
		{Shape: []int{2, 8}, Data: make([]float32, 16)},
		{Shape: []int{2, 8}, Data: make([]float32, 16)},
		{Shape: []int{7}, Data: make([]float32, 7)},
	}
	if _, err := Preprocess(Target{ClassName: "LSTM"}, lstmBad, Source{KerasVersion: "2.3.1"}); err == nil || !strings.Contains(err.Error(), "(7,)") {
		t.Errorf("LSTM with a 7-element bias: %v", err)
	}
	gruOld := []Array{
		{Shape: []int{3, 6}, Data: make([]float32, 18)},
		{Shape: []int{2, 6}, Data: make([]float32, 12)},
		{Shape: []int{6}, Data: make([]float32, 6)},
	}
	if _, err := Preprocess(Target{ClassName: "GRU", ResetAfter: true}, gruOld, Source{KerasVersion: "2.3.1"}); err == nil || !strings.Contains(err.Error(), "not compatible") {
		t.Errorf("GRU(reset_after=False) weights into GRU(reset_after=True): %v", err)
	}
	conv := []Array{{Shape: []int{2, 2}, Data: make([]float32, 4)}}
	if _, err := Preprocess(Target{ClassName: "Conv2D"}, conv, Source{KerasVersion: "2.1.3", Backend: "theano"}); err == nil {
		t.Error("flipping a 2-D kernel: no error")
	}
}
