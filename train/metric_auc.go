package train

import (
	"fmt"
	"math"
	"sort"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// auc is Keras's AUC metric (ROC or PR curve, Riemann sums with
// interpolation, minoring or majoring, PR interpolation as Davis &
// Goadrich).
type auc struct {
	name       string
	curve      string // "ROC" or "PR"
	summation  string // "interpolation", "minoring", "majoring"
	fromLogits bool
	conf       confusion
	built      bool
}

func newAUC(c kerasjson.Config) (Metric, error) {
	name, err := c.String("name", "auc")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (Metric, error) { return nil, fmt.Errorf("train: metric %s: %v", name, err) }
	m := &auc{name: name}
	curve, err := c.String("curve", "ROC")
	if err != nil {
		return fail(err)
	}
	switch curve {
	case "ROC", "roc":
		m.curve = "ROC"
	case "PR", "pr":
		m.curve = "PR"
	default:
		return fail(fmt.Errorf("unsupported curve %q", curve))
	}
	sum, err := c.String("summation_method", "interpolation")
	if err != nil {
		return fail(err)
	}
	switch sum {
	case "interpolation", "Interpolation":
		m.summation = "interpolation"
	case "minoring", "Minoring":
		m.summation = "minoring"
	case "majoring", "Majoring":
		m.summation = "majoring"
	default:
		return fail(fmt.Errorf("unknown summation_method %q", sum))
	}
	if m.fromLogits, err = c.Bool("from_logits", false); err != nil {
		return fail(err)
	}
	if m.conf.multiLabel, err = c.Bool("multi_label", false); err != nil {
		return fail(err)
	}
	if m.conf.labelW, err = floatsArg(c, "label_weights", nil); err != nil {
		return fail(err)
	}
	m.conf.classID = -1
	var th []float64
	if c.Has("thresholds") {
		given, err := floatsArg(c, "thresholds", nil)
		if err != nil {
			return fail(err)
		}
		given = append([]float64(nil), given...)
		sort.Float64s(given)
		th = append(append([]float64{0}, given...), 1)
		m.conf.even = isEvenlyDistributed(th)
	} else {
		n, err := c.Int("num_thresholds", 200)
		if err != nil {
			return fail(err)
		}
		if n <= 1 || n > 1<<20 {
			return fail(fmt.Errorf("num_thresholds %d must be in [2, 2^20]", n))
		}
		th = make([]float64, n)
		for i := 1; i < n-1; i++ {
			th[i] = float64(i) * 1.0 / float64(n-1)
		}
		th[n-1] = 1
		m.conf.even = true
	}
	th[0] = 0 - epsilon
	th[len(th)-1] = 1 + epsilon
	m.conf.thresholds = th
	m.conf.withEps = true
	m.conf.labels = 1
	if m.conf.multiLabel {
		if n, _ := c.Int("num_labels", 0); n > 0 {
			m.conf.labels = n
			m.built = true
			m.conf.reset()
		}
	} else {
		m.built = true
		m.conf.reset()
	}
	return m, nil
}

func (m *auc) Name() string { return m.name }

func (m *auc) Reset() {
	if m.built {
		m.conf.reset()
	}
}

func (m *auc) Update(yTrue, yPred, sampleWeight *runtime.Tensor) error {
	if !m.built {
		if yPred == nil || len(yPred.Shape) != 2 {
			return fmt.Errorf("metric %s: multi_label needs y_pred of rank 2", m.name)
		}
		m.conf.labels = yPred.Shape[1]
		m.conf.reset()
		m.built = true
	}
	if m.fromLogits && yPred != nil {
		p := yPred.Clone()
		for i, v := range p.Data {
			p.Data[i] = float32(sigmoid(float64(v)))
		}
		yPred = p
	}
	if err := m.conf.update(yTrue, yPred, sampleWeight); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	return nil
}

func (m *auc) Result() float64 {
	if !m.built {
		return 0
	}
	c := &m.conf
	nt, nl := len(c.thresholds), c.labels
	at := func(v []float64, t, l int) float64 { return v[t*nl+l] }
	byLabel := make([]float64, nl)
	for l := 0; l < nl; l++ {
		s := 0.0
		for t := 0; t < nt-1; t++ {
			if m.curve == "PR" && m.summation == "interpolation" {
				tp0, tp1 := at(c.tp, t, l), at(c.tp, t+1, l)
				p0 := tp0 + at(c.fp, t, l)
				p1 := tp1 + at(c.fp, t+1, l)
				dtp := tp0 - tp1
				dp := p0 - p1
				slope := divideNoNaN(dtp, math.Max(dp, 0))
				intercept := tp1 - slope*p1
				ratio := 1.0
				if p0 > 0 && p1 > 0 {
					ratio = divideNoNaN(p0, math.Max(p1, 0))
				}
				s += divideNoNaN(slope*(dtp+intercept*math.Log(ratio)), math.Max(tp1+at(c.fn, t+1, l), 0))
				continue
			}
			x0, y0 := m.point(t, l)
			x1, y1 := m.point(t+1, l)
			var h float64
			switch m.summation {
			case "interpolation":
				h = (y0 + y1) / 2
			case "minoring":
				h = math.Min(y0, y1)
			default:
				h = math.Max(y0, y1)
			}
			s += (x0 - x1) * h
		}
		byLabel[l] = s
	}
	if !c.multiLabel {
		return byLabel[0]
	}
	if c.labelW == nil {
		s := 0.0
		for _, v := range byLabel {
			s += v
		}
		return s / float64(nl)
	}
	num, den := 0.0, 0.0
	for l, v := range byLabel {
		w := c.labelW[l%len(c.labelW)]
		num += v * w
		den += w
	}
	return divideNoNaN(num, den)
}

// point returns the curve's (x, y) at threshold t for label l.
func (m *auc) point(t, l int) (x, y float64) {
	c := &m.conf
	j := t*c.labels + l
	recall := divideNoNaN(c.tp[j], c.tp[j]+c.fn[j])
	if m.curve == "ROC" {
		return divideNoNaN(c.fp[j], c.fp[j]+c.tn[j]), recall
	}
	return recall, divideNoNaN(c.tp[j], c.tp[j]+c.fp[j])
}
