package layers

import (
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// randomCrop is keras.layers.RandomCrop. In training, an image batch
// larger than height×width in both dimensions is cropped to it at one
// offset, uniform over the possible ones, for the whole batch; otherwise
// Keras takes the centered crop of the target's aspect ratio, then
// resizes (bilinear) what it cut to height×width. At inference Keras 3
// returns the input unchanged (transform_images does nothing when not
// training), though compute_output_shape, and so Build, says height×width.
type randomCrop struct {
	height, width int
}

func init() { Register("RandomCrop", newRandomCrop, Supports{Inference: true, Training: true}) }

func newRandomCrop(spec *kerasjson.Layer) (Layer, error) {
	return newAugmentationLayer(spec, func(l *augmentation, r *argReader) (augmenter, error) {
		c := &randomCrop{height: r.Int("height", 0), width: r.Int("width", 0)}
		r.check(c.height > 0, "height", "want a positive integer, got %d", c.height)
		r.check(c.width > 0, "width", "want a positive integer, got %d", c.width)
		return c, nil
	})
}

func (c *randomCrop) outputShape(in []int, channelsFirst bool) []int {
	out := copyShape(in)
	ha, wa := imageAxes(channelsFirst)
	out[ha], out[wa] = c.height, c.width
	return out
}

// draw returns "h_start" and "w_start", one offset for the batch.
func (c *randomCrop) draw(r *rand.Rand, img imageShape) transformation {
	if img.h > c.height && img.w > c.width {
		// Keras: int(uniform(0, n - size + 1)).
		hs := int(uniform(r, 1, 0, float64(img.h-c.height+1))[0])
		ws := int(uniform(r, 1, 0, float64(img.w-c.width+1))[0])
		return transformation{"h_start": {float64(hs)}, "w_start": {float64(ws)}}
	}
	ch := max(min(img.h, int(float64(img.w*c.height)/float64(c.width))), 1)
	cw := max(min(img.w, int(float64(img.h*c.width)/float64(c.height))), 1)
	return transformation{"h_start": {float64(int(float64(img.h-ch) / 2))}, "w_start": {float64(int(float64(img.w-cw) / 2))}}
}

// apply slices [h_start, h_start+height) × [w_start, w_start+width), as
// far as the image reaches, and resizes the slice when it is smaller.
func (c *randomCrop) apply(ctx *runtime.Context, x *runtime.Tensor, img imageShape, t transformation) ([]*runtime.Tensor, runtime.Backward, error) {
	hs, ws := int(t["h_start"][0]), int(t["w_start"][0])
	ha, wa := imageAxes(img.channelsFirst)
	maps := make([][]int, 4)
	for a, n := range x.Shape {
		maps[a] = identityMap(n)
	}
	maps[ha] = maps[ha][min(hs, img.h):min(hs+c.height, img.h)]
	maps[wa] = maps[wa][min(ws, img.w):min(ws+c.width, img.w)]
	mid, back1, err := gatherForward(ctx, x, maps)
	if err != nil || (len(maps[ha]) == c.height && len(maps[wa]) == c.width) {
		return mid, back1, err
	}
	out, back2, err := resizeImages(ctx, mid[0], img.channelsFirst, c.height, c.width, "bilinear", false, false)
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
