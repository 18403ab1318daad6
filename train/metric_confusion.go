package train

import (
	"fmt"
	"math"
	"sort"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// negInf is metrics_utils.NEG_INF, the score top_k filtering gives to
// predictions outside the top k.
const negInf = -1e10

// confusion holds per-threshold (and, for multi-label AUC, per-label)
// confusion counts, laid out [threshold][label].
type confusion struct {
	thresholds []float64
	even       bool // thresholds evenly spaced: Keras's bucket algorithm
	withEps    bool // first/last threshold outside [0, 1]
	topK       int  // 0: none
	classID    int  // -1: none
	multiLabel bool
	labels     int // columns of the counts (1 unless multi-label)
	labelW     []float64
	tp, fp     []float64
	tn, fn     []float64
}

func (c *confusion) reset() {
	n := len(c.thresholds) * c.labels
	c.tp, c.fp, c.tn, c.fn = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
}

// isEvenlyDistributed mirrors metrics_utils.is_evenly_distributed_thresholds.
func isEvenlyDistributed(th []float64) bool {
	n := len(th)
	if n < 3 {
		return false
	}
	for i, t := range th {
		even := float64(float32(i)) / float64(float32(n-1))
		if math.Abs(t-even) > epsilon+1e-5*math.Abs(even) {
			return false
		}
	}
	return true
}

// update mirrors metrics_utils.update_confusion_matrix_variables.
func (c *confusion) update(yTrue, yPred, sampleWeight *runtime.Tensor) error {
	if err := checkTensor("y_true", yTrue); err != nil {
		return err
	}
	if err := checkTensor("y_pred", yPred); err != nil {
		return err
	}
	yt, yp := toFloat64(yTrue), toFloat64(yPred)
	ps, ts := squeezeOrExpand(yPred.Shape, yTrue.Shape, true)
	if !shapesEqual(ps, ts) {
		return fmt.Errorf("y_true shape %v and y_pred shape %v differ", yTrue.Shape, yPred.Shape)
	}
	var sw []float64
	if sampleWeight != nil {
		if err := checkTensor("sample_weight", sampleWeight); err != nil {
			return err
		}
		// expand_dims(sample_weight, -1), then squeeze to y_true's rank.
		ss := append(append([]int(nil), sampleWeight.Shape...), 1)
		_, ss = squeezeOrExpand(ts, ss, false)
		out, err := broadcastShape(ss, ps)
		if err != nil || !shapesEqual(out, ps) {
			return fmt.Errorf("sample_weight shape %v does not broadcast to y_pred shape %v", sampleWeight.Shape, ps)
		}
		idx := broadcastIndex(ss, ps)
		w := toFloat64(sampleWeight)
		sw = make([]float64, len(yp))
		for i := range sw {
			sw[i] = w[idx[i]]
		}
	}
	if c.topK > 0 {
		if len(ps) == 0 || ps[len(ps)-1] == 0 {
			return fmt.Errorf("top_k needs y_pred of rank >= 1 with classes, got %v", ps)
		}
		filterTopK(yp, ps[len(ps)-1], c.topK)
	}
	cols := 1
	if len(ps) > 1 {
		cols = runtime.ShapeSize(ps[1:])
	}
	if c.classID >= 0 {
		if len(ps) < 2 {
			return fmt.Errorf("class_id needs y_pred of shape (samples, classes), got %v", ps)
		}
		k := ps[len(ps)-1]
		if c.classID >= k {
			return fmt.Errorf("class_id %d out of range for %d classes", c.classID, k)
		}
		n := len(yp) / k
		nt, np := make([]float64, n), make([]float64, n)
		var nw []float64
		if sw != nil {
			nw = make([]float64, n)
		}
		for r := 0; r < n; r++ {
			nt[r], np[r] = yt[r*k+c.classID], yp[r*k+c.classID]
			if sw != nil {
				nw[r] = sw[r*k+c.classID]
			}
		}
		yt, yp, sw, cols = nt, np, nw, 1
	}
	if c.multiLabel {
		if len(ps) != 2 || c.classID >= 0 {
			return fmt.Errorf("multi_label needs y_pred of rank 2, got %v", ps)
		}
		if c.labels != cols {
			return fmt.Errorf("multi_label metric built for %d labels, got %d", c.labels, cols)
		}
	}
	weight := func(i int) float64 {
		w := 1.0
		if sw != nil {
			w = sw[i]
		}
		if c.labelW != nil && !c.multiLabel {
			w *= c.labelW[i%cols%len(c.labelW)]
		}
		return w
	}
	label := func(i int) int {
		if c.multiLabel {
			return i % cols
		}
		return 0
	}
	nt := len(c.thresholds)
	if c.even {
		// Bucket algorithm (_update_confusion_matrix_variables_optimized),
		// in float32 as Keras computes it.
		tpB, fpB := make([]float64, nt*c.labels), make([]float64, nt*c.labels)
		totT, totF := make([]float64, c.labels), make([]float64, c.labels)
		for i, p := range yp {
			p32 := float32(clip(p, 0, 1))
			b := int(math.Ceil(float64(p32*float32(nt-1)))) - 1
			if c.withEps && b < 0 {
				b = 0
			}
			w := weight(i)
			l := label(i)
			isT := 0.0
			if yt[i] != 0 {
				isT = 1
			}
			totT[l] += isT * w
			totF[l] += (1 - isT) * w
			if b < 0 || b >= nt {
				continue
			}
			tpB[b*c.labels+l] += isT * w
			fpB[b*c.labels+l] += (1 - isT) * w
		}
		for l := 0; l < c.labels; l++ {
			st, sf := 0.0, 0.0
			for b := nt - 1; b >= 0; b-- {
				st += tpB[b*c.labels+l]
				sf += fpB[b*c.labels+l]
				j := b*c.labels + l
				c.tp[j] += st
				c.fp[j] += sf
				c.tn[j] += totF[l] - sf
				c.fn[j] += totT[l] - st
			}
		}
		return nil
	}
	for ti, th := range c.thresholds {
		th32 := float64(float32(th))
		for i, p := range yp {
			j := ti*c.labels + label(i)
			w := weight(i)
			pos := p > th32
			switch isT := yt[i] != 0; {
			case isT && pos:
				c.tp[j] += w
			case isT:
				c.fn[j] += w
			case pos:
				c.fp[j] += w
			default:
				c.tn[j] += w
			}
		}
	}
	return nil
}

// filterTopK keeps each row's k largest values (the first on ties, as
// tf.math.top_k) and sets the rest to negInf.
func filterTopK(x []float64, n, k int) {
	idx := make([]int, n)
	for r := 0; r < len(x)/n; r++ {
		row := x[r*n : (r+1)*n]
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
		keep := make([]bool, n)
		for _, i := range idx[:min(k, n)] {
			keep[i] = true
		}
		for i := range row {
			if !keep[i] {
				row[i] = negInf
			}
		}
	}
}

// precisionRecall is Keras's Precision or Recall.
type precisionRecall struct {
	name      string
	precision bool
	conf      confusion
}

func newPrecisionRecall(precision bool) metricMaker {
	return func(c kerasjson.Config) (Metric, error) {
		def := "recall"
		if precision {
			def = "precision"
		}
		name, err := c.String("name", def)
		if err != nil {
			return nil, err
		}
		m := &precisionRecall{name: name, precision: precision}
		m.conf.labels = 1
		if m.conf.topK, err = c.Int("top_k", 0); err != nil {
			return nil, fmt.Errorf("train: metric %s: %v", name, err)
		}
		if m.conf.classID, err = c.Int("class_id", -1); err != nil {
			return nil, fmt.Errorf("train: metric %s: %v", name, err)
		}
		def64 := 0.5
		if m.conf.topK > 0 {
			def64 = negInf
		}
		th, err := floatsArg(c, "thresholds", []float64{def64})
		if err != nil {
			return nil, fmt.Errorf("train: metric %s: %v", name, err)
		}
		for _, t := range th {
			if c.Has("thresholds") && (t < 0 || t > 1) {
				return nil, fmt.Errorf("train: metric %s: threshold %v not in [0, 1]", name, t)
			}
		}
		m.conf.thresholds = th
		m.conf.even = isEvenlyDistributed(th)
		m.conf.withEps = th[0] < 0 || th[len(th)-1] > 1
		m.conf.reset()
		return m, nil
	}
}

func (m *precisionRecall) Name() string { return m.name }
func (m *precisionRecall) Reset()       { m.conf.reset() }

func (m *precisionRecall) Update(yTrue, yPred, sampleWeight *runtime.Tensor) error {
	if err := m.conf.update(yTrue, yPred, sampleWeight); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	return nil
}

func (m *precisionRecall) ResultVector() []float64 {
	out := make([]float64, len(m.conf.thresholds))
	for i := range out {
		other := m.conf.fn[i]
		if m.precision {
			other = m.conf.fp[i]
		}
		out[i] = divideNoNaN(m.conf.tp[i], m.conf.tp[i]+other)
	}
	return out
}

func (m *precisionRecall) Result() float64 { return m.ResultVector()[0] }

func divideNoNaN(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// floatsArg reads a number or a list of numbers; def when absent or null.
func floatsArg(c kerasjson.Config, key string, def []float64) ([]float64, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	list, isList := v.([]any)
	if !isList {
		f, err := c.Float(key, 0)
		return []float64{f}, err
	}
	out := make([]float64, len(list))
	for i, e := range list {
		f, err := kerasjson.Config{"v": e}.Float("v", 0)
		if err != nil {
			return nil, fmt.Errorf("config %q[%d]: %v", key, i, err)
		}
		out[i] = f
	}
	return out, nil
}

// confusionCount is TruePositives, FalsePositives, TrueNegatives or
// FalseNegatives: one weighted count per threshold.
type confusionCount struct {
	name, kind string
	conf       confusion
}

func newConfusionCount(kind string) metricMaker {
	return func(c kerasjson.Config) (Metric, error) {
		name, err := c.String("name", kind)
		if err != nil {
			return nil, err
		}
		th, err := floatsArg(c, "thresholds", []float64{0.5})
		if err != nil {
			return nil, fmt.Errorf("train: metric %s: %v", name, err)
		}
		for _, t := range th {
			if t < 0 || t > 1 {
				return nil, fmt.Errorf("train: metric %s: threshold %v not in [0, 1]", name, t)
			}
		}
		m := &confusionCount{name: name, kind: kind}
		m.conf = confusion{thresholds: th, even: isEvenlyDistributed(th), classID: -1, labels: 1}
		m.conf.withEps = th[0] < 0 || th[len(th)-1] > 1
		m.conf.reset()
		return m, nil
	}
}

func (m *confusionCount) Name() string { return m.name }
func (m *confusionCount) Reset()       { m.conf.reset() }

func (m *confusionCount) Update(yTrue, yPred, sampleWeight *runtime.Tensor) error {
	if err := m.conf.update(yTrue, yPred, sampleWeight); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	return nil
}

func (m *confusionCount) ResultVector() []float64 {
	switch m.kind {
	case "true_positives":
		return append([]float64(nil), m.conf.tp...)
	case "false_positives":
		return append([]float64(nil), m.conf.fp...)
	case "true_negatives":
		return append([]float64(nil), m.conf.tn...)
	}
	return append([]float64(nil), m.conf.fn...)
}

func (m *confusionCount) Result() float64 { return m.ResultVector()[0] }
