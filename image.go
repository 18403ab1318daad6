package kerasrun

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"slices"

	// The decoders load_img reads through PIL: PNG, JPEG and GIF from the
	// standard library, BMP, TIFF and WebP from golang.org/x/image.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/kerasrun/kerasrun/runtime"
)

// ImageOptions are the arguments of keras.utils.load_img and
// img_to_array: how an image file becomes a model input.
type ImageOptions struct {
	// Height and Width are load_img's target_size; 0 keeps the image's
	// own size.
	Height, Width int
	// ColorMode is "rgb" (the default), "grayscale" or "rgba".
	ColorMode string
	// DataFormat is "channels_last" (the default) or "channels_first".
	DataFormat string
	// Interpolation is load_img's: "nearest", its default, is the one
	// supported.
	Interpolation string
	// KeepAspectRatio crops the image's centre to the target's aspect
	// ratio before resizing, as load_img(keep_aspect_ratio=True).
	KeepAspectRatio bool
}

func (o ImageOptions) normalized() (ImageOptions, error) {
	if o.ColorMode == "" {
		o.ColorMode = "rgb"
	}
	if o.DataFormat == "" {
		o.DataFormat = "channels_last"
	}
	if o.Interpolation == "" {
		o.Interpolation = "nearest"
	}
	switch {
	case o.ColorMode != "rgb" && o.ColorMode != "grayscale" && o.ColorMode != "rgba":
		return o, fmt.Errorf("kerasrun: color mode %q: want \"grayscale\", \"rgb\" or \"rgba\"", o.ColorMode)
	case o.DataFormat != "channels_last" && o.DataFormat != "channels_first":
		return o, fmt.Errorf("kerasrun: data format %q: want \"channels_last\" or \"channels_first\"", o.DataFormat)
	case o.Interpolation != "nearest":
		return o, fmt.Errorf("kerasrun: interpolation %q is not supported: only load_img's default, \"nearest\"", o.Interpolation)
	case o.Height < 0 || o.Width < 0 || (o.Height == 0) != (o.Width == 0):
		return o, fmt.Errorf("kerasrun: target size %dx%d: give both height and width, or neither", o.Height, o.Width)
	}
	return o, nil
}

// channels is the channel count of a color mode.
func channels(mode string) int {
	switch mode {
	case "grayscale":
		return 1
	case "rgba":
		return 4
	}
	return 3
}

// ImageOptions returns the options that turn an image into the model's
// input named input ("" for the only one): the target size from the
// input's shape, the color mode from its channel count (1 grayscale, 3
// rgb, 4 rgba) and the data format from where the channels are (last, as
// Keras's default, unless only the first axis can hold them).
func (m *Model) ImageOptions(input string) (ImageOptions, error) {
	i := 0
	if input != "" || len(m.net.InputNames) != 1 {
		i = -1
		for k, n := range m.net.InputNames {
			if n == input {
				i = k
			}
		}
		if i < 0 {
			return ImageOptions{}, fmt.Errorf("kerasrun: %s: no input named %q (inputs: %s)", m.info.Path, input, quoteAll(m.net.InputNames))
		}
	}
	shape := m.net.InputShapes[i]
	name := m.net.InputNames[i]
	if len(shape) != 4 {
		return ImageOptions{}, fmt.Errorf("kerasrun: %s: input %q has shape %s: an image input has shape (batch, height, width, channels) or (batch, channels, height, width)", m.info.Path, name, runtime.FormatShape(shape))
	}
	isChannels := func(d int) bool { return d == 1 || d == 3 || d == 4 }
	o := ImageOptions{DataFormat: "channels_last", Height: shape[1], Width: shape[2]}
	c := shape[3]
	if !isChannels(c) && isChannels(shape[1]) {
		o = ImageOptions{DataFormat: "channels_first", Height: shape[2], Width: shape[3]}
		c = shape[1]
	}
	switch c {
	case 1:
		o.ColorMode = "grayscale"
	case 3:
		o.ColorMode = "rgb"
	case 4:
		o.ColorMode = "rgba"
	default:
		return ImageOptions{}, fmt.Errorf("kerasrun: %s: input %q has shape %s: neither its first nor its last axis holds 1, 3 or 4 channels", m.info.Path, name, runtime.FormatShape(shape))
	}
	if o.Height < 0 || o.Width < 0 {
		o.Height, o.Width = 0, 0 // any size: the image's own
	}
	return o, nil
}

