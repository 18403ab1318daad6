package layers

import "math"

// Image resizing as TensorFlow's tf.image.resize computes it (half-pixel
// centers, no antialiasing), on channels-last (N, H, W, C) data. Keras 3's
// UpSampling2D(interpolation="bilinear"), Resizing and CenterCrop use it.

// bilinearTaps holds, per output position, the two input indexes and the
// weight of the second.
type bilinearTaps struct {
	lo, hi []int
	frac   []float32
}

// bilinearAxis computes TensorFlow's ResizeBilinear interpolation along one
// axis with half-pixel centers: in = (o + 0.5) * (inLen/outLen) - 0.5, in
// float32 as TensorFlow does.
func bilinearAxis(inLen, outLen int) bilinearTaps {
	t := bilinearTaps{lo: make([]int, outLen), hi: make([]int, outLen), frac: make([]float32, outLen)}
	scale := float32(inLen) / float32(outLen)
	for o := range outLen {
		in := (float32(o)+0.5)*scale - 0.5
		f := float32(math.Floor(float64(in)))
		t.lo[o] = max(int(f), 0)
		t.hi[o] = min(int(math.Ceil(float64(in))), inLen-1)
		t.frac[o] = in - f
	}
	return t
}

// resizeBilinear resizes (n, h, w, c) data to (n, oh, ow, c).
func resizeBilinear(x []float32, n, h, w, c, oh, ow int) []float32 {
	ty, tx := bilinearAxis(h, oh), bilinearAxis(w, ow)
	out := make([]float32, n*oh*ow*c)
	for b := range n {
		img := x[b*h*w*c:]
		for oy := range oh {
			y0, y1, fy := ty.lo[oy], ty.hi[oy], ty.frac[oy]
			for ox := range ow {
				x0, x1, fx := tx.lo[ox], tx.hi[ox], tx.frac[ox]
				dst := out[((b*oh+oy)*ow+ox)*c:][:c]
				for ch := range dst {
					tl, tr := img[(y0*w+x0)*c+ch], img[(y0*w+x1)*c+ch]
					bl, br := img[(y1*w+x0)*c+ch], img[(y1*w+x1)*c+ch]
					top := tl + (tr-tl)*fx
					bot := bl + (br-bl)*fx
					dst[ch] = top + (bot-top)*fy
				}
			}
		}
	}
	return out
}

// resizeBilinearGrad is the gradient of resizeBilinear.
func resizeBilinearGrad(g []float32, n, h, w, c, oh, ow int) []float32 {
	ty, tx := bilinearAxis(h, oh), bilinearAxis(w, ow)
	gx := make([]float32, n*h*w*c)
	for b := range n {
		img := gx[b*h*w*c:]
		for oy := range oh {
			y0, y1, fy := ty.lo[oy], ty.hi[oy], ty.frac[oy]
			for ox := range ow {
				x0, x1, fx := tx.lo[ox], tx.hi[ox], tx.frac[ox]
				src := g[((b*oh+oy)*ow+ox)*c:][:c]
				for ch, v := range src {
					img[(y0*w+x0)*c+ch] += v * (1 - fy) * (1 - fx)
					img[(y0*w+x1)*c+ch] += v * (1 - fy) * fx
					img[(y1*w+x0)*c+ch] += v * fy * (1 - fx)
					img[(y1*w+x1)*c+ch] += v * fy * fx
				}
			}
		}
	}
	return gx
}

// nearestAxis computes TensorFlow's ResizeNearestNeighbor source index
// along one axis with half-pixel centers: floor((o + 0.5) * inLen/outLen),
// clamped to the input.
func nearestAxis(inLen, outLen int) []int {
	m := make([]int, outLen)
	scale := float32(inLen) / float32(outLen)
	for o := range m {
		m[o] = min(int(math.Floor(float64((float32(o)+0.5)*scale))), inLen-1)
	}
	return m
}
