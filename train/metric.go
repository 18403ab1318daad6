package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Metric is a stateful Keras metric: Update accumulates batches until
// Reset, as in Keras.
type Metric interface {
	Name() string
	Update(yTrue, yPred, sampleWeight *runtime.Tensor) error
	// Result is the metric's value; for a metric with several thresholds
	// it is the first one (see VectorMetric).
	Result() float64
	Reset()
}

// VectorMetric is a metric whose Keras result is a vector (Precision or
// Recall with several thresholds).
type VectorMetric interface {
	Metric
	ResultVector() []float64
}

// valuesFn computes a metric function's per-sample values (no gradient).
type valuesFn func(yt, yp []float64, ts, ps []int) (vals []float64, shape []int, mask []bool, err error)

func fromLoss(fn lossFn) valuesFn {
	return func(yt, yp []float64, ts, ps []int) ([]float64, []int, []bool, error) {
		lv, err := fn(yt, yp, ts, ps)
		if err != nil {
			return nil, nil, nil, err
		}
		return lv.values, lv.shape, lv.mask, nil
	}
}

// Mean is Keras's Mean metric: a weighted running mean. The trainer uses
// one as the loss tracker (UpdateScalar with the batch size as weight).
type Mean struct {
	name         string
	total, count float64
}

// NewMean returns an empty Mean metric with the given name.
func NewMean(name string) *Mean { return &Mean{name: name} }

// Name returns the metric's name.
func (m *Mean) Name() string { return m.name }

// Result returns total / count, or 0 before any update (divide_no_nan).
func (m *Mean) Result() float64 {
	if m.count == 0 {
		return 0
	}
	return m.total / m.count
}

// Reset clears the state.
func (m *Mean) Reset() { m.total, m.count = 0, 0 }

// UpdateScalar adds one value with the given weight.
func (m *Mean) UpdateScalar(v, weight float64) {
	m.total += v * weight
	m.count += weight
}

// Update treats yTrue as the values to average (yPred is ignored), as
// Mean.update_state(values, sample_weight) does.
func (m *Mean) Update(values, _, sampleWeight *runtime.Tensor) error {
	if err := checkTensor("values", values); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	var sw []float64
	var swShape []int
	if sampleWeight != nil {
		if err := checkTensor("sample_weight", sampleWeight); err != nil {
			return fmt.Errorf("metric %s: %v", m.name, err)
		}
		sw, swShape = toFloat64(sampleWeight), sampleWeight.Shape
	}
	if err := m.updateValues(toFloat64(values), values.Shape, nil, sw, swShape); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	return nil
}

// meanTrailing averages a row-major tensor over its dimensions from keep
// on, leaving shape[:keep].
func meanTrailing(v []float64, shape []int, keep int) ([]float64, []int) {
	if keep >= len(shape) {
		return v, shape
	}
	block := runtime.ShapeSize(shape[keep:])
	out := make([]float64, runtime.ShapeSize(shape[:keep]))
	if block == 0 {
		return out, shape[:keep]
	}
	for i := range out {
		s := 0.0
		for _, x := range v[i*block : (i+1)*block] {
			s += x
		}
		out[i] = s / float64(block)
	}
	return out, shape[:keep]
}

// updateValues mirrors reduce_to_samplewise_values followed by
// Mean.update_state.
func (m *Mean) updateValues(vals []float64, vShape []int, mask []bool, sw []float64, swShape []int) error {
	var weights []float64
	if sw != nil {
		if mask != nil {
			ms, ss := squeezeOrExpand(vShape, swShape, true)
			out, err := broadcastShape(ms, ss)
			if err != nil {
				return fmt.Errorf("sample_weight: %v", err)
			}
			im, is := broadcastIndex(ms, out), broadcastIndex(ss, out)
			nw := make([]float64, len(im))
			for i := range nw {
				if mask[im[i]] {
					nw[i] = sw[is[i]]
				}
			}
			sw, swShape = nw, out
		}
		vs, ss := squeezeOrExpand(vShape, swShape, true)
		if len(vs) > len(ss) {
			vals, vs = meanTrailing(vals, vs, len(ss))
		}
		out, err := broadcastShape(vs, ss)
		if err != nil || !shapesEqual(out, vs) {
			return fmt.Errorf("sample_weight shape %v does not broadcast to values shape %v", swShape, vs)
		}
		idx := broadcastIndex(ss, vs)
		weights = make([]float64, len(vals))
		nv := make([]float64, len(vals))
		for i := range vals {
			weights[i] = sw[idx[i]]
			nv[i] = vals[i] * weights[i]
		}
		vals = nv
		if len(vs) > 1 {
			weights, _ = meanTrailing(weights, vs, 1)
		}
		vShape = vs
	}
	if len(vShape) > 1 {
		vals, vShape = meanTrailing(vals, vShape, 1)
	}
	for _, v := range vals {
		m.total += v
	}
	switch {
	case weights != nil:
		for _, w := range weights {
			m.count += w
		}
	case len(vShape) >= 1:
		m.count += float64(vShape[0])
	default:
		m.count++
	}
	return nil
}

