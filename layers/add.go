package layers

// Add is keras.layers.Add: the elementwise sum of its inputs.
func init() {
	registerMerge("Add", &mergeOp{
		forward: func(xs [][]float32, y []float32) {
			copy(y, xs[0])
			for _, x := range xs[1:] {
				for i, v := range x {
					y[i] += v
				}
			}
		},
		backward: func(xs [][]float32, _, gy []float32, gxs [][]float32) {
			for _, g := range gxs {
				copy(g, gy)
			}
		},
	})
}
