package train

import (
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// TestBadInputs feeds malformed tensors to every loss and metric: each
// must return an error (never panic) and no value with it.
func TestBadInputs(t *testing.T) {
	tensor := func(shape []int, data ...float32) *runtime.Tensor {
		return &runtime.Tensor{Shape: shape, Data: data}
	}
	bad := []struct {
		name     string
		yt, yp   *runtime.Tensor
		sw       *runtime.Tensor
		lossOnly bool
	}{
		{"nil y_true", nil, tensor([]int{1, 2}, 0.5, 0.5), nil, false},
		{"data shorter than shape", tensor([]int{2, 2}, 1, 0), tensor([]int{2, 2}, 0.5, 0.5, 0.5, 0.5), nil, false},
		{"incompatible shapes", tensor([]int{2, 3}, 0, 1, 0, 1, 0, 0), tensor([]int{3, 2}, 0.1, 0.9, 0.2, 0.8, 0.3, 0.7), nil, false},
		{"bad sample weight", tensor([]int{2, 2}, 0, 1, 1, 0), tensor([]int{2, 2}, 0.1, 0.9, 0.2, 0.8), tensor([]int{3}, 1, 1, 1), true},
	}
	for class := range lossClasses {
		l, err := NewLoss(&kerasjson.Object{ClassName: class, Config: kerasjson.Config{}})
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		for _, b := range bad {
			if b.name == "incompatible shapes" && (class == "SparseCategoricalCrossentropy") {
				continue // labels (2,3) against (3,2) also fail, checked below
			}
			if b.name == "bad sample weight" && (class == "Dice" || class == "Tversky") {
				continue // a scalar loss broadcasts against any weights, as in Keras
			}
			loss, grad, err := l.Compute(b.yt, b.yp, b.sw)
			if err == nil || grad != nil || loss != 0 {
				t.Errorf("%s with %s: loss %v grad %v err %v, want only an error", class, b.name, loss, grad, err)
			}
		}
	}
	scce, _ := NewLoss(&kerasjson.Object{ClassName: "sparse_categorical_crossentropy"})
	if _, _, err := scce.Compute(tensor([]int{2}, 0, 7), tensor([]int{2, 2}, 0.5, 0.5, 0.5, 0.5), nil); err == nil {
		t.Error("label 7 of 2 classes: want an error")
	}
	for class := range metricClasses {
		cfg := kerasjson.Config{"num_classes": 2}
		m, err := NewMetric(&kerasjson.Object{ClassName: class, Module: "keras.metrics", Config: cfg}, nil, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		for _, b := range bad {
			if b.lossOnly || class == "Mean" {
				continue
			}
			if b.name == "incompatible shapes" && (class == "MeanIoU" || class == "IoU") {
				continue // MeanIoU flattens both; equal sizes are valid
			}
			if err := m.Update(b.yt, b.yp, b.sw); err == nil {
				t.Errorf("%s with %s: no error", class, b.name)
			}
		}
	}
}
