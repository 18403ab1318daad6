package layers

// Multiply is keras.layers.Multiply: the elementwise product of its inputs.
func init() {
	registerMerge("Multiply", &mergeOp{
		forward: func(xs [][]float32, y []float32) {
			copy(y, xs[0])
			for _, x := range xs[1:] {
				for i, v := range x {
					y[i] *= v
				}
			}
		},
		// dL/dx_k = gy * product of the other inputs (computed directly,
		// not as y/x_k, so zeros are handled).
		backward: func(xs [][]float32, _, gy []float32, gxs [][]float32) {
			for k, g := range gxs {
				for i := range g {
					p := gy[i]
					for j, x := range xs {
						if j != k {
							p *= x[i]
						}
					}
					g[i] = p
				}
			}
		},
	})
}
