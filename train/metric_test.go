package train

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
)

type metricCase struct {
	Name    string          `json:"name"`
	Config  json.RawMessage `json:"config"`
	Batches []struct {
		YTrue        goldenArray  `json:"y_true"`
		YPred        goldenArray  `json:"y_pred"`
		SampleWeight *goldenArray `json:"sample_weight"`
	} `json:"batches"`
	ScalarUpdates [][2]float64      `json:"scalar_updates"`
	Results       []json.RawMessage `json:"results"`
}

func TestMetricGolden(t *testing.T) {
	var g struct{ Cases []metricCase }
	loadGolden(t, "metrics.json", &g)
	for i, c := range g.Cases {
		t.Run(fmt.Sprint(i, "_", c.Name), func(t *testing.T) {
			o := decodeConfig(t, c.Config)
			var yts, yps []int
			if len(c.Batches) > 0 {
				yts, yps = c.Batches[0].YTrue.Shape, c.Batches[0].YPred.Shape
			}
			var m Metric
			var err error
			if c.ScalarUpdates != nil {
				m = NewMean(c.Name)
			} else {
				m, err = NewMetric(o, nil, yts, yps)
			}
			if err != nil {
				t.Fatalf("%s: %v", caseLabel(i, c.Config), err)
			}
			if m.Name() != c.Name {
				t.Errorf("name %q, want %q", m.Name(), c.Name)
			}
			for b := range c.Results {
				if c.ScalarUpdates != nil {
					m.(*Mean).UpdateScalar(c.ScalarUpdates[b][0], c.ScalarUpdates[b][1])
				} else {
					bt := c.Batches[b]
					if err := m.Update(bt.YTrue.tensor(), bt.YPred.tensor(), bt.SampleWeight.tensor()); err != nil {
						t.Fatalf("%s: %v", caseLabel(i, c.Config), err)
					}
				}
				var want []float64
				var one float64
				if json.Unmarshal(c.Results[b], &one) == nil {
					want = []float64{one}
				} else if err := json.Unmarshal(c.Results[b], &want); err != nil {
					t.Fatal(err)
				}
				got := []float64{m.Result()}
				if vm, ok := m.(VectorMetric); ok && len(want) > 1 {
					got = vm.ResultVector()
				}
				for k := range want {
					if k >= len(got) || !close(got[k], want[k]) {
						t.Errorf("%s: after batch %d result %v, want %v", caseLabel(i, c.Config), b+1, got, want)
						break
					}
				}
			}
			m.Reset()
			if r := m.Result(); r != 0 {
				t.Errorf("result after Reset = %v, want 0", r)
			}
		})
	}
}

func TestMetricResolution(t *testing.T) {
	for _, c := range []struct {
		id, loss string
		pred     []int
		want     string
	}{
		{"acc", "binary_crossentropy", []int{-1, 3}, "binary"},
		{"accuracy", "sparse_categorical_crossentropy", []int{-1, 10}, "sparse"},
		{"accuracy", "categorical_crossentropy", []int{-1, 10}, "categorical"},
		{"acc", "mse", []int{-1, 1}, "binary"},
	} {
		l, err := NewLoss(&kerasjson.Object{ClassName: c.loss})
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewMetric(&kerasjson.Object{ClassName: c.id}, l, nil, c.pred)
		if err != nil {
			t.Fatal(err)
		}
		mm, ok := m.(*meanMetric)
		if !ok || m.Name() != c.id {
			t.Fatalf("%s: got %T %q", c.id, m, m.Name())
		}
		_ = mm
		if got := resolveCategorical(l, nil, c.pred); got != c.want {
			t.Errorf("%s with %s: %s, want %s", c.id, c.loss, got, c.want)
		}
	}
	// Keras 2 MeanMetricWrapper config as tf.keras 2.10 writes it.
	m, err := NewMetric(&kerasjson.Object{ClassName: "MeanMetricWrapper", Config: kerasjson.Config{"name": "acc", "dtype": "float32", "fn": "categorical_accuracy"}}, nil, nil, nil)
	if err != nil || m.Name() != "acc" {
		t.Fatalf("MeanMetricWrapper: %v %v", m, err)
	}
	if _, err := NewMetric(&kerasjson.Object{ClassName: "F1Score"}, nil, nil, nil); err == nil {
		t.Error("unsupported metric: want an error")
	}
}
