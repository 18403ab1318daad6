package train

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
)

type metricMaker func(c kerasjson.Config) (Metric, error)

func wrapper(defaultName string, mk func(c kerasjson.Config) (valuesFn, error)) metricMaker {
	return func(c kerasjson.Config) (Metric, error) {
		name, err := c.String("name", defaultName)
		if err != nil {
			return nil, fmt.Errorf("train: metric %s: %v", defaultName, err)
		}
		fn, err := mk(c)
		if err != nil {
			return nil, fmt.Errorf("train: metric %s: %v", name, err)
		}
		return &meanMetric{Mean: Mean{name: name}, fn: fn}, nil
	}
}

func fixed(fn valuesFn) func(kerasjson.Config) (valuesFn, error) {
	return func(kerasjson.Config) (valuesFn, error) { return fn, nil }
}

// lossMetric is a metric that averages a loss function's values.
func lossMetric(class string) func(c kerasjson.Config) (valuesFn, error) {
	return func(c kerasjson.Config) (valuesFn, error) {
		cfg := kerasjson.Config{}
		for k, v := range c {
			if k != "name" && k != "dtype" {
				cfg[k] = v
			}
		}
		fn, _, err := lossClasses[class].make(cfg)
		if err != nil {
			return nil, err
		}
		return squeezed(fromLoss(fn)), nil
	}
}

// metricClasses lists the supported Keras 3 metric classes.
var metricClasses map[string]metricMaker

