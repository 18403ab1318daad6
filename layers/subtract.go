package layers

// Subtract is keras.layers.Subtract: inputs[0] - inputs[1].
func init() {
	registerMerge("Subtract", &mergeOp{
		arity: 2,
		forward: func(xs [][]float32, y []float32) {
			for i := range y {
				y[i] = xs[0][i] - xs[1][i]
			}
		},
		backward: func(xs [][]float32, _, gy []float32, gxs [][]float32) {
			for i, g := range gy {
				gxs[0][i] = g
				gxs[1][i] = -g
			}
		},
	})
}
