package layers

import (
	"fmt"
	"sort"
	"testing"
)

func TestActivationsContract(t *testing.T) {
	var names []string
	for n := range activations {
		names = append(names, n)
	}
	sort.Strings(names)
	var cases []layerCase
	for _, n := range names {
		if n == "sparsemax" {
			// Keras's sparsemax (reproduced exactly) jumps where the
			// support changes; the Keras fixtures check its gradient.
			continue
		}
		cases = append(cases, layerCase{"Activation", fmt.Sprintf(`{"activation": %q}`, n), [][]int{{2, 3, 4}}, []float32{0, -0.5, 0.5, -1, 1}})
	}
	cases = append(cases,
		layerCase{"Dense", `{"units": 4, "activation": "glu"}`, [][]int{{3, 5}}, nil},
		layerCase{"ReLU", `{"max_value": 0.5, "negative_slope": 0.1, "threshold": 0.2}`, [][]int{{2, 3, 4}}, []float32{0.2, 0.5}},
		layerCase{"LeakyReLU", `{"negative_slope": 0.2}`, [][]int{{2, 5}}, nil},
		layerCase{"LeakyReLU", `{"alpha": 0.1}`, [][]int{{2, 5}}, nil},
		layerCase{"ELU", `{"alpha": 0.5}`, [][]int{{2, 5}}, nil},
		layerCase{"ThresholdedReLU", `{"theta": 0.3}`, [][]int{{2, 5}}, []float32{0.3}},
		layerCase{"PReLU", `{"shared_axes": [1]}`, [][]int{{2, 3, 4}}, nil},
		layerCase{"PReLU", `{}`, [][]int{{2, 3, 2, 2}}, nil},
		layerCase{"Softmax", `{"axis": 1}`, [][]int{{2, 3, 4}}, nil},
		layerCase{"Softmax", `{"axis": [1, 2]}`, [][]int{{2, 3, 4}}, nil},
	)
	runContractCases(t, cases, 21)
}

func TestGluNeedsEvenAxis(t *testing.T) {
	l := newTestLayer(t, "Activation", `{"activation": "glu"}`)
	if _, err := l.Build([][]int{{-1, 3}}); err == nil {
		t.Fatal("glu on an odd last axis: want an error")
	}
	d := newTestLayer(t, "Dense", `{"units": 3, "activation": "glu"}`)
	if _, err := d.Build([][]int{{-1, 3}}); err == nil {
		t.Fatal("Dense glu with odd units: want an error")
	}
}

func TestKeras2ActivationNames(t *testing.T) {
	if got := Keras2Activation("hard_sigmoid"); got != "hard_sigmoid_keras2" {
		t.Errorf("hard_sigmoid -> %q", got)
	}
	if got := Keras2Activation("relu"); got != "relu" {
		t.Errorf("relu -> %q", got)
	}
	for _, k2 := range keras2Activations {
		if activations[k2] == nil {
			t.Errorf("%s is not in the activation table", k2)
		}
	}
}

func TestActivationLayerObjects(t *testing.T) {
	l := newTestLayer(t, "Dense", `{"units": 2, "activation": {"class_name": "LeakyReLU", "config": {"alpha": 0.1}}}`)
	d := l.(*Dense)
	y := make([]float32, 2)
	d.Activation.forward([]float32{-2, 3}, y, 2)
	if y[0] != -0.2 || y[1] != 3 {
		t.Errorf("LeakyReLU(alpha=0.1) as activation: got %v", y)
	}
	if _, err := buildTestLayer("Dense", `{"units": 2, "activation": {"class_name": "Softmax", "config": {"axis": 1}}}`); err == nil {
		t.Error("Softmax(axis=1) as an activation argument: want an error")
	}
}