func init() {
	metricClasses = map[string]metricMaker{
		"Mean": func(c kerasjson.Config) (Metric, error) {
			name, err := c.String("name", "mean")
			return &Mean{name: name}, err
		},
		"Accuracy":                      wrapper("accuracy", fixed(squeezed(accuracyValues))),
		"BinaryAccuracy":                wrapper("binary_accuracy", binaryAccuracy),
		"CategoricalAccuracy":           wrapper("categorical_accuracy", fixed(categoricalAccuracy)),
		"SparseCategoricalAccuracy":     wrapper("sparse_categorical_accuracy", fixed(sparseCategoricalAccuracy)),
		"TopKCategoricalAccuracy":       wrapper("top_k_categorical_accuracy", topK(false)),
		"SparseTopKCategoricalAccuracy": wrapper("sparse_top_k_categorical_accuracy", topK(true)),
		"MeanSquaredError":              wrapper("mean_squared_error", lossMetric("MeanSquaredError")),
		"MeanAbsoluteError":             wrapper("mean_absolute_error", lossMetric("MeanAbsoluteError")),
		"MeanAbsolutePercentageError":   wrapper("mean_absolute_percentage_error", lossMetric("MeanAbsolutePercentageError")),
		"MeanSquaredLogarithmicError":   wrapper("mean_squared_logarithmic_error", lossMetric("MeanSquaredLogarithmicError")),
		"LogCoshError":                  wrapper("logcosh", lossMetric("LogCosh")),
		"BinaryCrossentropy":            wrapper("binary_crossentropy", lossMetric("BinaryCrossentropy")),
		"CategoricalCrossentropy":       wrapper("categorical_crossentropy", lossMetric("CategoricalCrossentropy")),
		"SparseCategoricalCrossentropy": wrapper("sparse_categorical_crossentropy", lossMetric("SparseCategoricalCrossentropy")),
		"KLDivergence":                  wrapper("kl_divergence", lossMetric("KLDivergence")),
		"Poisson":                       wrapper("poisson", lossMetric("Poisson")),
		"Hinge":                         wrapper("hinge", lossMetric("Hinge")),
		"SquaredHinge":                  wrapper("squared_hinge", lossMetric("SquaredHinge")),
		"CategoricalHinge":              wrapper("categorical_hinge", lossMetric("CategoricalHinge")),
		"CosineSimilarity": wrapper("cosine_similarity", func(c kerasjson.Config) (valuesFn, error) {
			axis, err := c.Int("axis", -1)
			return squeezed(fromLoss(cosineSimilarityLoss(axis, 1))), err
		}),
		"RootMeanSquaredError": func(c kerasjson.Config) (Metric, error) {
			name, err := c.String("name", "root_mean_squared_error")
			if err != nil {
				return nil, err
			}
			return &meanMetric{Mean: Mean{name: name}, sqrt: true, fn: squeezed(squaredErrors)}, nil
		},
		"AUC":            newAUC,
		"Precision":      newPrecisionRecall(true),
		"Recall":         newPrecisionRecall(false),
		"MeanIoU":        newMeanIoU,
		"IoU":            newMeanIoU,
		"R2Score":        newR2Score,
		"TruePositives":  newConfusionCount("true_positives"),
		"FalsePositives": newConfusionCount("false_positives"),
		"TrueNegatives":  newConfusionCount("true_negatives"),
		"FalseNegatives": newConfusionCount("false_negatives"),
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func squaredErrors(yt, yp []float64, ts, ps []int) ([]float64, []int, []bool, error) {
	a, err := align(ts, ps)
	if err != nil {
		return nil, nil, nil, err
	}
	n := runtime_size(a.shape)
	v := make([]float64, n)
	for i := range v {
		d := yp[a.p(i)] - yt[a.t(i)]
		v[i] = d * d
	}
	return v, a.shape, nil, nil
}

func accuracyValues(yt, yp []float64, ts, ps []int) ([]float64, []int, []bool, error) {
	a, err := align(ts, ps)
	if err != nil {
		return nil, nil, nil, err
	}
	v := make([]float64, runtime_size(a.shape))
	for i := range v {
		v[i] = boolValue(float32(yt[a.t(i)]) == float32(yp[a.p(i)]))
	}
	return v, a.shape, nil, nil
}

func binaryAccuracy(c kerasjson.Config) (valuesFn, error) {
	thr, err := c.Float("threshold", 0.5)
	if err != nil {
		return nil, err
	}
	thr32 := float64(float32(thr))
	return squeezed(func(yt, yp []float64, ts, ps []int) ([]float64, []int, []bool, error) {
		a, err := align(ts, ps)
		if err != nil {
			return nil, nil, nil, err
		}
		v := make([]float64, runtime_size(a.shape))
		for i := range v {
			v[i] = boolValue(yt[a.t(i)] == boolValue(yp[a.p(i)] > thr32))
		}
		return v, a.shape, nil, nil
	}), nil
}

// argmaxRows returns the first index of the maximum of each last-axis row.
func argmaxRows(x []float64, shape []int) ([]float64, error) {
	if len(shape) == 0 || shape[len(shape)-1] == 0 {
		return nil, fmt.Errorf("cannot take argmax of shape %v", shape)
	}
	k := shape[len(shape)-1]
	out := make([]float64, len(x)/k)
	for r := range out {
		best := 0
		for j := 1; j < k; j++ {
			if x[r*k+j] > x[r*k+best] {
				best = j
			}
		}
		out[r] = float64(best)
	}
	return out, nil
}

func categoricalAccuracy(yt, yp []float64, ts, ps []int) ([]float64, []int, []bool, error) {
	at, err := argmaxRows(yt, ts)
	if err != nil {
		return nil, nil, nil, err
	}
	ap, err := argmaxRows(yp, ps)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(at) != len(ap) {
		return nil, nil, nil, fmt.Errorf("y_true shape %v and y_pred shape %v differ", ts, ps)
	}
	v := make([]float64, len(at))
	for i := range v {
		v[i] = boolValue(at[i] == ap[i])
	}
	return v, ts[:len(ts)-1], nil, nil
}

func sparseCategoricalAccuracy(yt, yp []float64, ts, ps []int) ([]float64, []int, []bool, error) {
	shape := ts
	if len(ts) == len(ps) && len(ts) > 0 && ts[len(ts)-1] == 1 {
		shape = ts[:len(ts)-1]
	}
	ap, err := argmaxRows(yp, ps)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(ap) != len(yt) {
		return nil, nil, nil, fmt.Errorf("y_true shape %v does not match y_pred shape %v", ts, ps)
	}
	v := make([]float64, len(yt))
	for i := range v {
		v[i] = boolValue(yt[i] == ap[i])
	}
	return v, shape, nil, nil
}

// inTopK is tf.math.in_top_k: the target is in the top k when fewer than
// k predictions are strictly greater (ties straddling the boundary count
// as in); a non-finite target prediction is never in.
func inTopK(row []float64, target, k int) bool {
	if target < 0 || target >= len(row) {
		return false
	}
	v := row[target]
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return false
	}
	greater := 0
	for _, x := range row {
		if x > v {
			greater++
		}
	}
	return greater < k
}

func topK(sparse bool) func(c kerasjson.Config) (valuesFn, error) {
	return func(c kerasjson.Config) (valuesFn, error) {
		k, err := c.Int("k", 5)
		if err != nil {
			return nil, err
		}
		if b, _ := c.Bool("from_sorted_ids", false); b {
			return nil, fmt.Errorf("from_sorted_ids is not supported")
		}
		return func(yt, yp []float64, ts, ps []int) ([]float64, []int, []bool, error) {
			if len(ps) == 0 {
				return nil, nil, nil, fmt.Errorf("y_pred must have rank >= 1")
			}
			n := ps[len(ps)-1]
			targets, shape := yt, ts
			if !sparse {
				var err error
				if targets, err = argmaxRows(yt, ts); err != nil {
					return nil, nil, nil, err
				}
				shape = ts[:len(ts)-1]
			}
			if len(targets)*n != len(yp) {
				return nil, nil, nil, fmt.Errorf("y_true shape %v does not match y_pred shape %v", ts, ps)
			}
			v := make([]float64, len(targets))
			for r := range v {
				v[r] = boolValue(inTopK(yp[r*n:(r+1)*n], int(targets[r]), k))
			}
			return v, shape, nil, nil
		}, nil
	}
}
