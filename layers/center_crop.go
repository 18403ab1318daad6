package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// CenterCrop is keras.layers.CenterCrop: crops the center height×width
// of (batch, H, W, C) images (or channels_first); an image smaller than
// the target in either dimension is instead cropped to the target aspect
// ratio and resized bilinearly (Keras's smart_resize).
type CenterCrop struct {
	Base
	Height, Width int
	ChannelsFirst bool
}

func init() { Register("CenterCrop", newCenterCrop, Supports{Inference: true, Training: true}) }

func newCenterCrop(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &CenterCrop{Base: b}
	if l.Height, l.Width, l.ChannelsFirst, err = readImageSize(&l.Base, spec.Config); err != nil {
		return nil, err
	}
	return l, nil
}

// Build returns the cropped shape.
func (l *CenterCrop) Build(in [][]int) ([][]int, error) {
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
func (l *CenterCrop) Weights() []*runtime.Variable { return nil }

// Forward crops, or smart-resizes small images.
func (l *CenterCrop) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	if x.Rank() != 4 {
		return nil, nil, ShapeError(&l.Base, "expects a rank 4 image batch, got %s", runtime.FormatShape(x.Shape))
	}
	ha, wa := imageAxes(l.ChannelsFirst)
	h, w := x.Shape[ha], x.Shape[wa]
	if h < l.Height || w < l.Width {
		return resizeImages(ctx, x, l.ChannelsFirst, l.Height, l.Width, "bilinear", true, false)
	}
	maps := make([][]int, 4)
	for a, n := range x.Shape {
		maps[a] = identityMap(n)
	}
	hs, ws := (h-l.Height)/2, (w-l.Width)/2
	maps[ha], maps[wa] = maps[ha][hs:hs+l.Height], maps[wa][ws:ws+l.Width]
	return gatherForward(ctx, x, maps)
}
