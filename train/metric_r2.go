package train

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// r2Score is Keras's R2Score over (samples, outputs) data.
type r2Score struct {
	name                           string
	aggregation                    string // "uniform_average", "variance_weighted_average" or "" (per output)
	numRegressors                  int
	sum, squaredSum, residual, cnt []float64
	numSamples                     float64
}

func newR2Score(c kerasjson.Config) (Metric, error) {
	name, err := c.String("name", "r2_score")
	if err != nil {
		return nil, err
	}
	m := &r2Score{name: name, aggregation: "uniform_average"}
	if v, ok := c["class_aggregation"]; ok {
		if v == nil {
			m.aggregation = ""
		} else if m.aggregation, err = c.String("class_aggregation", ""); err != nil {
			return nil, err
		}
	}
	switch m.aggregation {
	case "", "uniform_average", "variance_weighted_average":
	default:
		return nil, fmt.Errorf("train: metric %s: unknown class_aggregation %q", name, m.aggregation)
	}
	if m.numRegressors, err = c.Int("num_regressors", 0); err != nil || m.numRegressors < 0 {
		return nil, fmt.Errorf("train: metric %s: num_regressors must be an integer >= 0 (%v)", name, err)
	}
	return m, nil
}

func (m *r2Score) Name() string { return m.name }

func (m *r2Score) Reset() {
	m.sum, m.squaredSum, m.residual, m.cnt, m.numSamples = nil, nil, nil, nil, 0
}

func (m *r2Score) Update(yTrue, yPred, sampleWeight *runtime.Tensor) error {
	if err := checkTensor("y_true", yTrue); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	if err := checkTensor("y_pred", yPred); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	ts, ps := squeezeOrExpand(yTrue.Shape, yPred.Shape, true)
	if len(ts) != 2 || !shapesEqual(ts, ps) {
		return fmt.Errorf("metric %s: R2Score needs 2-D y_true and y_pred of one shape, got %v and %v", m.name, yTrue.Shape, yPred.Shape)
	}
	n, k := ts[0], ts[1]
	if m.sum == nil {
		m.sum, m.squaredSum, m.residual, m.cnt = make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k)
	} else if len(m.sum) != k {
		return fmt.Errorf("metric %s: %d outputs, earlier batches had %d", m.name, k, len(m.sum))
	}
	w := func(r, j int) float64 { return 1 }
	if sampleWeight != nil {
		if err := checkTensor("sample_weight", sampleWeight); err != nil {
			return fmt.Errorf("metric %s: %v", m.name, err)
		}
		ss := sampleWeight.Shape
		if len(ss) == 1 {
			ss = []int{ss[0], 1}
		}
		out, err := broadcastShape(ss, ts)
		if err != nil || !shapesEqual(out, ts) {
			return fmt.Errorf("metric %s: sample_weight shape %v does not broadcast to %v", m.name, sampleWeight.Shape, ts)
		}
		idx := broadcastIndex(ss, ts)
		sw := sampleWeight.Data
		w = func(r, j int) float64 { return float64(sw[idx[r*k+j]]) }
	}
	for r := 0; r < n; r++ {
		for j := 0; j < k; j++ {
			t, p, wt := float64(yTrue.Data[r*k+j]), float64(yPred.Data[r*k+j]), w(r, j)
			m.sum[j] += t * wt
			m.squaredSum[j] += t * t * wt
			m.residual[j] += (t - p) * (t - p) * wt
			m.cnt[j] += wt
		}
	}
	m.numSamples += float64(n * k)
	return nil
}

func (m *r2Score) ResultVector() []float64 {
	if m.sum == nil {
		return []float64{0}
	}
	k := len(m.sum)
	raw, total := make([]float64, k), make([]float64, k)
	for j := range raw {
		mean := m.sum[j] / m.cnt[j]
		total[j] = m.squaredSum[j] - m.sum[j]*mean
		raw[j] = 1 - m.residual[j]/total[j]
		if math.IsInf(raw[j], 0) {
			raw[j] = 0
		}
	}
	var r2 float64
	switch m.aggregation {
	case "":
		return raw
	case "uniform_average":
		for _, v := range raw {
			r2 += v
		}
		r2 /= float64(k)
	default:
		num, den := 0.0, 0.0
		for j := range raw {
			num += total[j] * raw[j]
			den += total[j]
		}
		r2 = num / den
	}
	if p := float64(m.numRegressors); p != 0 && p < m.numSamples-1 {
		r2 = 1 - (1-r2)*(m.numSamples-1)/(m.numSamples-p-1)
	}
	return []float64{r2}
}

func (m *r2Score) Result() float64 { return m.ResultVector()[0] }
