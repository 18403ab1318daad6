package layers

import "github.com/kerasrun/kerasrun/kerasjson"

// ZeroPadding1D, ZeroPadding2D and ZeroPadding3D are
// keras.layers.ZeroPadding*D: they add padding[i] = (before, after) zeros
// along each spatial axis.
func init() {
	for dims, class := range map[int]string{1: "ZeroPadding1D", 2: "ZeroPadding2D", 3: "ZeroPadding3D"} {
		Register(class, func(spec *kerasjson.Layer) (Layer, error) { return newZeroPadding(spec, dims) }, Supports{Inference: true, Training: true})
	}
}

func newZeroPadding(spec *kerasjson.Layer, dims int) (Layer, error) {
	l, err := newGatherBase(spec, dims, true)
	if err != nil {
		return nil, err
	}
	def := make([][2]int, dims)
	for i := range def {
		def[i] = [2]int{1, 1}
	}
	pad, err := configPairs(spec.Config, "padding", dims, def)
	if err != nil {
		return nil, ShapeError(&l.Base, "%v", err)
	}
	l.zeros = pad
	l.outLen = func(i, n int) int { return n + pad[i][0] + pad[i][1] }
	l.axisMap = func(i, n int) ([]int, error) {
		out := make([]int, n+pad[i][0]+pad[i][1])
		for o := range out {
			out[o] = o - pad[i][0]
			if out[o] >= n {
				out[o] = -1
			}
		}
		return out, nil
	}
	return l, nil
}
