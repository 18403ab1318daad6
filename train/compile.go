package train

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Compiled is what model.compile() set up: one loss (with its weight) and
// a list of metrics per model output, plus the trackers Keras reports from
// evaluate() and fit(): "loss", and for several outputs "<output>_loss".
type Compiled struct {
	OutputNames []string
	Losses      []Loss    // per output; nil where the output has no loss
	LossWeights []float64 // per output
	Metrics     [][]Metric
	lossTracker *Mean
	outTrackers []*Mean // per-output loss trackers, multi-output models only
	// metricSpecs are the configured metrics per output; Metrics is built
	// from them at the first batch, when y_true's shape is known ("accuracy"
	// means binary, sparse or categorical accuracy depending on it).
	metricSpecs [][]*kerasjson.Object
	built       bool
}

// buildMetrics makes Metrics from metricSpecs for the given target and
// prediction shapes (nil target shapes: unknown).
func (c *Compiled) buildMetrics(trueShapes, predShapes [][]int) error {
	c.Metrics = make([][]Metric, len(c.OutputNames))
	for i, specs := range c.metricSpecs {
		var ts []int
		if trueShapes != nil {
			ts = trueShapes[i]
		}
		for _, o := range specs {
			m, err := NewMetric(o, c.Losses[i], ts, predShapes[i])
			if err != nil {
				return fmt.Errorf("train: metric for output %q: %v", c.OutputNames[i], err)
			}
			c.Metrics[i] = append(c.Metrics[i], m)
		}
	}
	c.built = true
	return nil
}

// Compile resolves a training configuration for a model with the given
// outputs, as Keras 3's CompileLoss and CompileMetrics do: a single loss or
// a list or dict of them (keyed by output name), metrics as a list (applied
// to every output) or a dict or list of lists.
func Compile(tc *kerasjson.TrainingConfig, outputNames []string, outputShapes [][]int) (*Compiled, error) {
	if tc == nil || tc.Loss == nil {
		return nil, fmt.Errorf("train: the model was not compiled with a loss")
	}
	n := len(outputNames)
	c := &Compiled{OutputNames: outputNames, Losses: make([]Loss, n), LossWeights: make([]float64, n), Metrics: make([][]Metric, n), metricSpecs: make([][]*kerasjson.Object, n), lossTracker: NewMean("loss")}
	lossSpecs, err := perOutput(tc.Loss, outputNames, "loss")
	if err != nil {
		return nil, err
	}
	weights, err := perOutput(tc.LossWeights, outputNames, "loss_weights")
	if err != nil {
		return nil, err
	}
	for i := range outputNames {
		c.LossWeights[i] = 1
		if w := weights[i]; w != nil {
			f, ok := toFloat(w)
			if !ok {
				return nil, fmt.Errorf("train: loss_weights for output %q is not a number", outputNames[i])
			}
			c.LossWeights[i] = f
		}
		if lossSpecs[i] == nil {
			continue
		}
		o, err := asObject(lossSpecs[i])
		if err != nil {
			return nil, fmt.Errorf("train: loss for output %q: %v", outputNames[i], err)
		}
		// y_true's shape is unknown before data arrives; Keras resolves
		// string losses from y_pred's shape alone here.
		if c.Losses[i], err = ResolveLoss(o, nil, outputShapes[i]); err != nil {
			return nil, fmt.Errorf("train: loss for output %q: %v", outputNames[i], err)
		}
	}
	if n > 1 {
		for _, name := range outputNames {
			c.outTrackers = append(c.outTrackers, NewMean(name+"_loss"))
		}
	}
	for _, spec := range []any{tc.Metrics, tc.WeightedMetrics} {
		if spec == nil {
			continue
		}
		lists, err := metricLists(spec, outputNames)
		if err != nil {
			return nil, err
		}
		for i, list := range lists {
			for _, ms := range list {
				if ms == nil {
					continue
				}
				o, err := asObject(ms)
				if err != nil {
					return nil, fmt.Errorf("train: metric for output %q: %v", outputNames[i], err)
				}
				c.metricSpecs[i] = append(c.metricSpecs[i], o)
			}
		}
	}
	// Metrics whose meaning does not depend on y_true's shape are built
	// now (so that bad configurations fail early); all are rebuilt from
	// the real shapes at the first batch, as Keras's CompileMetrics.build.
	if err := c.buildMetrics(nil, outputShapes); err != nil {
		return nil, err
	}
	c.built = false
	return c, nil
}

