package layers

import (
	"fmt"
	"sync"

	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// The scaled dot-product attention that MultiHeadAttention and
// GroupedQueryAttention run after their projections, on the GEMM core.
// Queries are laid out as the query projection computes them for a
// rank-3 input, [groups][Tq][heads][H] (groups = the batch-like axes), keys
// [groups][Tk][kvHeads][H] and values [groups][Tk][kvHeads][Hv], so that
// the GEMMs read each head's rows with a stride and no copy; query head g
// (= group*heads + head) reads key/value head
// group*kvHeads + head/(heads/kvHeads): as many key/value heads as query
// heads for multi-head attention, fewer for grouped-query attention. The
// scores [groups*heads][Tq][Tk] are Keras's attention_scores layout: batch
// axes, heads, query attention axes, key attention axes.

// maskMode is how a masked score enters the softmax; the three Keras code
// paths differ only where a whole row is masked (a padded query).
type maskMode int

const (
	// maskWhereZero: Keras 3's explicit path (dropout, returned scores,
	// inputs of rank > 3): Softmax(mask) replaces masked scores by -1e9
	// and zeroes the masked probabilities, so a fully masked row is 0.
	maskWhereZero maskMode = iota
	// maskWhere: Keras 3's ops.dot_product_attention and tf-keras's
	// softmax_robust_masking: masked scores are replaced by a large
	// negative constant, so a fully masked row is uniform.
	maskWhere
	// maskAdd: tf-keras's Softmax: -1e9 is added to masked scores (in
	// float32), and the gradient still flows through them.
	maskAdd
)

// dotAttention is one call's attention geometry and options.
type dotAttention struct {
	groups, heads, kvHeads int // G = groups*heads query groups
	tq, tk, h, hv          int
	scale                  float32
	// mask, when not nil, holds G*Tq*Tk entries: false hides a key.
	mask    []bool
	mode    maskMode
	dropout float64 // in training only
}

// attentionRun holds what the backward pass needs from a forward pass.
type attentionRun struct {
	a       *dotAttention
	qs      []float32 // queries times scale
	k, v    []float32
	probs   []float32 // the softmax (Keras's attention_scores)
	dropped []float32 // probs after dropout (probs when none)
	keep    []float32 // dropout factors (nil without dropout)
	ctx     []float32 // [G][Tq][Hv]
}

func (a *dotAttention) kvGroup(g int) int {
	return (g/a.heads)*a.kvHeads + (g%a.heads)/(a.heads/a.kvHeads)
}

// qOff is the offset of query (or context) head g's first row, rows w
// wide per head.
func (a *dotAttention) qOff(g, w int) int { return (g/a.heads)*a.tq*a.heads*w + (g%a.heads)*w }

// kOff is the offset of key (or value) head gk's first row.
func (a *dotAttention) kOff(gk, w int) int {
	return (gk/a.kvHeads)*a.tk*a.kvHeads*w + (gk%a.kvHeads)*w
}

// softmaxInPlace is the softmax of an unmasked row, in float32.
func softmaxInPlace(row []float32) {
	// Four running maxima (the max builtin's NaN handling is slow).
	m0, m1, m2, m3 := row[0], row[0], row[0], row[0]
	j := 0
	for ; j+4 <= len(row); j += 4 {
		if row[j] > m0 {
			m0 = row[j]
		}
		if row[j+1] > m1 {
			m1 = row[j+1]
		}
		if row[j+2] > m2 {
			m2 = row[j+2]
		}
		if row[j+3] > m3 {
			m3 = row[j+3]
		}
	}
	for ; j < len(row); j++ {
		if row[j] > m0 {
			m0 = row[j]
		}
	}
	mx := m0
	for _, m := range []float32{m1, m2, m3} {
		if m > mx {
			mx = m
		}
	}
	for j := range row {
		row[j] -= mx
	}
	kernels.Exp(row, row)
	var s0, s1, s2, s3 float32
	j = 0
	for ; j+4 <= len(row); j += 4 {
		s0, s1, s2, s3 = s0+row[j], s1+row[j+1], s2+row[j+2], s3+row[j+3]
	}
	for ; j < len(row); j++ {
		s0 += row[j]
	}
	inv := 1 / ((s0 + s1) + (s2 + s3))
	for j := range row {
		row[j] *= inv
	}
}

// forward computes the attention context of queries q, keys k and values
// v (layouts above); ctx.Rand draws the dropout in training. The
// probabilities are kept (for the backward pass or the returned scores)
// when keepProbs is set or dropout runs.
func (a *dotAttention) forward(ctx *runtime.Context, q, k, v []float32, keepProbs bool) (*attentionRun, error) {
	G := a.groups * a.heads
	r := &attentionRun{a: a, k: k, v: v}
	r.qs = make([]float32, len(q))
	for i, x := range q {
		r.qs[i] = x * a.scale
	}
	if ctx.Training && a.dropout > 0 {
		if ctx.Rand == nil {
			return nil, fmt.Errorf("dropout in training needs a random source (Context.Rand)")
		}
		r.keep = make([]float32, G*a.tq*a.tk)
		scale := float32(1 / (1 - a.dropout))
		for i := range r.keep {
			if ctx.Rand.Float64() >= a.dropout {
				r.keep[i] = scale
			}
		}
	}
	if keepProbs || r.keep != nil {
		r.probs = make([]float32, G*a.tq*a.tk)
	}
	r.dropped = r.probs
	if r.keep != nil {
		r.dropped = make([]float32, len(r.probs))
	}
	r.ctx = make([]float32, G*a.tq*a.hv)
	R := a.heads / a.kvHeads
	forEachParallel(a.groups*a.kvHeads, func(gk int) {
		pk := kernels.PackBTrans(a.h, a.tk, k[a.kOff(gk, a.h):], a.kvHeads*a.h)
		pv := kernels.PackB(a.tk, a.hv, v[a.kOff(gk, a.hv):], a.kvHeads*a.hv)
		// The query heads reading key/value head gk.
		g0 := (gk/a.kvHeads)*a.heads + (gk%a.kvHeads)*R
		var scratch []float32
		if r.probs == nil {
			scratch = make([]float32, a.tq*a.tk)
		}
		for g := g0; g < g0+R; g++ {
			s := scratch
			if r.probs != nil {
				s = r.probs[g*a.tq*a.tk : (g+1)*a.tq*a.tk]
			}
			a.forwardHead(r, g, s, pk, pv)
		}
	})
	return r, nil
}

// forwardHead computes query head g's probabilities (into s) and context.
func (a *dotAttention) forwardHead(r *attentionRun, g int, s []float32, pk, pv *kernels.PackedB) {
	kernels.Gemm(a.tq, a.tk, a.h, r.qs[a.qOff(g, a.h):], a.heads*a.h, pk, s, a.tk, false, nil)
	for i := 0; i < a.tq; i++ {
		row := s[i*a.tk : (i+1)*a.tk]
		if a.mask == nil {
			softmaxInPlace(row)
			continue
		}
		a.maskedSoftmax(row, a.mask[(g*a.tq+i)*a.tk:(g*a.tq+i+1)*a.tk])
	}
	p := s
	if r.keep != nil {
		p = r.dropped[g*a.tq*a.tk : (g+1)*a.tq*a.tk]
		for i, x := range s {
			p[i] = x * r.keep[g*a.tq*a.tk+i]
		}
	}
	kernels.Gemm(a.tq, a.hv, a.tk, p, a.tk, pv, r.ctx[a.qOff(g, a.hv):], a.heads*a.hv, false, nil)
}

// forEachParallel calls f(i) for i < n on kernels.Threads() goroutines,
// each taking a contiguous range.
func forEachParallel(n int, f func(i int)) {
	t := min(kernels.Threads(), n)
	if t <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range t {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * n / t; i < (w+1)*n/t; i++ {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// maskedSoftmax turns one row of scores into probabilities in place, as
// Keras's mask mode computes them (float32, like TensorFlow).
func (a *dotAttention) maskedSoftmax(row []float32, m []bool) {
	if m != nil {
		switch a.mode {
		case maskAdd:
			for j := range row {
				if !m[j] {
					row[j] += -1e9
				}
			}
		default:
			any := false
			for j := range row {
				if m[j] {
					any = true
					break
				}
			}
			if !any {
				// Every score is the same constant.
				u := float32(1) / float32(len(row))
				if a.mode == maskWhereZero {
					u = 0
				}
				for j := range row {
					row[j] = u
				}
				return
			}
		}
	}
	mx := float32(-3.4e38)
	for j, x := range row {
		if (m == nil || a.mode == maskAdd || m[j]) && x > mx {
			mx = x
		}
	}
	for j := range row {
		if m != nil && a.mode != maskAdd && !m[j] {
			row[j] = -200 // exp underflows to exactly 0
		} else {
			row[j] -= mx
		}
	}
	kernels.Exp(row, row)
	var sum float32
	for _, x := range row {
		sum += x
	}
	inv := 1 / sum
	for j := range row {
		row[j] *= inv
	}
}

// softmaxBackward turns dL/dprobabilities d of one row into dL/dscores in
// place.
func (a *dotAttention) softmaxBackward(p, d []float32, m []bool) {
	where := m != nil && a.mode != maskAdd
	if where {
		for j := range d {
			if !m[j] {
				d[j] = 0 // where(): no gradient to or through a masked score
			}
		}
	}
	var dot float32
	for j, x := range d {
		dot += x * p[j]
	}
	for j := range d {
		d[j] = p[j] * (d[j] - dot)
	}
	if where {
		for j := range d {
			if !m[j] {
				d[j] = 0
			}
		}
	}
}

// backward maps the gradients of the context (and of the returned scores,
// nil when not returned) to those of q, k and v.
func (r *attentionRun) backward(gctx, gprobs []float32) (gq, gk, gv []float32) {
	a := r.a
	gq = make([]float32, len(r.qs))
	gk = make([]float32, len(r.k))
	gv = make([]float32, len(r.v))
	R := a.heads / a.kvHeads
	ldq, ldk, ldv, ldc := a.heads*a.h, a.kvHeads*a.h, a.kvHeads*a.hv, a.heads*a.hv
	// One goroutine per key/value head: the query heads sharing it add to
	// its gradients in turn.
	forEachParallel(a.groups*a.kvHeads, func(gkk int) {
		dp := make([]float32, a.tq*a.tk)
		tr := make([]float32, a.tq*a.tk)
		ko, vo := a.kOff(gkk, a.h), a.kOff(gkk, a.hv)
		pvt := kernels.PackBTrans(a.hv, a.tk, r.v[vo:], ldv)
		pk := kernels.PackB(a.tk, a.h, r.k[ko:], ldk)
		g0 := (gkk/a.kvHeads)*a.heads + (gkk%a.kvHeads)*R
		for g := g0; g < g0+R; g++ {
			o := g * a.tq * a.tk
			gc := gctx[a.qOff(g, a.hv):]
			// dL/dvalues += droppedᵀ · gctx.
			transposeInto(tr, r.dropped[o:o+a.tq*a.tk], a.tq, a.tk)
			kernels.Gemm(a.tk, a.hv, a.tq, tr, a.tq, kernels.PackB(a.tq, a.hv, gc, ldc), gv[vo:], ldv, true, nil)
			// dL/ddropped = gctx · valuesᵀ.
			kernels.Gemm(a.tq, a.tk, a.hv, gc, ldc, pvt, dp, a.tk, false, nil)
			if r.keep != nil {
				for i := range dp {
					dp[i] *= r.keep[o+i]
				}
			}
			if gprobs != nil {
				for i := range dp {
					dp[i] += gprobs[o+i]
				}
			}
			for i := 0; i < a.tq; i++ {
				var m []bool
				if a.mask != nil {
					m = a.mask[o+i*a.tk : o+(i+1)*a.tk]
				}
				a.softmaxBackward(r.probs[o+i*a.tk:o+(i+1)*a.tk], dp[i*a.tk:(i+1)*a.tk], m)
			}
			// dL/dq = dscores · keys (times scale below); dL/dkeys +=
			// dscoresᵀ · qs.
			qo := a.qOff(g, a.h)
			kernels.Gemm(a.tq, a.h, a.tk, dp, a.tk, pk, gq[qo:], ldq, false, nil)
			transposeInto(tr, dp, a.tq, a.tk)
			kernels.Gemm(a.tk, a.h, a.tq, tr, a.tq, kernels.PackB(a.tq, a.h, r.qs[qo:], ldq), gk[ko:], ldk, true, nil)
		}
	})
	for i := range gq {
		gq[i] *= a.scale
	}
	return gq, gk, gv
}
