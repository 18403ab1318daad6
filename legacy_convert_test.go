package kerasrun

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/layers"
)

// realworldDir is the shared corpus of other people's Keras files.
const realworldDir = "../shared/realworld"

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
func readLegacyGroup(t *testing.T, path, layer string) []weightArray {
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
	names, err := readStringList(lg, "weight_names")
	if err != nil {
		t.Fatal(err)
	}
	var out []weightArray
	for _, n := range names {
		ds, err := lg.Dataset(n)
		if err != nil {
			t.Fatal(err)
		}
		w, err := readWeight(ds, layer, n)
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
	data, err := os.ReadFile("testdata/legacy_convert.json")
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
			var in []weightArray
			if c.File != "" {
				path := filepath.Join(realworldDir, c.File)
				if _, err := os.Stat(path); err != nil {
					t.Skip("real-world corpus absent")
				}
				in = readLegacyGroup(t, path, c.Layer)
			} else {
				for _, a := range c.Inputs {
					in = append(in, weightArray{shape: a.Shape, data: a.Data})
				}
			}
			target := legacyTarget{className: c.ClassName, dataFormat: c.DataFormat, filters: c.Filters,
				kernelSize: c.KernelSize, resetAfter: c.ResetAfter, shapes: c.TargetShapes}
			if target.dataFormat == "" {
				target.dataFormat = "channels_last"
			}
			got, err := preprocessLegacyWeights(target, in, legacySource{kerasVersion: c.KerasVersion})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.Outputs) {
				t.Fatalf("got %d weights, tf-keras %d", len(got), len(c.Outputs))
			}
			for i, want := range c.Outputs {
				if !sameShape(got[i].shape, want.Shape) {
					t.Fatalf("weight %d: shape %v, tf-keras %v", i, got[i].shape, want.Shape)
				}
				for j, v := range want.Head {
					if got[i].data[j] != v {
						t.Errorf("weight %d element %d: %v, tf-keras %v", i, j, got[i].data[j], v)
					}
				}
				if h := float32sHash(got[i].data); h != want.SHA256 {
					t.Errorf("weight %d %v: content differs from tf-keras's (sha256 %s, want %s)", i, want.Shape, h[:12], want.SHA256[:12])
				}
			}
		})
	}
}

// TestLegacyConversionErrors checks that weights that fit no known layout
// are refused with the shapes named, not silently mangled.
func TestLegacyConversionErrors(t *testing.T) {
	lstmBad := []weightArray{
		{shape: []int{2, 8}, data: make([]float32, 16)},
		{shape: []int{2, 8}, data: make([]float32, 16)},
		{shape: []int{7}, data: make([]float32, 7)},
	}
	if _, err := preprocessLegacyWeights(legacyTarget{className: "LSTM"}, lstmBad, legacySource{kerasVersion: "2.3.1"}); err == nil || !strings.Contains(err.Error(), "(7,)") {
		t.Errorf("LSTM with a 7-element bias: %v", err)
	}
	gruOld := []weightArray{
		{shape: []int{3, 6}, data: make([]float32, 18)},
		{shape: []int{2, 6}, data: make([]float32, 12)},
		{shape: []int{6}, data: make([]float32, 6)},
	}
	if _, err := preprocessLegacyWeights(legacyTarget{className: "GRU", resetAfter: true}, gruOld, legacySource{kerasVersion: "2.3.1"}); err == nil || !strings.Contains(err.Error(), "not compatible") {
		t.Errorf("GRU(reset_after=False) weights into GRU(reset_after=True): %v", err)
	}
	conv := []weightArray{{shape: []int{2, 2}, data: make([]float32, 4)}}
	if _, err := preprocessLegacyWeights(legacyTarget{className: "Conv2D"}, conv, legacySource{kerasVersion: "2.1.3", backend: "theano"}); err == nil {
		t.Error("flipping a 2-D kernel: no error")
	}
}

// TestTheanoKernelFlip loads dl4j-conv2d_th_2, whose Conv2D kernel was set
// to arange(270).reshape(3,3,5,6) and bias to 0..5 under the Theano
// backend: kerasrun must hold the kernel flipped along both spatial axes,
// as Keras 2 did when it loaded a Theano file.
func TestTheanoKernelFlip(t *testing.T) {
	path := filepath.Join(realworldDir, "dl4j-conv2d_th_2/conv2d_theano_2.h5")
	if _, err := os.Stat(path); err != nil {
		t.Skip("real-world corpus absent")
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var conv layers.Layer
	for _, l := range kerasLayers(m.net) {
		if l.Common().ClassName == "Conv2D" {
			conv = l
		}
	}
	if conv == nil {
		t.Fatal("no Conv2D layer")
	}
	w := conv.Weights()
	kernel, bias := w[0].Value, w[1].Value
	if !sameShape(kernel.Shape, []int{3, 3, 5, 6}) {
		t.Fatalf("kernel shape %v", kernel.Shape)
	}
	for i := range 3 {
		for j := range 3 {
			for c := range 5 {
				for f := range 6 {
					want := float32((((2-i)*3+(2-j))*5+c)*6 + f)
					if got := kernel.Data[((i*3+j)*5+c)*6+f]; got != want {
						t.Fatalf("kernel[%d,%d,%d,%d] = %v, want %v (arange flipped)", i, j, c, f, got, want)
					}
				}
			}
		}
	}
	for f := range 6 {
		if bias.Data[f] != float32(f) {
			t.Fatalf("bias = %v, want 0..5", bias.Data)
		}
	}
}

// TestShardedWeights loads Keras 3 sharded weights (three shards, one
// layer's variables split across two) and predicts as Keras did.
func TestShardedWeights(t *testing.T) {
	m, err := Load("testdata/sharded/model.json", WithWeights("testdata/sharded/model.weights.json"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := ReadNPY("testdata/sharded/x.npy")
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadNPY("testdata/sharded/y.npy")
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	if msg := compareTensors(got[0], want); msg != "" {
		t.Fatal(msg)
	}
}

// compareTensors checks got against want within the default fixture
// tolerance |got-want| <= 1e-5 + 1e-4*|want|; it returns what differs.
func compareTensors(got, want *Tensor) string {
	if !sameShape(got.Shape, want.Shape) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	worst, at := 0.0, -1
	for i, w := range want.Data {
		d := math.Abs(float64(got.Data[i]) - float64(w))
		if d > 1e-5+1e-4*math.Abs(float64(w)) && d > worst {
			worst, at = d, i
		}
	}
	if at >= 0 {
		return fmt.Sprintf("element %d of %v: got %v, want %v", at, want.Shape, got.Data[at], want.Data[at])
	}
	return ""
}
