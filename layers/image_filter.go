package layers

// filterImages correlates every channel of every image with the kh×kw
// kernel (row-major), zero-padded to the same size as TensorFlow's
// depthwise_conv2d with padding "SAME" (the extra row and column of an
// even kernel at the bottom and right): Keras's smoothing in
// RandomSharpness and ops.image.gaussian_blur.
func filterImages(x []float32, img imageShape, kernel []float32, kh, kw int) []float32 {
	y := make([]float32, len(x))
	walkFilter(img, kh, kw, func(o, i, k int) { y[o] += x[i] * kernel[k] })
	return y
}

// filterImagesGrad is the transpose of filterImages.
func filterImagesGrad(g []float32, img imageShape, kernel []float32, kh, kw int) []float32 {
	gx := make([]float32, len(g))
	walkFilter(img, kh, kw, func(o, i, k int) { gx[i] += g[o] * kernel[k] })
	return gx
}

// walkFilter calls f(output, input, kernel index) for every tap of the
// filter that falls inside the image.
func walkFilter(img imageShape, kh, kw int, f func(o, i, k int)) {
	top, left := (kh-1)/2, (kw-1)/2
	for b := range img.n {
		for ch := range img.c {
			for oy := range img.h {
				for ox := range img.w {
					o := img.offset(b, oy*img.w+ox, ch)
					for ky := range kh {
						iy := oy + ky - top
						if iy < 0 || iy >= img.h {
							continue
						}
						for kx := range kw {
							if ix := ox + kx - left; ix >= 0 && ix < img.w {
								f(o, img.offset(b, iy*img.w+ix, ch), ky*kw+kx)
							}
						}
					}
				}
			}
		}
	}
}
