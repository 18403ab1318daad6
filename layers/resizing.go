package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Resizing is keras.layers.Resizing: resizes (batch, H, W, C) images (or
// channels_first) to (height, width) as tf.image.resize does, with
// "bilinear" or "nearest" interpolation (no antialiasing), optionally
// after cropping to the target aspect ratio (crop_to_aspect_ratio) or
// zero-padding to it (pad_to_aspect_ratio with fill_value 0).
type Resizing struct {
	Base
	Height, Width int
	Interpolation string
	CropToAspect  bool
	PadToAspect   bool
	ChannelsFirst bool
}

func init() { Register("Resizing", newResizing, Supports{Inference: true, Training: true}) }

// readImageSize reads height, width and data_format.
func readImageSize(b *Base, c kerasjson.Config) (h, w int, channelsFirst bool, err error) {
	if h, err = c.Int("height", 0); err != nil {
		return
	}
	if w, err = c.Int("width", 0); err != nil {
		return
	}
	if h <= 0 || w <= 0 {
		return 0, 0, false, ShapeError(b, "height and width must be positive, got %d and %d", h, w)
	}
	df, err := c.String("data_format", "channels_last")
	if err != nil {
		return
	}
	return h, w, df == "channels_first", nil
}

func newResizing(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Resizing{Base: b}
	c := spec.Config
	if l.Height, l.Width, l.ChannelsFirst, err = readImageSize(&l.Base, c); err != nil {
		return nil, err
	}
	if l.Interpolation, err = c.String("interpolation", "bilinear"); err != nil {
		return nil, err
	}
	if l.Interpolation != "bilinear" && l.Interpolation != "nearest" {
		return nil, ShapeError(&l.Base, "interpolation %q is not supported (bilinear and nearest are)", l.Interpolation)
	}
	if l.CropToAspect, err = c.Bool("crop_to_aspect_ratio", false); err != nil {
		return nil, err
	}
	if l.PadToAspect, err = c.Bool("pad_to_aspect_ratio", false); err != nil {
		return nil, err
	}
	if fill, err := c.Float("fill_value", 0); err != nil {
		return nil, err
	} else if l.PadToAspect && fill != 0 {
		return nil, ShapeError(&l.Base, "pad_to_aspect_ratio with fill_value %v is not supported", fill)
	}
	if aa, err := c.Bool("antialias", false); err != nil {
		return nil, err
	} else if aa {
		return nil, ShapeError(&l.Base, "antialias=True is not supported")
	}
	return l, nil
}

// imageAxes returns the height and width axes.
func imageAxes(channelsFirst bool) (int, int) {
	if channelsFirst {
		return 2, 3
	}
	return 1, 2
}

// Build returns the resized shape.
func (l *Resizing) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	if len(s) != 4 {
		return nil, ShapeError(&l.Base, "expects a rank 4 image batch, got %s", runtime.FormatShape(s))
	}
	ha, wa := imageAxes(l.ChannelsFirst)
	out := copyShape(s)
	out[ha], out[wa] = l.Height, l.Width
	return [][]int{out}, nil
}

// Weights returns none.
func (l *Resizing) Weights() []*runtime.Variable { return nil }

// aspectMaps returns the index maps that crop (or pad with zeros) an
// h×w image to the target aspect ratio, as Keras's TensorFlow resize does
// before resizing.
func aspectMaps(h, w, th, tw int, crop, pad bool) (hm, wm []int) {
	hm, wm = identityMap(h), identityMap(w)
	switch {
	case crop:
		ch := max(min(h, int(float32(w*th)/float32(tw))), 1)
		cw := max(min(w, int(float32(h*tw)/float32(th))), 1)
		hs, ws := int(float32(h-ch)/2), int(float32(w-cw)/2)
		hm, wm = hm[hs:hs+ch], wm[ws:ws+cw]
	case pad:
		ph := max(h, int(float32(w*th)/float32(tw)))
		pw := max(w, int(float32(h*tw)/float32(th)))
		hs, ws := int(float32(ph-h)/2), int(float32(pw-w)/2)
		// Keras pads hs rows (ws columns) on both sides.
		hm = append(append(repeatInt(-1, hs), hm...), repeatInt(-1, hs)...)
		wm = append(append(repeatInt(-1, ws), wm...), repeatInt(-1, ws)...)
	}
	return hm, wm
}

// Forward crops or pads to the aspect ratio if asked, then resizes.
func (l *Resizing) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() != 4 {
		return nil, nil, ShapeError(&l.Base, "expects a rank 4 image batch, got %s", runtime.FormatShape(x.Shape))
	}
	return resizeImages(ctx, x, l.ChannelsFirst, l.Height, l.Width, l.Interpolation, l.CropToAspect, l.PadToAspect)
}

// resizeImages is the body of Resizing and CenterCrop's smart resize.
func resizeImages(ctx *runtime.Context, x *runtime.Tensor, channelsFirst bool, th, tw int, interp string, crop, pad bool) ([]*runtime.Tensor, runtime.Backward, error) {
	ha, wa := imageAxes(channelsFirst)
	maps := make([][]int, 4)
	for a, n := range x.Shape {
		maps[a] = identityMap(n)
	}
	maps[ha], maps[wa] = aspectMaps(x.Shape[ha], x.Shape[wa], th, tw, crop, pad)
	if interp == "nearest" {
		maps[ha] = composeMap(maps[ha], nearestAxis(len(maps[ha]), th))
		maps[wa] = composeMap(maps[wa], nearestAxis(len(maps[wa]), tw))
		return gatherForward(ctx, x, maps)
	}
	mid, back1, err := gatherForward(ctx, x, maps)
	if err != nil {
		return nil, nil, err
	}
	out, back2, err := resizeForward(ctx, mid[0], channelsFirst, th, tw)
	if err != nil || back2 == nil {
		return out, nil, err
	}
	return out, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gm, err := back2(g)
		if err != nil {
			return nil, err
		}
		return back1(gm)
	}, nil
}

// composeMap returns outer[inner[i]].
func composeMap(outer, inner []int) []int {
	m := make([]int, len(inner))
	for i, j := range inner {
		m[i] = outer[j]
	}
	return m
}
