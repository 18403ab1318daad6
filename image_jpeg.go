package kerasrun

import "image"

// jpegRGB converts a decoded JPEG's YCbCr planes to 8-bit RGB (3 bytes a
// pixel, row-major) as libjpeg, the decoder behind PIL, does by default:
// chroma subsampled 2:1 horizontally (4:2:2) or both ways (4:2:0) is
// upsampled by libjpeg's "fancy" triangle filter (jdsample.c's
// h2v1_fancy_upsample, h2v2_fancy_upsample; plain replication when the
// chroma plane is 2 samples wide or less, as there), then converted with
// libjpeg's fixed-point tables (jdcolor.c's ycc_rgb_convert). Other
// subsamplings replicate chroma as Go's image.YCbCr does. The DCT itself
// is Go's image/jpeg's, not libjpeg's islow; their samples may differ by
// one level.
func jpegRGB(im *image.YCbCr) []uint8 {
	w, h := im.Rect.Dx(), im.Rect.Dy()
	cb := upsampleChroma(im, im.Cb, w, h)
	cr := upsampleChroma(im, im.Cr, w, h)
	out := make([]uint8, w*h*3)
	for y := 0; y < h; y++ {
		yrow := im.Y[(y)*im.YStride:]
		for x := 0; x < w; x++ {
			r, g, b := yccToRGB(yrow[x], cb[y*w+x], cr[y*w+x])
			o := (y*w + x) * 3
			out[o], out[o+1], out[o+2] = r, g, b
		}
	}
	return out
}

// yccToRGB is libjpeg's ycc_rgb_convert for one pixel: 16-bit fixed
// point, FIX(1.40200) = 91881, FIX(1.77200) = 116130, FIX(0.71414) =
// 46802, FIX(0.34414) = 22554, rounded by adding one half before the
// arithmetic shift.
func yccToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	const half = 1 << 15
	yy := int32(y)
	cbx, crx := int32(cb)-128, int32(cr)-128
	r := yy + (91881*crx+half)>>16
	g := yy + (-22554*cbx+half-46802*crx)>>16
	b := yy + (116130*cbx+half)>>16
	return clamp8(r), clamp8(g), clamp8(b)
}

func clamp8(v int32) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// upsampleChroma returns one chroma plane at full resolution (w*h).
func upsampleChroma(im *image.YCbCr, plane []uint8, w, h int) []uint8 {
	out := make([]uint8, w*h)
	cw, ch := w, h
	switch im.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		cw = (w + 1) / 2
	case image.YCbCrSubsampleRatio420:
		cw, ch = (w+1)/2, (h+1)/2
	case image.YCbCrSubsampleRatio444:
	}
	if (im.SubsampleRatio != image.YCbCrSubsampleRatio444 && cw == w && ch == h) || im.Rect.Min != (image.Point{}) {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out[y*w+x] = plane[im.COffset(im.Rect.Min.X+x, im.Rect.Min.Y+y)]
			}
		}
		return out
	}
	at := func(x, y int) int32 { return int32(plane[y*im.CStride+x]) }
	row := make([]uint8, 2*cw)
	for y := 0; y < h; y++ {
		switch {
		case im.SubsampleRatio == image.YCbCrSubsampleRatio444:
			copy(out[y*w:(y+1)*w], plane[y*im.CStride:])
			continue
		case cw <= 2:
			// libjpeg upsamples so narrow a plane by replication.
			cy := y
			if ch != h {
				cy = y / 2
			}
			for x := 0; x < w; x++ {
				out[y*w+x] = plane[cy*im.CStride+x/2]
			}
			continue
		case ch == h: // h2v1: 3/4 of the nearer sample, 1/4 of the further
			row[0] = uint8(at(0, y))
			row[1] = uint8((at(0, y)*3 + at(1, y) + 2) >> 2)
			for c := 1; c < cw-1; c++ {
				v := at(c, y) * 3
				row[2*c] = uint8((v + at(c-1, y) + 1) >> 2)
				row[2*c+1] = uint8((v + at(c+1, y) + 2) >> 2)
			}
			v := at(cw-1, y)
			row[2*cw-2] = uint8((v*3 + at(cw-2, y) + 1) >> 2)
			row[2*cw-1] = uint8(v)
		default: // h2v2: the same across, 3/4 nearer row and 1/4 the other
			cy := y / 2
			other := cy - 1 // the row above for the upper output row
			if y%2 == 1 {
				other = cy + 1
			}
			other = max(0, min(other, ch-1)) // libjpeg replicates the edge rows
			sum := func(c int) int32 { return at(c, cy)*3 + at(c, other) }
			this, next := sum(0), sum(1)
			row[0] = uint8((this*4 + 8) >> 4)
			row[1] = uint8((this*3 + next + 7) >> 4)
			last := this
			this = next
			for c := 1; c < cw-1; c++ {
				next = sum(c + 1)
				row[2*c] = uint8((this*3 + last + 8) >> 4)
				row[2*c+1] = uint8((this*3 + next + 7) >> 4)
				last, this = this, next
			}
			row[2*cw-2] = uint8((this*3 + last + 8) >> 4)
			row[2*cw-1] = uint8((this*4 + 7) >> 4)
		}
		copy(out[y*w:(y+1)*w], row)
	}
	return out
}