// LoadImage decodes the image file at path (PNG, JPEG, GIF, BMP, TIFF or
// WebP, told by its content) and converts it as
// img_to_array(load_img(path, ...)) does.
func LoadImage(path string, opts ImageOptions) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := DecodeImage(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// maxImagePixels is PIL's Image.MAX_IMAGE_PIXELS times two, the size at
// which PIL refuses an image as a decompression bomb.
const maxImagePixels = 2 * 89478485

// maxImageBytes bounds an image file read into memory.
const maxImageBytes = 1 << 30

// DecodeImage decodes an image from r and converts it as LoadImage does.
func DecodeImage(r io.Reader, opts ImageOptions) (*Tensor, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImageBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImageBytes {
		return nil, fmt.Errorf("the image file exceeds %d bytes", maxImageBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not an image kerasrun decodes (PNG, JPEG, GIF, BMP, TIFF, WebP): %v", err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, fmt.Errorf("%s image of %dx%d pixels exceeds the limit of %d pixels", format, cfg.Width, cfg.Height, maxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", format, err)
	}
	return ImageToTensor(img, opts)
}

// LoadImages loads every file in paths as LoadImage does and stacks them
// into one batch; they must convert to the same shape (give a target
// size for images of different sizes).
func LoadImages(paths []string, opts ImageOptions) (*Tensor, error) {
	var batch *Tensor
	for _, p := range paths {
		t, err := LoadImage(p, opts)
		if err != nil {
			return nil, err
		}
		if batch == nil {
			batch = &Tensor{Shape: append([]int{0}, t.Shape...), Data: make([]float32, 0, len(paths)*len(t.Data))}
		} else if !slices.Equal(batch.Shape[1:], t.Shape) {
			return nil, fmt.Errorf("%s: the image converts to shape %s, %s to %s: images of one batch need one size (a target size resizes them)", p, runtime.FormatShape(t.Shape), paths[0], runtime.FormatShape(batch.Shape[1:]))
		}
		batch.Shape[0]++
		batch.Data = append(batch.Data, t.Data...)
	}
	if batch == nil {
		return nil, fmt.Errorf("kerasrun: LoadImages: no files")
	}
	return batch, nil
}

// ImageToTensor converts a decoded image as Keras's img_to_array of
// load_img does, with PIL's conversions: color mode first (PIL's
// convert: "L" by ITU-R 601-2 luma in PIL's fixed point, alpha dropped
// for "rgb", 16-bit samples reduced to their high byte as PIL's PNG
// reader does, and a 16-bit grayscale image kept 16-bit in grayscale
// mode as load_img keeps PIL's "I;16"), then resizing to the target size
// by PIL's nearest neighbour, then float32 values 0..255 (no rescaling)
// in (height, width, channels) or (channels, height, width).
func ImageToTensor(img image.Image, opts ImageOptions) (*Tensor, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("kerasrun: the image is empty (%dx%d)", w, h)
	}
	ow, oh := w, h
	box := [4]float64{0, 0, float64(w), float64(h)}
	if opts.Height > 0 && (opts.Width != w || opts.Height != h) {
		ow, oh = opts.Width, opts.Height
		if opts.KeepAspectRatio {
			cropH := min(h, w*oh/ow)
			cropW := min(w, h*ow/oh)
			x0, y0 := (w-cropW)/2, (h-cropH)/2
			box = [4]float64{float64(x0), float64(y0), float64(x0 + cropW), float64(y0 + cropH)}
		}
	}
	xs := nearestIndex(box[0], box[2], w, ow)
	ys := nearestIndex(box[1], box[3], h, oh)
	c := channels(opts.ColorMode)
	px := pixelReader(img, opts.ColorMode)
	out := make([]float32, oh*ow*c)
	var v [4]float32
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			if xs[x] < 0 || ys[y] < 0 {
				continue // outside the source: PIL fills 0
			}
			px(b.Min.X+xs[x], b.Min.Y+ys[y], &v)
			for k := 0; k < c; k++ {
				if opts.DataFormat == "channels_first" {
					out[(k*oh+y)*ow+x] = v[k]
				} else {
					out[(y*ow+x)*c+k] = v[k]
				}
			}
		}
	}
	shape := []int{oh, ow, c}
	if opts.DataFormat == "channels_first" {
		shape = []int{c, oh, ow}
	}
	return &Tensor{Shape: shape, Data: out}, nil
}

