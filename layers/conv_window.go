package layers

import (
	"fmt"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// window is the sliding-window geometry shared by the convolution and
// pooling layers: how an input of up to three spatial dimensions maps to an
// output. The arrays always hold three dimensions (depth, height, width);
// a layer of rank r uses the last r of them and the others are 1, so that
// one set of loops serves the 1-D, 2-D and 3-D layers.
type window struct {
	rank      int // spatial dimensions of the layer: 1, 2 or 3
	in, out   [3]int
	k         [3]int // window size
	stride    [3]int
	dil       [3]int
	padBefore [3]int
}

// windowArgs holds the Keras arguments that define a window, as read from
// a layer configuration.
type windowArgs struct {
	rank          int
	kernel        []int // kernel_size or pool_size
	strides       []int
	dilation      []int
	padding       string // "valid", "same" or "causal"
	channelsFirst bool
	// zeros, when set, holds (before, after) zeros added along each
	// spatial axis ahead of padding: a ZeroPadding merged into the
	// convolution by the inference graph (fuse.go).
	zeros [][2]int
}

// readWindowArgs reads kernelKey (kernel_size or pool_size), strides,
// dilation_rate and "causal" padding (when isConv: only convolutions have
// them), padding and data_format. stridesDefault nil means the strides
// default to the window size, as pooling does. A malformed argument is a
// *ConfigError.
func readWindowArgs(c kerasjson.Config, rank int, kernelKey string, stridesDefault []int, isConv bool) (windowArgs, error) {
	r := &argReader{c: c}
	a := r.windowArgs(rank, kernelKey, stridesDefault, isConv, isConv && rank == 1)
	return a, r.err
}

// windowArgs reads the window arguments as readWindowArgs does; dilation
// says whether dilation_rate is read, causal whether padding "causal" is
// allowed.
func (r *argReader) windowArgs(rank int, kernelKey string, stridesDefault []int, dilation, causal bool) windowArgs {
	a := windowArgs{rank: rank}
	a.kernel = r.Ints(kernelKey, rank, nil)
	r.check(r.err != nil || a.kernel != nil, kernelKey, "missing")
	if r.err != nil {
		return a
	}
	if stridesDefault == nil {
		stridesDefault = a.kernel
	}
	a.strides = r.Ints("strides", rank, stridesDefault)
	a.dilation = ones(rank)
	if dilation {
		a.dilation = r.Ints("dilation_rate", rank, a.dilation)
	}
	if r.err != nil {
		return a
	}
	for _, arg := range []struct {
		key string
		v   []int
	}{{kernelKey, a.kernel}, {"strides", a.strides}, {"dilation_rate", a.dilation}} {
		for _, n := range arg.v {
			r.check(n > 0, arg.key, "must be positive, got %v", arg.v)
		}
	}
	a.padding = strings.ToLower(r.String("padding", "valid"))
	switch {
	case a.padding == "valid", a.padding == "same":
	case causal:
		r.check(a.padding == "causal", "padding", `must be "valid", "same" or "causal", got %q`, a.padding)
	default:
		r.check(false, "padding", `must be "valid" or "same", got %q`, a.padding)
	}
	a.channelsFirst = r.channelsFirst()
	return a
}

// readChannelsFirst reads data_format; absent or null means channels_last,
// Keras's default image_data_format. A malformed value is a *ConfigError.
func readChannelsFirst(c kerasjson.Config) (bool, error) {
	r := &argReader{c: c}
	cf := r.channelsFirst()
	return cf, r.err
}

func (r *argReader) channelsFirst() bool {
	df := r.String("data_format", "channels_last")
	r.check(df == "channels_last" || df == "channels_first", "data_format", `must be "channels_last" or "channels_first", got %q`, df)
	return df == "channels_first"
}

func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// spatialAxes splits a layer input shape into batch, spatial dimensions and
// channels according to the data format.
func spatialAxes(shape []int, rank int, channelsFirst bool) (spatial []int, channels int, ok bool) {
	if len(shape) != rank+2 {
		return nil, 0, false
	}
	if channelsFirst {
		return shape[2:], shape[1], true
	}
	return shape[1 : rank+1], shape[rank+1], true
}

// joinAxes is the inverse of spatialAxes.
func joinAxes(batch int, spatial []int, channels int, channelsFirst bool) []int {
	s := []int{batch}
	if channelsFirst {
		s = append(s, channels)
		return append(s, spatial...)
	}
	s = append(s, spatial...)
	return append(s, channels)
}

// newWindow computes the output size and padding of a window over the
// given spatial input size (Keras/TensorFlow rules: "same" puts the odd
// extra padding after, "causal" pads only before).
func newWindow(a windowArgs, in []int) (window, error) {
	w := window{rank: a.rank}
	for i := 0; i < 3; i++ {
		w.in[i], w.out[i], w.k[i], w.stride[i], w.dil[i] = 1, 1, 1, 1, 1
	}
	off := 3 - a.rank
	for i := 0; i < a.rank; i++ {
		d := off + i
		w.in[d], w.k[d], w.stride[d], w.dil[d] = in[i], a.kernel[i], a.strides[i], a.dilation[i]
		if in[i] < 0 {
			// Unknown size (a fully convolutional model's Build): the
			// output size is unknown too; Forward sees the real one.
			w.out[d] = -1
			continue
		}
		if in[i] == 0 {
			return w, fmt.Errorf("spatial input size %v has a zero dimension", in)
		}
		n := in[i] // the size the padding rules see: after the zeros
		if a.zeros != nil {
			n += a.zeros[i][0] + a.zeros[i][1]
		}
		span := a.dilation[i]*(a.kernel[i]-1) + 1
		switch a.padding {
		case "valid":
			if n < span {
				return w, fmt.Errorf("input size %d is smaller than the window %d (padding valid)", n, span)
			}
			w.out[d] = (n-span)/a.strides[i] + 1
		case "same":
			w.out[d] = (n + a.strides[i] - 1) / a.strides[i]
			total := max((w.out[d]-1)*a.strides[i]+span-n, 0)
			w.padBefore[d] = total / 2
		case "causal":
			w.padBefore[d] = span - 1
			w.out[d] = (n-1)/a.strides[i] + 1
		}
		if a.zeros != nil {
			w.padBefore[d] += a.zeros[i][0]
		}
	}
	return w, nil
}

// outSpatial returns the layer's output spatial dimensions.
func (w *window) outSpatial() []int { return append([]int(nil), w.out[3-w.rank:]...) }

func (w *window) inSize() int  { return w.in[0] * w.in[1] * w.in[2] }
func (w *window) outSize() int { return w.out[0] * w.out[1] * w.out[2] }
func (w *window) taps() int    { return w.k[0] * w.k[1] * w.k[2] }

// identity reports whether the window maps each input position to the same
// output position (a 1x1 convolution with unit strides and no padding).
func (w *window) identity() bool {
	return w.k == [3]int{1, 1, 1} && w.stride == [3]int{1, 1, 1} && w.padBefore == [3]int{} && w.in == w.out
}

// planar reports whether the depth dimension is unused, so that the 2-D
// kernels of runtime/kernels apply.
func (w *window) planar() bool { return w.in[0] == 1 && w.k[0] == 1 && w.out[0] == 1 }

// forEachTap calls f for every output position o (flat index over out) and
// window tap t (flat index over k) whose input position lies inside the
// input, with the flat input index i. This is the reference loop of every
// windowed operation here; hot paths use the kernels instead.
func (w *window) forEachTap(f func(o, t, i int)) {
	o := 0
	for od := 0; od < w.out[0]; od++ {
		for oh := 0; oh < w.out[1]; oh++ {
			for ow := 0; ow < w.out[2]; ow++ {
				t := 0
				for kd := 0; kd < w.k[0]; kd++ {
					id := od*w.stride[0] + kd*w.dil[0] - w.padBefore[0]
					for kh := 0; kh < w.k[1]; kh++ {
						ih := oh*w.stride[1] + kh*w.dil[1] - w.padBefore[1]
						for kw := 0; kw < w.k[2]; kw++ {
							iw := ow*w.stride[2] + kw*w.dil[2] - w.padBefore[2]
							if id >= 0 && id < w.in[0] && ih >= 0 && ih < w.in[1] && iw >= 0 && iw < w.in[2] {
								f(o, t, (id*w.in[1]+ih)*w.in[2]+iw)
							}
							t++
						}
					}
				}
				o++
			}
		}
	}
}

// tapTable lists, for every output position and tap, the flat input index
// or -1 for padding: out*taps entries. Built once per call and shared by
// the batch, it turns the six nested loops into one table walk.
func (w *window) tapTable() []int32 {
	taps := w.taps()
	tab := make([]int32, w.outSize()*taps)
	for i := range tab {
		tab[i] = -1
	}
	w.forEachTap(func(o, t, i int) { tab[o*taps+t] = int32(i) })
	return tab
}

// toChannelsLast returns x (channels_first when cf) as channels_last data.
func toChannelsLast(x *runtime.Tensor, cf bool) []float32 {
	if !cf {
		return x.Data
	}
	return channelsToLast(x.Data, x.Shape)
}

// fromChannelsLast converts channels_last data to the layout of shape
// (channels_first when cf); shape is the target shape.
func fromChannelsLast(data []float32, shape []int, cf bool) []float32 {
	if !cf {
		return data
	}
	return channelsToFirst(data, shape)
}

// convOutput is the last stage of a convolution-like layer: the
// pre-activation z (channels_last, bias included) moved to the layer's
// data format, and the activation applied. It keeps what the backward pass
// needs.
type convOutput struct {
	shape []int // output shape in the layer's format
	cf    bool
	act   *activation
	z, y  []float32 // in the layer's format
}

func newConvOutput(zl []float32, shape []int, cf bool, act *activation) *convOutput {
	o := &convOutput{shape: shape, cf: cf, act: act}
	o.z = fromChannelsLast(zl, shape, cf)
	o.y = act.apply(o.z, shape[len(shape)-1])
	return o
}

func (o *convOutput) tensor() *runtime.Tensor { return &runtime.Tensor{Shape: o.shape, Data: o.y} }

// gradLast maps the output gradient to the gradient of the channels_last
// pre-activation.
func (o *convOutput) gradLast(gy []float32) []float32 {
	gz := activationGrad(o.act, o.z, o.y, gy, o.shape[len(o.shape)-1])
	if o.cf {
		return channelsToLast(gz, o.shape)
	}
	return gz
}

// addBias adds bias (c values) to every row of the channels_last data x.
func addBias(x, bias []float32) {
	c := len(bias)
	for off := 0; off+c <= len(x); off += c {
		for j, b := range bias {
			x[off+j] += b
		}
	}
}