// meanMetric is a MeanMetricWrapper: the running mean of a function's
// per-sample values.
type meanMetric struct {
	Mean
	fn valuesFn
	// sqrt makes the result a root mean (RootMeanSquaredError).
	sqrt bool
}

func (m *meanMetric) Result() float64 {
	r := m.Mean.Result()
	if m.sqrt {
		return math.Sqrt(r)
	}
	return r
}

func (m *meanMetric) Update(yTrue, yPred, sampleWeight *runtime.Tensor) error {
	if err := checkTensor("y_true", yTrue); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	if err := checkTensor("y_pred", yPred); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	vals, shape, mask, err := m.fn(toFloat64(yTrue), toFloat64(yPred), yTrue.Shape, yPred.Shape)
	if err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	var sw []float64
	var swShape []int
	if sampleWeight != nil {
		if err := checkTensor("sample_weight", sampleWeight); err != nil {
			return fmt.Errorf("metric %s: %v", m.name, err)
		}
		sw, swShape = toFloat64(sampleWeight), sampleWeight.Shape
	}
	if err := m.updateValues(vals, shape, mask, sw, swShape); err != nil {
		return fmt.Errorf("metric %s: %v", m.name, err)
	}
	return nil
}

// squeezed applies the LossFunctionWrapper shape rule before fn.
func squeezed(fn valuesFn) valuesFn {
	return func(yt, yp []float64, ts, ps []int) ([]float64, []int, []bool, error) {
		ts, ps = squeezeOrExpand(ts, ps, true)
		return fn(yt, yp, ts, ps)
	}
}

// NewMetric builds a metric from its serialized form (a string such as
// "accuracy", "mae", "AUC", or a class object). "accuracy"/"acc" (and
// Keras 2's "crossentropy"/"ce") resolve as Keras 3's compile_utils does
// from the shapes of y_true and y_pred; when the shapes are unknown (nil)
// they resolve as Keras 2 did, from the loss and y_pred's last dimension.
func NewMetric(o *kerasjson.Object, loss Loss, yTrueShape, yPredShape []int) (Metric, error) {
	if o == nil {
		return nil, fmt.Errorf("train: no metric given")
	}
	id := o.ClassName
	bare := isBareString(o)
	if lower := strings.ToLower(id); bare && lower == "accuracy" || lower == "acc" || lower == "crossentropy" || lower == "ce" {
		kind := resolveCategorical(loss, yTrueShape, yPredShape)
		acc := lower == "accuracy" || lower == "acc"
		var class string
		switch {
		case acc && kind == "binary":
			class = "BinaryAccuracy"
		case acc && kind == "sparse":
			class = "SparseCategoricalAccuracy"
		case acc:
			class = "CategoricalAccuracy"
		case kind == "binary":
			class = "BinaryCrossentropy"
		case kind == "sparse":
			class = "SparseCategoricalCrossentropy"
		default:
			class = "CategoricalCrossentropy"
		}
		cfg := kerasjson.Config{}
		for k, v := range o.Config {
			cfg[k] = v
		}
		cfg["name"] = id
		return metricClasses[class](cfg)
	}
	if id == "MeanMetricWrapper" {
		fn, _ := o.Config.String("fn", "")
		class, ok := metricAliases[fn]
		if !ok {
			class = fn
		}
		mk, ok := metricClasses[class]
		if !ok {
			return nil, fmt.Errorf("train: unsupported metric function %q", fn)
		}
		return mk(o.Config)
	}
	if mk, ok := metricClasses[id]; ok {
		if bare {
			// compile_utils names a metric given as a string by that string.
			return mk(kerasjson.Config{"name": id})
		}
		return mk(o.Config)
	}
	if class, ok := metricAliases[id]; ok {
		// A string identifier names the metric.
		cfg := kerasjson.Config{}
		for k, v := range o.Config {
			cfg[k] = v
		}
		cfg["name"] = id
		return metricClasses[class](cfg)
	}
	return nil, fmt.Errorf("train: unsupported metric %q", id)
}

