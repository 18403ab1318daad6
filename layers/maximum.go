package layers

// Maximum is keras.layers.Maximum: the elementwise maximum of its inputs.
func init() { registerMerge("Maximum", extremumMerge(func(a, b float32) bool { return a > b })) }

// extremumMerge builds Maximum or Minimum from "a beats b". Keras folds
// the inputs left to right with ops.maximum/minimum, whose TensorFlow
// gradient goes to the left operand on ties, so on ties the earliest input
// wins and gets the whole gradient.
func extremumMerge(beats func(a, b float32) bool) *mergeOp {
	winner := func(xs [][]float32, i int) int {
		w := 0
		for k := 1; k < len(xs); k++ {
			if beats(xs[k][i], xs[w][i]) {
				w = k
			}
		}
		return w
	}
	return &mergeOp{
		forward: func(xs [][]float32, y []float32) {
			for i := range y {
				y[i] = xs[winner(xs, i)][i]
			}
		},
		backward: func(xs [][]float32, _, gy []float32, gxs [][]float32) {
			for i, g := range gy {
				gxs[winner(xs, i)][i] = g
			}
		},
	}
}
