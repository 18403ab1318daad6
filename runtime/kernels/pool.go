package kernels

import "math"

// PoolParams describes a 2-D pooling window over an NHWC batch. Zero strides
// mean the pool size (Keras's default).
type PoolParams struct {
	Batch, InH, InW, C int
	PoolH, PoolW       int
	StrideH, StrideW   int
	PadTop, PadBottom  int
	PadLeft, PadRight  int
}

func (p PoolParams) norm() PoolParams {
	if p.StrideH <= 0 {
		p.StrideH = p.PoolH
	}
	if p.StrideW <= 0 {
		p.StrideW = p.PoolW
	}
	return p
}

// OutH returns the output height.
func (p PoolParams) OutH() int {
	p = p.norm()
	return outSize(p.InH, p.PoolH, p.StrideH, 1, p.PadTop, p.PadBottom)
}

// OutW returns the output width.
func (p PoolParams) OutW() int {
	p = p.norm()
	return outSize(p.InW, p.PoolW, p.StrideW, 1, p.PadLeft, p.PadRight)
}

// MaxPool2D writes to out (Batch, OutH, OutW, C) the maximum of each window
// of in (Batch, InH, InW, C); padded positions are ignored. A window lying
// wholly in the padding gives -Inf.
func MaxPool2D(p PoolParams, in, out []float32) { pool2D(p, in, out, false) }

// AvgPool2D writes to out (Batch, OutH, OutW, C) the mean of each window of
// in (Batch, InH, InW, C) over the positions inside the input, as Keras does
// for padding="same" (padded positions are not counted).
func AvgPool2D(p PoolParams, in, out []float32) { pool2D(p, in, out, true) }

func pool2D(p PoolParams, in, out []float32, avg bool) {
	p = p.norm()
	oh, ow, c := p.OutH(), p.OutW(), p.C
	if len(in) < p.Batch*p.InH*p.InW*c || len(out) < p.Batch*oh*ow*c {
		panic("kernels: pool2D: input or output too short")
	}
	for n := 0; n < p.Batch; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				o := out[((n*oh+y)*ow+x)*c : ((n*oh+y)*ow+x+1)*c]
				if avg {
					clear(o)
				} else {
					for i := range o {
						o[i] = float32(math.Inf(-1))
					}
				}
				count := 0
				for ky := 0; ky < p.PoolH; ky++ {
					iy := y*p.StrideH + ky - p.PadTop
					if iy < 0 || iy >= p.InH {
						continue
					}
					for kx := 0; kx < p.PoolW; kx++ {
						ix := x*p.StrideW + kx - p.PadLeft
						if ix < 0 || ix >= p.InW {
							continue
						}
						src := in[((n*p.InH+iy)*p.InW+ix)*c : ((n*p.InH+iy)*p.InW+ix+1)*c]
						count++
						if avg {
							for i, v := range src {
								o[i] += v
							}
						} else {
							for i, v := range src {
								if v > o[i] || v != v {
									o[i] = v
								}
							}
						}
					}
				}
				if avg && count > 0 {
					inv := 1 / float32(count)
					for i := range o {
						o[i] *= inv
					}
				}
			}
		}
	}
}