// isBareString reports whether o came from a bare string identifier.
func isBareString(o *kerasjson.Object) bool {
	return o.Module == "" && o.RegisteredName == "" && len(o.Config) == 0
}

// resolveCategorical says whether "accuracy" means binary, sparse or
// categorical.
func resolveCategorical(loss Loss, yTrueShape, yPredShape []int) string {
	if yTrueShape != nil && yPredShape != nil {
		bin, sparse := isBinaryOrSparseCategorical(yTrueShape, yPredShape)
		switch {
		case bin:
			return "binary"
		case sparse:
			return "sparse"
		}
		return "categorical"
	}
	// Keras 2 (engine/training.py, compile_utils.get_metric_function): the
	// loss decides, then y_pred's last dimension.
	if loss != nil {
		switch n := loss.Name(); {
		case strings.Contains(n, "sparse_categorical"):
			return "sparse"
		case n == "binary_crossentropy" || n == "bce":
			return "binary"
		}
	}
	if len(yPredShape) > 0 && yPredShape[len(yPredShape)-1] == 1 {
		return "binary"
	}
	return "categorical"
}

// metricAliases maps string identifiers (snake_case class names, Keras 3
// aliases and Keras 2 function names) to metric classes.
var metricAliases = map[string]string{
	"mean": "Mean", "sum": "Sum",
	"binary_accuracy": "BinaryAccuracy", "categorical_accuracy": "CategoricalAccuracy",
	"sparse_categorical_accuracy": "SparseCategoricalAccuracy",
	"top_k_categorical_accuracy":  "TopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy": "SparseTopKCategoricalAccuracy",
	"auc": "AUC", "precision": "Precision", "recall": "Recall", "mean_io_u": "MeanIoU", "io_u": "IoU",
	"r2_score": "R2Score", "true_positives": "TruePositives", "false_positives": "FalsePositives",
	"true_negatives": "TrueNegatives", "false_negatives": "FalseNegatives",
	"mean_squared_error": "MeanSquaredError", "mse": "MeanSquaredError", "MSE": "MeanSquaredError",
	"mean_absolute_error": "MeanAbsoluteError", "mae": "MeanAbsoluteError", "MAE": "MeanAbsoluteError",
	"mean_absolute_percentage_error": "MeanAbsolutePercentageError", "mape": "MeanAbsolutePercentageError", "MAPE": "MeanAbsolutePercentageError",
	"mean_squared_logarithmic_error": "MeanSquaredLogarithmicError", "msle": "MeanSquaredLogarithmicError", "MSLE": "MeanSquaredLogarithmicError",
	"root_mean_squared_error": "RootMeanSquaredError",
	"cosine_similarity":       "CosineSimilarity", "cosine_proximity": "CosineSimilarity",
	"log_cosh_error": "LogCoshError", "logcosh": "LogCoshError", "log_cosh": "LogCoshError",
	"binary_crossentropy": "BinaryCrossentropy", "bce": "BinaryCrossentropy", "BCE": "BinaryCrossentropy",
	"categorical_crossentropy":        "CategoricalCrossentropy",
	"sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
	"kl_divergence":                   "KLDivergence", "kullback_leibler_divergence": "KLDivergence", "kld": "KLDivergence", "KLD": "KLDivergence",
	"poisson": "Poisson", "hinge": "Hinge", "squared_hinge": "SquaredHinge", "categorical_hinge": "CategoricalHinge",
}