// nearestIndex maps each of n output columns to a source column as PIL's
// ImagingScaleAffine does for resize(NEAREST) over the box [lo, hi) of a
// size-wide source: the centre of output pixel i, lo + (i+0.5)*scale,
// accumulated step by step in float64 as PIL adds it, truncated; -1
// outside the source.
func nearestIndex(lo, hi float64, size, n int) []int {
	idx := make([]int, n)
	if n == size && lo == 0 && hi == float64(size) {
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	scale := (hi - lo) / float64(n)
	pos := lo + scale*0.5
	for i := range idx {
		j := -1
		if pos >= 0 {
			j = int(pos)
		}
		if j >= size {
			j = -1
		}
		idx[i] = j
		pos += scale
	}
	return idx
}

// pixelReader returns a function writing the channels of pixel (x, y) in
// the color mode, as PIL's convert to "L", "RGB" or "RGBA" gives them.
func pixelReader(img image.Image, mode string) func(x, y int, v *[4]float32) {
	// rgba8 reads the straight (not premultiplied) 8-bit RGBA PIL holds.
	var rgba8 func(x, y int) (r, g, b, a uint8)
	switch im := img.(type) {
	case *image.Gray:
		if mode == "grayscale" {
			return func(x, y int, v *[4]float32) { v[0] = float32(im.GrayAt(x, y).Y) }
		}
		rgba8 = func(x, y int) (uint8, uint8, uint8, uint8) {
			g := im.GrayAt(x, y).Y
			return g, g, g, 255
		}
	case *image.Gray16:
		if mode == "grayscale" {
			// load_img keeps PIL's "I;16" as it is.
			return func(x, y int, v *[4]float32) { v[0] = float32(im.Gray16At(x, y).Y) }
		}
		// PIL's I;16 -> RGB clips to 255.
		rgba8 = func(x, y int) (uint8, uint8, uint8, uint8) {
			g := uint8(min(im.Gray16At(x, y).Y, 255))
			return g, g, g, 255
		}
	case *image.NRGBA:
		rgba8 = func(x, y int) (uint8, uint8, uint8, uint8) {
			c := im.NRGBAAt(x, y)
			return c.R, c.G, c.B, c.A
		}
	case *image.NRGBA64:
		rgba8 = func(x, y int) (uint8, uint8, uint8, uint8) {
			c := im.NRGBA64At(x, y)
			return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8), uint8(c.A >> 8)
		}
	case *image.Paletted:
		pal := make([][4]uint8, len(im.Palette))
		for i, c := range im.Palette {
			pal[i] = straight(c)
		}
		rgba8 = func(x, y int) (uint8, uint8, uint8, uint8) {
			i := int(im.ColorIndexAt(x, y))
			if i >= len(pal) {
				return 0, 0, 0, 255
			}
			p := pal[i]
			return p[0], p[1], p[2], p[3]
		}
	case *image.YCbCr:
		rgb := jpegRGB(im)
		w := im.Rect.Dx()
		rgba8 = func(x, y int) (uint8, uint8, uint8, uint8) {
			o := ((y-im.Rect.Min.Y)*w + (x - im.Rect.Min.X)) * 3
			return rgb[o], rgb[o+1], rgb[o+2], 255
		}
	default:
		rgba8 = func(x, y int) (uint8, uint8, uint8, uint8) {
			p := straight(img.At(x, y))
			return p[0], p[1], p[2], p[3]
		}
	}
	switch mode {
	case "grayscale":
		return func(x, y int, v *[4]float32) {
			r, g, b, _ := rgba8(x, y)
			v[0] = float32(luma(r, g, b))
		}
	case "rgba":
		return func(x, y int, v *[4]float32) {
			r, g, b, a := rgba8(x, y)
			v[0], v[1], v[2], v[3] = float32(r), float32(g), float32(b), float32(a)
		}
	}
	return func(x, y int, v *[4]float32) {
		r, g, b, _ := rgba8(x, y)
		v[0], v[1], v[2] = float32(r), float32(g), float32(b)
	}
}

// straight is a color as 8-bit straight RGBA: the stored values of the
// non-premultiplied types, the others un-premultiplied.
func straight(c color.Color) [4]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [4]uint8{c.R, c.G, c.B, c.A}
	case color.RGBA:
		if c.A == 255 {
			return [4]uint8{c.R, c.G, c.B, 255}
		}
	case color.Gray:
		return [4]uint8{c.Y, c.Y, c.Y, 255}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [4]uint8{n.R, n.G, n.B, n.A}
}

// luma is PIL's RGB -> L: ITU-R 601-2 in 16-bit fixed point, rounded.
func luma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}
