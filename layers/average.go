package layers

// Average is keras.layers.Average: the elementwise mean of its inputs.
func init() {
	registerMerge("Average", &mergeOp{
		forward: func(xs [][]float32, y []float32) {
			copy(y, xs[0])
			for _, x := range xs[1:] {
				for i, v := range x {
					y[i] += v
				}
			}
			n := float32(len(xs))
			for i := range y {
				y[i] /= n
			}
		},
		backward: func(xs [][]float32, _, gy []float32, gxs [][]float32) {
			n := float32(len(xs))
			for _, g := range gxs {
				for i, v := range gy {
					g[i] = v / n
				}
			}
		},
	})
}