// asObject accepts a decoded *kerasjson.Object (what kerasjson produces
// for loss and metric leaves) or raw JSON.
func asObject(v any) (*kerasjson.Object, error) {
	if o, ok := v.(*kerasjson.Object); ok {
		return o, nil
	}
	return kerasjson.DecodeObject(v)
}

// perOutput spreads a loss-like spec over the outputs: one value for all
// (single output), a list in output order, or a dict keyed by output name.
func perOutput(spec any, names []string, what string) ([]any, error) {
	out := make([]any, len(names))
	switch s := spec.(type) {
	case nil:
	case []any:
		if len(s) != len(names) {
			return nil, fmt.Errorf("train: %s lists %d entries for %d outputs", what, len(s), len(names))
		}
		copy(out, s)
	case map[string]any:
		for k := range s {
			if indexOf(names, k) < 0 {
				return nil, fmt.Errorf("train: %s names output %q; the model's outputs are %v", what, k, names)
			}
		}
		for i, n := range names {
			out[i] = s[n]
		}
	default:
		if len(names) != 1 && what == "loss" {
			// One loss for every output, as Keras applies it.
			for i := range out {
				out[i] = spec
			}
			return out, nil
		}
		if len(names) != 1 {
			return nil, fmt.Errorf("train: one %s for %d outputs", what, len(names))
		}
		out[0] = spec
	}
	return out, nil
}

// metricLists spreads a metrics spec over the outputs.
func metricLists(spec any, names []string) ([][]any, error) {
	out := make([][]any, len(names))
	asList := func(v any) []any {
		if l, ok := v.([]any); ok {
			return l
		}
		if v == nil {
			return nil
		}
		return []any{v}
	}
	switch s := spec.(type) {
	case map[string]any:
		for k := range s {
			if indexOf(names, k) < 0 {
				return nil, fmt.Errorf("train: metrics name output %q; the model's outputs are %v", k, names)
			}
		}
		for i, n := range names {
			out[i] = asList(s[n])
		}
	case []any:
		// tf.keras writes one list per output: [[m1], [null]].
		nested := len(s) == len(names) && len(s) > 0
		for _, e := range s {
			if _, isList := e.([]any); !isList {
				nested = false
			}
		}
		for i := range names {
			if nested {
				out[i] = asList(s[i])
			} else {
				out[i] = s
			}
		}
	default:
		for i := range names {
			out[i] = asList(s)
		}
	}
	return out, nil
}

func indexOf(names []string, n string) int {
	for i, x := range names {
		if x == n {
			return i
		}
	}
	return -1
}

func toFloat(v any) (float64, bool) {
	o := kerasjson.Config{"v": v}
	f, err := o.Float("v", 0)
	return f, err == nil
}

// Reset clears every tracker and metric, as at the start of evaluate() or
// of an epoch.
func (c *Compiled) Reset() {
	c.lossTracker.Reset()
	for _, t := range c.outTrackers {
		t.Reset()
	}
	for _, ms := range c.Metrics {
		for _, m := range ms {
			m.Reset()
		}
	}
}

// Step computes the weighted total loss of one batch and its gradients with
// respect to each prediction, and updates the loss trackers and metrics as
// Keras's train_step and test_step do (trackers weighted by batch size).
// extraLoss (the model's regularization losses) joins the total, as
// Keras adds model.losses.
func (c *Compiled) Step(yTrue, yPred []*runtime.Tensor, sampleWeight *runtime.Tensor, extraLoss float64) (float64, []*runtime.Tensor, error) {
	total, grads, _, err := c.StepLogits(yTrue, yPred, nil, sampleWeight, extraLoss)
	return total, grads, err
}

