package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
)

// Cropping1D, Cropping2D and Cropping3D are keras.layers.Cropping*D:
// they remove cropping[i] = (before, after) positions from each spatial
// axis (Cropping1D has no data_format: its axis is 1).
func init() {
	for dims, class := range map[int]string{1: "Cropping1D", 2: "Cropping2D", 3: "Cropping3D"} {
		Register(class, func(spec *kerasjson.Layer) (Layer, error) { return newCropping(spec, dims) }, Supports{Inference: true, Training: true})
	}
}

func newCropping(spec *kerasjson.Layer, dims int) (Layer, error) {
	l, err := newGatherBase(spec, dims, dims > 1)
	if err != nil {
		return nil, err
	}
	def := make([][2]int, dims)
	for i := range def {
		def[i] = [2]int{1, 1}
	}
	if dims == 2 {
		def = [][2]int{{0, 0}, {0, 0}}
	}
	crop, err := configPairs(spec.Config, "cropping", dims, def)
	if err != nil {
		return nil, ShapeError(&l.Base, "%v", err)
	}
	l.outLen = func(i, n int) int { return n - crop[i][0] - crop[i][1] }
	l.axisMap = func(i, n int) ([]int, error) {
		m := n - crop[i][0] - crop[i][1]
		if m <= 0 {
			return nil, fmt.Errorf("cropping %v must be smaller than spatial dimension %d", crop[i], n)
		}
		out := make([]int, m)
		for o := range out {
			out[o] = o + crop[i][0]
		}
		return out, nil
	}
	return l, nil
}
