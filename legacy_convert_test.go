package kerasrun

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kerasrun/kerasrun/layers"
)

// realworldDir is the shared corpus of other people's Keras files.
const realworldDir = "../shared/realworld"

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
	if !slices.Equal(kernel.Shape, []int{3, 3, 5, 6}) {
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
	if !slices.Equal(got.Shape, want.Shape) {
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
