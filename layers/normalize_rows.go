package layers

import (
	"math"

	"github.com/kerasrun/kerasrun/runtime"
)

// Shared arithmetic of the normalization layers. Each layer permutes its
// input so that every group of elements normalized together is one
// contiguous row, then uses these helpers.

// rowMoments returns the mean and population variance of each row.
func rowMoments(x []float32, rowLen int) (mean, variance []float64) {
	rows := len(x) / rowLen
	mean = make([]float64, rows)
	variance = make([]float64, rows)
	for r := range rows {
		row := x[r*rowLen : (r+1)*rowLen]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		m := s / float64(rowLen)
		var ss float64
		for _, v := range row {
			d := float64(v) - m
			ss += d * d
		}
		mean[r], variance[r] = m, ss/float64(rowLen)
	}
	return mean, variance
}

// affineIndex maps (row, position in row) to the index of gamma and beta.
type affineIndex func(row, i int) int

// normalizeRows computes xhat = (x - mean[row]) * inv[row] and
// y = xhat * gamma + beta (gamma, beta optional), returning y and xhat.
func normalizeRows(x []float32, rowLen int, mean, inv []float64, gamma, beta []float32, idx affineIndex) (y, xhat []float32) {
	y = make([]float32, len(x))
	xhat = make([]float32, len(x))
	for r := range mean {
		for i := 0; i < rowLen; i++ {
			p := r*rowLen + i
			h := (float64(x[p]) - mean[r]) * inv[r]
			xhat[p] = float32(h)
			if gamma != nil {
				h *= float64(gamma[idx(r, i)])
			}
			if beta != nil {
				h += float64(beta[idx(r, i)])
			}
			y[p] = float32(h)
		}
	}
	return y, xhat
}

// invStd returns 1/sqrt(variance + epsilon) per row.
func invStd(variance []float64, epsilon float64) []float64 {
	inv := make([]float64, len(variance))
	for r, v := range variance {
		inv[r] = 1 / math.Sqrt(v+epsilon)
	}
	return inv
}

// affineGrads accumulates dL/dgamma = sum g*xhat and dL/dbeta = sum g
// (either may be nil) and returns gh = dL/dxhat = g*gamma.
func affineGrads(g, xhat []float32, rowLen int, gamma []float32, idx affineIndex, dGamma, dBeta []float32) []float32 {
	gh := make([]float32, len(g))
	for p, gv := range g {
		r, i := p/rowLen, p%rowLen
		k := 0
		if gamma != nil || dGamma != nil || dBeta != nil {
			k = idx(r, i)
		}
		if dGamma != nil {
			dGamma[k] += gv * xhat[p]
		}
		if dBeta != nil {
			dBeta[k] += gv
		}
		if gamma != nil {
			gv *= gamma[k]
		}
		gh[p] = gv
	}
	return gh
}

// normalizeRowsGrad maps dL/dxhat to dL/dx when mean and variance are the
// rows' own statistics: inv * (gh - mean(gh) - xhat * mean(gh*xhat)).
func normalizeRowsGrad(gh, xhat []float32, rowLen int, inv []float64) []float32 {
	gx := make([]float32, len(gh))
	n := float64(rowLen)
	for r := range inv {
		var sg, sgx float64
		for p := r * rowLen; p < (r+1)*rowLen; p++ {
			sg += float64(gh[p])
			sgx += float64(gh[p]) * float64(xhat[p])
		}
		for p := r * rowLen; p < (r+1)*rowLen; p++ {
			gx[p] = float32(inv[r] * (float64(gh[p]) - sg/n - float64(xhat[p])*sgx/n))
		}
	}
	return gx
}

// reduceLastPerm returns the permutation moving the (sorted, distinct)
// axes to the end, keeping the other axes in order.
func reduceLastPerm(rank int, axes []int) []int {
	in := make([]bool, rank)
	for _, a := range axes {
		in[a] = true
	}
	var perm []int
	for i := 0; i < rank; i++ {
		if !in[i] {
			perm = append(perm, i)
		}
	}
	return append(perm, axes...)
}

// paramGrads collects the gradients of a normalization layer's gamma and
// beta; a slice is nil when its weight is absent or the layer is frozen.
type paramGrads struct {
	gamma, beta   *runtime.Variable
	dGamma, dBeta []float32
}

// newParamGrads allocates the gradients a trainable layer needs.
func newParamGrads(b *Base, gamma, beta *runtime.Variable) *paramGrads {
	p := &paramGrads{gamma: gamma, beta: beta}
	if b.Trainable {
		if gamma != nil {
			p.dGamma = make([]float32, gamma.Value.Size())
		}
		if beta != nil {
			p.dBeta = make([]float32, beta.Value.Size())
		}
	}
	return p
}

// accumulate adds the collected gradients to the pass's weight gradients.
func (p *paramGrads) accumulate(ctx *runtime.Context) {
	if p.dGamma != nil {
		ctx.AccumulateGrad(p.gamma, &runtime.Tensor{Shape: copyShape(p.gamma.Value.Shape), Data: p.dGamma})
	}
	if p.dBeta != nil {
		ctx.AccumulateGrad(p.beta, &runtime.Tensor{Shape: copyShape(p.beta.Value.Shape), Data: p.dBeta})
	}
}
