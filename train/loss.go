// Package train holds the numeric pieces of Keras training: losses with
// their gradients, stateful metrics, optimizers with Keras 3's update rules
// and variable layouts, and learning-rate schedules, all built from the
// serialized configurations Keras writes (compile_config of .keras files,
// training_config of legacy .h5 files, Keras 1 to 3).
//
// Formulas follow keras/src/losses, metrics, optimizers (Keras 3.15, the
// TensorFlow backend) including where Keras clips by epsilon; the golden
// tests in testdata were written by real Keras (compat/python/export_train.py).
package train

import (
	"fmt"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Loss is a Keras loss configured from its serialized form.
type Loss interface {
	// Name is the loss's Keras name (the string identifier, or the
	// config's "name").
	Name() string
	// Compute returns the reduced loss of a batch and its gradient with
	// respect to yPred (same shape as yPred). sampleWeight may be nil. With
	// reduction "none" the loss is the sum of the per-sample values, which
	// is what a gradient tape differentiates for a non-scalar loss.
	Compute(yTrue, yPred, sampleWeight *runtime.Tensor) (loss float64, gradPred *runtime.Tensor, err error)
	// Values returns the unreduced per-sample loss values, as the Keras
	// loss function (not the Loss object) returns them.
	Values(yTrue, yPred *runtime.Tensor) (*runtime.Tensor, error)
}

// Reductions Keras accepts (keras.src.losses.loss.standardize_reduction).
const (
	ReductionSumOverBatchSize     = "sum_over_batch_size"
	ReductionSum                  = "sum"
	ReductionMean                 = "mean"
	ReductionMeanWithSampleWeight = "mean_with_sample_weight"
	ReductionNone                 = "none"
)

// lossValues is the unreduced output of a loss function together with its
// backward pass.
type lossValues struct {
	values []float64
	shape  []int
	// mask marks valid values (SparseCategoricalCrossentropy's
	// ignore_class); nil when every value counts.
	mask []bool
	// back maps d(total)/d(values) to d(total)/d(y_pred), in y_pred's
	// layout.
	back func(dv []float64) []float64
}

// lossFn computes a Keras loss function on y_true and y_pred whose shapes
// were already brought to the same rank where Keras does so.
type lossFn func(yt, yp []float64, tShape, pShape []int) (*lossValues, error)

// keras3Loss is a Keras LossFunctionWrapper: a loss function, its
// reduction and name.
type keras3Loss struct {
	name      string
	reduction string
	fn        lossFn
	// logits is the same loss computed from logits, for a caller that can
	// hand over the pre-activation output (see FromLogits); nil if none.
	logits *keras3Loss
}

func (l *keras3Loss) Name() string { return l.name }

// FromLogits returns the loss Keras actually computes when y_pred is the
// direct output of a sigmoid (BinaryCrossentropy) or softmax
// (CategoricalCrossentropy, SparseCategoricalCrossentropy) activation:
// Keras's TensorFlow backend finds the logits cached on the activation's
// output (_keras_logits, set in graph mode, i.e. in fit) and uses them,
// skipping the epsilon clipping. The value and gradient then differ from
// Compute on the probabilities only where a probability is within 1e-7 of
// 0 or 1. It returns nil when the loss has no such form or already takes
// logits; the gradient it returns is with respect to the logits.
func (l *keras3Loss) FromLogits() Loss {
	if l.logits == nil {
		return nil
	}
	return l.logits
}

// LogitsLoss is implemented by losses that have a from-logits form.
type LogitsLoss interface {
	FromLogits() Loss
}

func (l *keras3Loss) Values(yTrue, yPred *runtime.Tensor) (*runtime.Tensor, error) {
	lv, err := l.eval(yTrue, yPred)
	if err != nil {
		return nil, err
	}
	out := runtime.NewTensor(lv.shape...)
	for i, v := range lv.values {
		out.Data[i] = float32(v)
	}
	return out, nil
}

func (l *keras3Loss) eval(yTrue, yPred *runtime.Tensor) (*lossValues, error) {
	if err := checkTensor("y_true", yTrue); err != nil {
		return nil, fmt.Errorf("loss %s: %v", l.name, err)
	}
	if err := checkTensor("y_pred", yPred); err != nil {
		return nil, fmt.Errorf("loss %s: %v", l.name, err)
	}
	ts, ps := squeezeOrExpand(yTrue.Shape, yPred.Shape, true)
	lv, err := l.fn(toFloat64(yTrue), toFloat64(yPred), ts, ps)
	if err != nil {
		return nil, fmt.Errorf("loss %s: %v", l.name, err)
	}
	return lv, nil
}

func (l *keras3Loss) Compute(yTrue, yPred, sampleWeight *runtime.Tensor) (float64, *runtime.Tensor, error) {
	lv, err := l.eval(yTrue, yPred)
	if err != nil {
		return 0, nil, err
	}
	var sw []float64
	var swShape []int
	if sampleWeight != nil {
		if err := checkTensor("sample_weight", sampleWeight); err != nil {
			return 0, nil, fmt.Errorf("loss %s: %v", l.name, err)
		}
		sw, swShape = toFloat64(sampleWeight), sampleWeight.Shape
	}
	loss, dv, err := reduceWeighted(lv, sw, swShape, l.reduction)
	if err != nil {
		return 0, nil, fmt.Errorf("loss %s: %v", l.name, err)
	}
	g := lv.back(dv)
	grad := runtime.NewTensor(yPred.Shape...)
	for i, v := range g {
		grad.Data[i] = float32(v)
	}
	return loss, grad, nil
}

// reduceWeighted mirrors keras.src.losses.loss.reduce_weighted_values: it
// folds the mask into the sample weights, weights the values and reduces.
// It returns the loss and its gradient with respect to each value.
func reduceWeighted(lv *lossValues, sw []float64, swShape []int, reduction string) (float64, []float64, error) {
	vals, vShape := lv.values, lv.shape
	if lv.mask != nil {
		fm := make([]float64, len(lv.mask))
		valid := 0
		for _, m := range lv.mask {
			if m {
				valid++
			}
		}
		w := 1.0
		if reduction == ReductionMean || reduction == ReductionSumOverBatchSize {
			w = 0
			if valid > 0 {
				w = float64(len(lv.mask)) / float64(valid)
			}
		}
		for i, m := range lv.mask {
			if m {
				fm[i] = w
			}
		}
		if sw == nil {
			sw, swShape = fm, vShape
		} else {
			ms, ss := squeezeOrExpand(vShape, swShape, true)
			out, err := broadcastShape(ms, ss)
			if err != nil {
				return 0, nil, fmt.Errorf("sample_weight: %v", err)
			}
			im, is := broadcastIndex(ms, out), broadcastIndex(ss, out)
			nw := make([]float64, len(im))
			for i := range nw {
				nw[i] = fm[im[i]] * sw[is[i]]
			}
			sw, swShape = nw, out
		}
	}
	// weights[i] multiplies values[vi[i]] in the weighted tensor.
	var weights []float64
	var vi []int
	wShape := vShape
	swSum := 0.0
	if sw != nil {
		vs, ss := squeezeOrExpand(vShape, swShape, true)
		out, err := broadcastShape(vs, ss)
		if err != nil {
			return 0, nil, fmt.Errorf("sample_weight: %v", err)
		}
		vi = broadcastIndex(vs, out)
		si := broadcastIndex(ss, out)
		weights = make([]float64, len(vi))
		for i := range weights {
			weights[i] = sw[si[i]]
		}
		for _, w := range sw {
			swSum += w
		}
		wShape = out
	} else {
		vi = make([]int, len(vals))
		weights = make([]float64, len(vals))
		for i := range vi {
			vi[i] = i
			weights[i] = 1
		}
	}
	dv := make([]float64, len(vals))
	if reduction == ReductionNone || len(wShape) == 0 || (len(wShape) == 1 && wShape[0] == 0) {
		// Unreduced: the caller differentiates the sum.
		total := 0.0
		for i, k := range vi {
			total += vals[k] * weights[i]
			dv[k] += weights[i]
		}
		return total, dv, nil
	}
	total := 0.0
	for i, k := range vi {
		total += vals[k] * weights[i]
	}
	div := 1.0
	switch reduction {
	case ReductionSum:
	case ReductionSumOverBatchSize, ReductionMean, ReductionMeanWithSampleWeight:
		if reduction == ReductionMeanWithSampleWeight && sw != nil {
			div = swSum
		} else {
			div = float64(runtime.ShapeSize(wShape))
		}
	default:
		return 0, nil, fmt.Errorf("unknown reduction %q", reduction)
	}
	if div == 0 { // divide_no_nan
		return 0, dv, nil
	}
	for i, k := range vi {
		dv[k] += weights[i] / div
	}
	return total / div, dv, nil
}

// standardizeReduction maps Keras 2's "auto" and null to Keras 3's default.
func standardizeReduction(r string) (string, error) {
	switch r {
	case "", "auto", ReductionSumOverBatchSize:
		return ReductionSumOverBatchSize, nil
	case ReductionSum, ReductionMean, ReductionMeanWithSampleWeight, ReductionNone:
		return r, nil
	}
	return "", fmt.Errorf("unknown reduction %q", r)
}

// NewLoss builds a loss from its serialized form: a string identifier
// ("categorical_crossentropy", "mse", Keras 2 names such as
// "kullback_leibler_divergence") or a class object such as
// {"class_name": "SparseCategoricalCrossentropy", "config": {...}}.
// "crossentropy"/"ce" need the output shapes; use ResolveLoss for them.
func NewLoss(o *kerasjson.Object) (Loss, error) {
	return ResolveLoss(o, nil, nil)
}

// ResolveLoss is NewLoss with the shapes of y_true and y_pred, which Keras
// 3's compile uses to resolve "crossentropy" and "ce" to binary, sparse
// categorical or categorical crossentropy. yTrueShape may be nil when
// unknown; then only a y_pred ending in 1 (binary) resolves.
func ResolveLoss(o *kerasjson.Object, yTrueShape, yPredShape []int) (Loss, error) {
	if o == nil {
		return nil, fmt.Errorf("train: no loss given")
	}
	name := o.ClassName
	if o.ClassName == "LossFunctionWrapper" || o.ClassName == "MeanMetricWrapper" {
		fn, err := o.Config.String("fn", "")
		if err != nil || fn == "" {
			return nil, fmt.Errorf("train: loss %s without a function name (\"fn\")", o.ClassName)
		}
		cfg := kerasjson.Config{}
		for k, v := range o.Config {
			if k != "fn" {
				cfg[k] = v
			}
		}
		l, err := lossFromFunction(fn, cfg)
		if err != nil {
			return nil, err
		}
		if n, _ := o.Config.String("name", ""); n != "" {
			l.name = n
			if l.logits != nil {
				l.logits.name = n
			}
		}
		return l, nil
	}
	if lower := strings.ToLower(name); lower == "crossentropy" || lower == "ce" {
		if len(yPredShape) == 0 {
			return nil, fmt.Errorf("train: loss %q needs the output shape to resolve", name)
		}
		fn := "categorical_crossentropy"
		var bin, sparse bool
		if yTrueShape == nil {
			// Without y_true's shape only the binary case is decidable.
			if yPredShape[len(yPredShape)-1] != 1 {
				return nil, fmt.Errorf("train: loss %q needs the target shape to choose between sparse and categorical crossentropy", name)
			}
			bin = true
		} else {
			bin, sparse = isBinaryOrSparseCategorical(yTrueShape, yPredShape)
		}
		if bin {
			fn = "binary_crossentropy"
		} else if sparse {
			fn = "sparse_categorical_crossentropy"
		}
		l, err := lossFromFunction(fn, o.Config)
		if err != nil {
			return nil, err
		}
		l.name = name
		if l.logits != nil {
			l.logits.name = name
		}
		return l, nil
	}
	if spec, ok := lossClasses[name]; ok {
		return spec.build(spec.defaultName, o.Config)
	}
	l, err := lossFromFunction(name, o.Config)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// lossFromFunction builds a loss named by its Keras function name (or an
// alias); the name of the result is the identifier, as compile_utils does.
func lossFromFunction(fn string, cfg kerasjson.Config) (*keras3Loss, error) {
	class, ok := lossFunctionAliases[fn]
	if !ok {
		return nil, fmt.Errorf("train: unsupported loss %q", fn)
	}
	spec := lossClasses[class]
	c := kerasjson.Config{}
	for k, v := range cfg {
		c[k] = v
	}
	delete(c, "name")
	l, err := spec.build(fn, c)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// isBinaryOrSparseCategorical mirrors compile_utils.is_binary_or_sparse_categorical.
func isBinaryOrSparseCategorical(yTrueShape, yPredShape []int) (binary, sparse bool) {
	if len(yTrueShape) == 0 || len(yPredShape) == 0 {
		return false, false
	}
	tLast, pLast := yTrueShape[len(yTrueShape)-1], yPredShape[len(yPredShape)-1]
	binary = pLast == 1
	sparse = len(yTrueShape) < len(yPredShape) || (tLast == 1 && pLast > 1)
	return binary, sparse
}

// lossFunctionAliases maps every string identifier Keras 1-3 accept for a
// loss function to its Keras 3 class.
var lossFunctionAliases = map[string]string{
	"mean_squared_error": "MeanSquaredError", "mse": "MeanSquaredError", "MSE": "MeanSquaredError",
	"mean_absolute_error": "MeanAbsoluteError", "mae": "MeanAbsoluteError", "MAE": "MeanAbsoluteError",
	"mean_absolute_percentage_error": "MeanAbsolutePercentageError", "mape": "MeanAbsolutePercentageError", "MAPE": "MeanAbsolutePercentageError",
	"mean_squared_logarithmic_error": "MeanSquaredLogarithmicError", "msle": "MeanSquaredLogarithmicError", "MSLE": "MeanSquaredLogarithmicError",
	"huber": "Huber", "huber_loss": "Huber",
	"log_cosh": "LogCosh", "logcosh": "LogCosh",
	"binary_crossentropy": "BinaryCrossentropy", "bce": "BinaryCrossentropy", "BCE": "BinaryCrossentropy",
	"categorical_crossentropy":        "CategoricalCrossentropy",
	"sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
	"binary_focal_crossentropy":       "BinaryFocalCrossentropy",
	"categorical_focal_crossentropy":  "CategoricalFocalCrossentropy",
	"kl_divergence":                   "KLDivergence", "kld": "KLDivergence", "KLD": "KLDivergence",
	"kullback_leibler_divergence": "KLDivergence", "kl_div": "KLDivergence",
	"poisson":           "Poisson",
	"hinge":             "Hinge",
	"squared_hinge":     "SquaredHinge",
	"categorical_hinge": "CategoricalHinge",
	"cosine_similarity": "CosineSimilarity",
	"cosine_proximity":  "CosineSimilarity",
	"cosine":            "CosineSimilarity",
	"dice":              "Dice",
	"tversky":           "Tversky",
}
