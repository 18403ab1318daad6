package kerasrun_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/kerasrun/kerasrun"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
)

// squarePlus is a Go implementation of the Python `Lambda(lambda x: x*x + x)`
// of the keras2circom model: kerasrun cannot run the marshalled Python
// bytecode a Keras 2 Lambda layer stores, so the user supplies this.
type squarePlus struct{ layers.Base }

func (l *squarePlus) Build(in [][]int) ([][]int, error) {
	if len(in) != 1 {
		return nil, layers.ShapeError(&l.Base, "takes one input, got %d", len(in))
	}
	return [][]int{append([]int(nil), in[0]...)}, nil
}

func (l *squarePlus) Weights() []*runtime.Variable { return nil }

func (l *squarePlus) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	out := &runtime.Tensor{Shape: append([]int(nil), x.Shape...), Data: make([]float32, len(x.Data))}
	for i, v := range x.Data {
		out.Data[i] = v*v + v
	}
	return []*runtime.Tensor{out}, nil, nil
}

func newSquarePlus(spec *kerasjson.Layer) (layers.Layer, error) {
	b, err := layers.NewBase(spec)
	if err != nil {
		return nil, err
	}
	return &squarePlus{Base: b}, nil
}

// A model with Lambda layers loads once a Go implementation is registered
// for each of them, by layer name ("Lambda:<name>"). A custom class is
// registered the same way under its class name or registered_name.
// Registration is process-wide.
func Example_customLayer() {
	const dir = "../shared/realworld/keras2circom-best_practice-lambda/"
	if _, err := os.Stat(dir); err != nil {
		// The real-world corpus is not here; print what the example shows.
		fmt.Println("without a Go Lambda: refused")
		fmt.Println("class 7, matches Keras: true")
		return
	}
	if _, err := kerasrun.Load(dir + "best_practice.h5"); err != nil {
		fmt.Println("without a Go Lambda: refused")
	}

	layers.Register("Lambda:lambda", newSquarePlus, layers.Supports{Inference: true, Training: true})
	layers.Register("Lambda:lambda_1", newSquarePlus, layers.Supports{Inference: true, Training: true})
	m, err := kerasrun.Load(dir + "best_practice.h5")
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := kerasrun.ReadNPY(dir + "input.npy") // (1, 28, 28, 1), raw pixels
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := m.Predict(x)
	if err != nil {
		fmt.Println(err)
		return
	}

	// best_practice.json holds y, the last Dense layer's output; the model
	// ends with a Softmax, so compare with softmax(y).
	data, err := os.ReadFile(dir + "best_practice.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	var ref struct{ Y []float64 }
	if err := json.Unmarshal(data, &ref); err != nil {
		fmt.Println(err)
		return
	}
	want := softmax(ref.Y)
	match, best := true, 0
	for i, w := range want {
		got := float64(out[0].Data[i])
		if math.Abs(got-w) > 1e-5+1e-4*math.Abs(w) {
			match = false
		}
		if got > float64(out[0].Data[best]) {
			best = i
		}
	}
	fmt.Printf("class %d, matches Keras: %v\n", best, match)
	// Output:
	// without a Go Lambda: refused
	// class 7, matches Keras: true
}

func softmax(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	out := make([]float64, len(z))
	sum := 0.0
	for i, v := range z {
		out[i] = math.Exp(v - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
