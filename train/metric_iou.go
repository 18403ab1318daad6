package train

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// meanIoU is Keras's MeanIoU (and IoU, restricted to target_class_ids):
// an integer confusion matrix (the metric's
// default dtype is "int", so predictions and sample weights are truncated
// to integers as Keras casts them).
type meanIoU struct {
	name                 string
	numClasses           int
	ignore               *int
	sparseTrue, sparsePr bool
	axis                 int
	targets              []int // target_class_ids
	cm                   []float64
}

func newMeanIoU(c kerasjson.Config) (Metric, error) {
	name, err := c.String("name", "mean_io_u")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (Metric, error) { return nil, fmt.Errorf("train: metric %s: %v", name, err) }
	m := &meanIoU{name: name}
	if m.numClasses, err = c.Int("num_classes", 0); err != nil {
		return fail(err)
	}
	if m.numClasses <= 0 || m.numClasses > 1<<12 {
		return fail(fmt.Errorf("num_classes %d must be in [1, 4096]", m.numClasses))
	}
	if c.Has("ignore_class") {
		v, err := c.Int("ignore_class", 0)
		if err != nil {
			return fail(err)
		}
		m.ignore = &v
	}
	if m.sparseTrue, err = c.Bool("sparse_y_true", true); err != nil {
		return fail(err)
	}
	if m.sparsePr, err = c.Bool("sparse_y_pred", true); err != nil {
		return fail(err)
	}
	if m.axis, err = c.Int("axis", -1); err != nil {
		return fail(err)
	}
	if m.axis != -1 {
		return fail(fmt.Errorf("axis %d: only -1 is supported", m.axis))
	}
	if c.Has("target_class_ids") {
		if m.targets, err = c.Ints("target_class_ids", 0, nil); err != nil {
			return fail(err)
		}
		if !c.Has("name") {
			m.name = "io_u"
		}
	} else {
		for k := 0; k < m.numClasses; k++ {
			m.targets = append(m.targets, k)
		}
	}
	for _, k := range m.targets {
		if k < 0 || k >= m.numClasses {
			return fail(fmt.Errorf("target class id %d out of range [0, %d)", k, m.numClasses))
		}
	}
	m.Reset()
	return m, nil
}

func (m *meanIoU) Name() string { return m.name }
func (m *meanIoU) Reset()       { m.cm = make([]float64, m.numClasses*m.numClasses) }

func (m *meanIoU) Update(yTrue, yPred, sampleWeight *runtime.Tensor) error {
	if err := checkTensor("y_true", yTrue); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	if err := checkTensor("y_pred", yPred); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	yt, yp := toFloat64(yTrue), toFloat64(yPred)
	var err error
	if !m.sparseTrue {
		if yt, err = argmaxRows(yt, yTrue.Shape); err != nil {
			return fmt.Errorf("metric %s: %v", m.name, err)
		}
	}
	if !m.sparsePr {
		if yp, err = argmaxRows(yp, yPred.Shape); err != nil {
			return fmt.Errorf("metric %s: %v", m.name, err)
		}
	}
	if len(yt) != len(yp) {
		return fmt.Errorf("metric %s: %d labels but %d predictions", m.name, len(yt), len(yp))
	}
	var sw []float64
	if sampleWeight != nil {
		sw = toFloat64(sampleWeight)
		if len(sw) != 1 && len(sw) != len(yt) {
			return fmt.Errorf("metric %s: %d sample weights for %d samples", m.name, len(sw), len(yt))
		}
	}
	n := m.numClasses
	for i := range yt {
		t, p := int(yt[i]), int(yp[i]) // truncation, as the cast to int
		if t < 0 || t >= n || p < 0 || p >= n || (m.ignore != nil && t == *m.ignore) {
			continue
		}
		w := 1
		if sw != nil {
			w = int(sw[i%len(sw)])
		}
		m.cm[t*n+p] += float64(w)
	}
	return nil
}

func (m *meanIoU) Result() float64 {
	n := m.numClasses
	sum, valid := 0.0, 0.0
	for _, k := range m.targets {
		row, col := 0.0, 0.0
		for j := 0; j < n; j++ {
			row += m.cm[j*n+k] // predicted k
			col += m.cm[k*n+j] // true k
		}
		tp := m.cm[k*n+k]
		den := row + col - tp
		if den > 1e-9 {
			valid++
			sum += tp / (den + epsilon)
		}
	}
	return sum / (valid + epsilon)
}
