package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// UpSampling1D, UpSampling2D and UpSampling3D are
// keras.layers.UpSampling*D: each spatial axis is repeated size[i] times
// (nearest). UpSampling2D also takes interpolation="bilinear", which
// Keras computes with tf.image.resize (half-pixel centers).
func init() {
	for dims, class := range map[int]string{1: "UpSampling1D", 2: "UpSampling2D", 3: "UpSampling3D"} {
		Register(class, func(spec *kerasjson.Layer) (Layer, error) { return newUpSampling(spec, dims) }, Supports{Inference: true, Training: true})
	}
}

// UpSampling2DBilinear is UpSampling2D with interpolation="bilinear".
type UpSampling2DBilinear struct {
	*gatherLayer
	Size [2]int
}

func newUpSampling(spec *kerasjson.Layer, dims int) (Layer, error) {
	l, err := newGatherBase(spec, dims, dims > 1)
	if err != nil {
		return nil, err
	}
	size, err := spec.Config.Ints("size", dims, repeatInt(2, dims))
	if err != nil {
		return nil, err
	}
	for _, s := range size {
		if s <= 0 {
			return nil, ShapeError(&l.Base, "size must be positive, got %v", size)
		}
	}
	l.outLen = func(i, n int) int { return n * size[i] }
	l.axisMap = func(i, n int) ([]int, error) {
		out := make([]int, n*size[i])
		for o := range out {
			out[o] = o / size[i]
		}
		return out, nil
	}
	interp, err := spec.Config.String("interpolation", "nearest")
	if err != nil {
		return nil, err
	}
	switch {
	case interp == "nearest":
		return l, nil
	case dims == 2 && interp == "bilinear":
		return &UpSampling2DBilinear{gatherLayer: l, Size: [2]int{size[0], size[1]}}, nil
	}
	return nil, ShapeError(&l.Base, "interpolation %q is not supported (nearest, and bilinear for UpSampling2D, are)", interp)
}

func repeatInt(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Forward resizes bilinearly.
func (l *UpSampling2DBilinear) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() != 4 {
		return nil, nil, ShapeError(&l.Base, "expects rank 4 input, got %s", runtime.FormatShape(x.Shape))
	}
	return resizeForward(ctx, x, l.ChannelsFirst, x.Shape[l.spatialAxis(0)]*l.Size[0], x.Shape[l.spatialAxis(1)]*l.Size[1])
}

// resizeForward resizes a rank-4 image batch bilinearly to (oh, ow).
func resizeForward(ctx *runtime.Context, x *runtime.Tensor, channelsFirst bool, oh, ow int) ([]*runtime.Tensor, runtime.Backward, error) {
	data, shape := x.Data, x.Shape
	if channelsFirst {
		data, shape = permuteAxes(data, shape, []int{0, 2, 3, 1})
	}
	n, h, w, c := shape[0], shape[1], shape[2], shape[3]
	out := resizeBilinear(data, n, h, w, c, oh, ow)
	outShape := []int{n, oh, ow, c}
	if channelsFirst {
		out, outShape = permuteAxes(out, outShape, []int{0, 3, 1, 2})
	}
	y := &runtime.Tensor{Shape: outShape, Data: out}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g := gout[0].Data
		if channelsFirst {
			g, _ = permuteAxes(g, gout[0].Shape, []int{0, 2, 3, 1})
		}
		gx := resizeBilinearGrad(g, n, h, w, c, oh, ow)
		if channelsFirst {
			gx, _ = permuteAxes(gx, []int{n, h, w, c}, []int{0, 3, 1, 2})
		}
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gx}}, nil
	}, nil
}
