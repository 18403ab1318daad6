package train

import (
	"fmt"
	"math"
)

// sparseCategoricalCrossentropy mirrors Keras's
// sparse_categorical_crossentropy over the last axis. Without logits the
// TensorFlow backend clips the probabilities to [eps, 1-eps], takes their
// log and applies a softmax crossentropy to that: the loss is
// log(sum(c)) - log(c[label]), not -log(p[label]). With ignore_class the
// ignored positions give 0, carry a mask, and no gradient.
func sparseCategoricalCrossentropy(fromLogits bool, ignore *int) lossFn {
	return func(yt, yp []float64, ts, ps []int) (*lossValues, error) {
		if len(ps) == 0 {
			return nil, fmt.Errorf("y_pred must have rank >= 1")
		}
		if len(ts) == len(ps) && ts[len(ts)-1] == 1 {
			ts = ts[:len(ts)-1]
		}
		if len(ts) != len(ps)-1 || !shapesEqual(ts, ps[:len(ps)-1]) {
			return nil, fmt.Errorf("y_true shape %v does not match y_pred shape %v without its last axis", ts, ps)
		}
		k := ps[len(ps)-1]
		rows := len(yt)
		vals := make([]float64, rows)
		grads := make([]float64, len(yp))
		var mask []bool
		if ignore != nil {
			mask = make([]bool, rows)
		}
		for r := 0; r < rows; r++ {
			if ignore != nil && yt[r] == float64(*ignore) {
				continue
			}
			if mask != nil {
				mask[r] = true
			}
			label := int(yt[r])
			if float64(label) != yt[r] || label < 0 || label >= k {
				return nil, fmt.Errorf("label %v at position %d is not a class index in [0, %d)", yt[r], r, k)
			}
			p := yp[r*k : (r+1)*k]
			g := grads[r*k : (r+1)*k]
			if fromLogits {
				sm := softmax(p)
				vals[r] = logSumExp(p) - p[label]
				copy(g, sm)
				g[label]--
				continue
			}
			s := 0.0
			for _, v := range p {
				s += clip(v, epsilon, oneMinusEps)
			}
			c := clip(p[label], epsilon, oneMinusEps)
			vals[r] = math.Log(s) - math.Log(c)
			for j, v := range p {
				if !clipPass(v, epsilon, oneMinusEps) {
					continue
				}
				g[j] = 1 / s
				if j == label {
					g[j] -= 1 / c
				}
			}
		}
		return &lossValues{values: vals, shape: append([]int(nil), ts...), mask: mask, back: func(dv []float64) []float64 {
			out := make([]float64, len(grads))
			for r := 0; r < rows; r++ {
				for j := 0; j < k; j++ {
					out[r*k+j] = dv[r] * grads[r*k+j]
				}
			}
			return out
		}}, nil
	}
}