// StepLogits is Step for a model some of whose outputs are a softmax or
// sigmoid with known logits (logits[i] non-nil; logits may be nil).
// Keras's TensorFlow backend finds those logits cached on the output
// (_keras_logits) and its crossentropies compute from them; StepLogits
// does the same for every loss with a from-logits form (see
// LogitsLoss), unless Keras would first squeeze y_pred, which drops the
// cache. Metrics see the probabilities. onLogits[i] reports that grads[i]
// is the gradient with respect to logits[i] rather than yPred[i].
func (c *Compiled) StepLogits(yTrue, yPred, logits []*runtime.Tensor, sampleWeight *runtime.Tensor, extraLoss float64) (total float64, grads []*runtime.Tensor, onLogits []bool, err error) {
	if len(yTrue) != len(c.Losses) || len(yPred) != len(c.Losses) || (logits != nil && len(logits) != len(c.Losses)) {
		return 0, nil, nil, fmt.Errorf("train: %d outputs, got %d targets and %d predictions", len(c.Losses), len(yTrue), len(yPred))
	}
	batch := 0
	if len(yPred) > 0 && len(yPred[0].Shape) > 0 {
		batch = yPred[0].Shape[0]
	}
	grads = make([]*runtime.Tensor, len(yPred))
	onLogits = make([]bool, len(yPred))
	for i, l := range c.Losses {
		if l == nil {
			continue
		}
		pred := yPred[i]
		if logits != nil && logits[i] != nil && yTrue[i] != nil && !predSqueezed(yTrue[i].Shape, pred.Shape) {
			if ll, ok := l.(LogitsLoss); ok {
				if fl := ll.FromLogits(); fl != nil {
					l, pred, onLogits[i] = fl, logits[i], true
				}
			}
		}
		v, g, err := l.Compute(yTrue[i], pred, sampleWeight)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("train: output %q loss: %v", c.OutputNames[i], err)
		}
		if c.outTrackers != nil {
			c.outTrackers[i].UpdateScalar(v, float64(batch))
		}
		w := c.LossWeights[i]
		total += w * v
		if w != 1 {
			for j := range g.Data {
				g.Data[j] *= float32(w)
			}
		}
		grads[i] = g
	}
	total += extraLoss
	c.lossTracker.UpdateScalar(total, float64(batch))
	if !c.built {
		ts, ps := make([][]int, len(yTrue)), make([][]int, len(yPred))
		for i := range yTrue {
			ts[i], ps[i] = yTrue[i].Shape, yPred[i].Shape
		}
		if err := c.buildMetrics(ts, ps); err != nil {
			return 0, nil, nil, err
		}
	}
	for i, ms := range c.Metrics {
		for _, m := range ms {
			if err := m.Update(yTrue[i], yPred[i], sampleWeight); err != nil {
				return 0, nil, nil, fmt.Errorf("train: output %q metric %s: %v", c.OutputNames[i], m.Name(), err)
			}
		}
	}
	return total, grads, onLogits, nil
}

// predSqueezed reports whether Keras's squeeze_or_expand_to_same_rank
// (with expand_rank_1) would squeeze y_pred's last axis, making a new
// tensor without the cached logits.
func predSqueezed(trueShape, predShape []int) bool {
	rt, rp := len(trueShape), len(predShape)
	return rp == rt+1 && predShape[rp-1] == 1 && rt != 1
}

// Results returns the tracked values under Keras's names: "loss",
// "<output>_loss" for several outputs, and each metric by its name
// (prefixed "<output>_" for several outputs).
func (c *Compiled) Results() map[string]float64 {
	res := map[string]float64{"loss": c.lossTracker.Result()}
	for _, t := range c.outTrackers {
		res[t.Name()] = t.Result()
	}
	for i, ms := range c.Metrics {
		for _, m := range ms {
			name := m.Name()
			// tf.keras configs already carry the prefixed name.
			if len(c.OutputNames) > 1 && !strings.HasPrefix(name, c.OutputNames[i]+"_") {
				name = c.OutputNames[i] + "_" + name
			}
			res[name] = m.Result()
		}
	}
	return res
}

// ResultNames lists the keys of Results in a stable order: loss first.
func (c *Compiled) ResultNames() []string {
	res := c.Results()
	names := make([]string, 0, len(res))
	for k := range res {
		if k != "loss" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return append([]string{"loss"}, names...)
}
