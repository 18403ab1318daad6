package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
)

// RegularizedWeight is a weight with a Keras weight regularizer
// (kernel_regularizer=L2(0.01), ...). Its penalty is added to the loss in
// training and evaluation, as Keras adds model.losses.
type RegularizedWeight struct {
	Layer    string
	Variable *runtime.Variable
	L1, L2   float64
}

// regularizerWeights maps a layer config's *_regularizer argument to the
// name of the weight it applies to.
var regularizerWeights = map[string]string{
	"kernel_regularizer":     "kernel",
	"bias_regularizer":       "bias",
	"recurrent_regularizer":  "recurrent_kernel",
	"depthwise_regularizer":  "depthwise_kernel",
	"pointwise_regularizer":  "pointwise_kernel",
	"embeddings_regularizer": "embeddings",
	"gamma_regularizer":      "gamma",
	"beta_regularizer":       "beta",
	"alpha_regularizer":      "alpha",
}

// Regularizers collects the weight regularizers of a model's layers
// (walking nested models). An activity_regularizer, or a regularizer class
// other than L1, L2 and L1L2, is an error naming the layer.
func Regularizers(all []layers.Layer) ([]RegularizedWeight, error) {
	var out []RegularizedWeight
	for _, l := range all {
		b := l.Common()
		if o, err := b.Config.Object("activity_regularizer"); err != nil {
			return nil, fmt.Errorf("layer %s: %v", b, err)
		} else if o != nil {
			return nil, fmt.Errorf("layer %s: activity_regularizer %s is not supported in training yet", b, o.ClassName)
		}
		for key, weight := range regularizerWeights {
			o, err := b.Config.Object(key)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %v", b, err)
			}
			if o == nil {
				continue
			}
			l1, l2, err := regularizerFactors(o)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %s: %v", b, key, err)
			}
			var found *runtime.Variable
			for _, v := range l.Weights() {
				if v.Name == weight {
					found = v
				}
			}
			if found == nil {
				continue // e.g. bias_regularizer with use_bias=False
			}
			out = append(out, RegularizedWeight{Layer: b.Name, Variable: found, L1: l1, L2: l2})
		}
	}
	return out, nil
}

// regularizerFactors reads L1, L2 and L1L2 with Keras 3's defaults
// (l1=0.01 for L1, l2=0.01 for L2, both 0 for L1L2) and Keras 2's
// string shortcuts ("l1", "l2", "l1_l2").
func regularizerFactors(o *kerasjson.Object) (l1, l2 float64, err error) {
	switch strings.ToLower(o.ClassName) {
	case "l1":
		l1, err = o.Config.Float("l1", 0.01)
	case "l2":
		l2, err = o.Config.Float("l2", 0.01)
	case "l1l2", "l1_l2":
		if l1, err = o.Config.Float("l1", 0); err == nil {
			l2, err = o.Config.Float("l2", 0)
		}
	default:
		err = fmt.Errorf("regularizer %s is not supported", o.ClassName)
	}
	// Keras stores the factors as float32.
	return float64(float32(l1)), float64(float32(l2)), err
}

// Penalty returns the total regularization loss and, when grads is not
// nil, adds each penalty's gradient to grads (keyed by variable).
func Penalty(regs []RegularizedWeight, grads map[*runtime.Variable]*runtime.Tensor) float64 {
	total := 0.0
	for _, r := range regs {
		var abs, sq float64
		data := r.Variable.Value.Data
		for _, x := range data {
			abs += math.Abs(float64(x))
			sq += float64(x) * float64(x)
		}
		total += r.L1*abs + r.L2*sq
		if grads == nil {
			continue
		}
		g := grads[r.Variable]
		if g == nil {
			g = runtime.NewTensor(r.Variable.Value.Shape...)
			grads[r.Variable] = g
		}
		for i, x := range data {
			d := 2 * r.L2 * float64(x)
			if x > 0 {
				d += r.L1
			} else if x < 0 {
				d -= r.L1
			}
			g.Data[i] += float32(d)
		}
	}
	return total
}
