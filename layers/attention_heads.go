package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// The scaled dot-product attention that MultiHeadAttention and
// GroupedQueryAttention run after their projections, on the GEMM core.
// Queries are laid out as [G][Tq][H] (G = the batch-like axes, heads
// last), keys [Gk][Tk][H] and values [Gk][Tk][Hv]; query group g reads
// key/value group (g/heads)*kvHeads + (g%heads)/(heads/kvHeads), so that
// Gk = G with as many key/value heads as query heads (multi-head
// attention) and fewer with grouped-query attention. The scores
// [G][Tq][Tk] are Keras's attention_scores layout: batch axes, heads,
// query attention axes, key attention axes.

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

// forward computes the attention context of queries q, keys k and values
// v (layouts above); rand draws the dropout in training.
func (a *dotAttention) forward(ctx *runtime.Context, q, k, v []float32) (*attentionRun, error) {
	G := a.groups * a.heads
	r := &attentionRun{a: a, k: k, v: v}
	r.qs = make([]float32, len(q))
	for i, x := range q {
		r.qs[i] = x * a.scale
	}
	r.probs = make([]float32, G*a.tq*a.tk)
	if ctx.Training && a.dropout > 0 {
		if ctx.Rand == nil {
			return nil, fmt.Errorf("dropout in training needs a random source (Context.Rand)")
		}
		r.keep = make([]float32, len(r.probs))
		scale := float32(1 / (1 - a.dropout))
		for i := range r.keep {
			if ctx.Rand.Float64() >= a.dropout {
				r.keep[i] = scale
			}
		}
	}
	r.dropped = r.probs
	if r.keep != nil {
		r.dropped = make([]float32, len(r.probs))
	}
	r.ctx = make([]float32, G*a.tq*a.hv)
	var pk, pv *kernels.PackedB
	lastKV := -1
	for g := 0; g < G; g++ {
		gk := a.kvGroup(g)
		kg := k[gk*a.tk*a.h : (gk+1)*a.tk*a.h]
		vg := v[gk*a.tk*a.hv : (gk+1)*a.tk*a.hv]
		if gk != lastKV {
			pk = kernels.PackBTrans(a.h, a.tk, kg, a.h)
			pv = kernels.PackB(a.tk, a.hv, vg, a.hv)
			lastKV = gk
		}
		s := r.probs[g*a.tq*a.tk : (g+1)*a.tq*a.tk]
		kernels.Gemm(a.tq, a.tk, a.h, r.qs[g*a.tq*a.h:], a.h, pk, s, a.tk, false, nil)
		for i := 0; i < a.tq; i++ {
			row := s[i*a.tk : (i+1)*a.tk]
			var m []bool
			if a.mask != nil {
				m = a.mask[(g*a.tq+i)*a.tk : (g*a.tq+i+1)*a.tk]
			}
			a.maskedSoftmax(row, m)
		}
		p := s
		if r.keep != nil {
			p = r.dropped[g*a.tq*a.tk : (g+1)*a.tq*a.tk]
			for i, x := range s {
				p[i] = x * r.keep[g*a.tq*a.tk+i]
			}
		}
		kernels.Gemm(a.tq, a.hv, a.tk, p, a.tk, pv, r.ctx[g*a.tq*a.hv:], a.hv, false, nil)
	}
	return r, nil
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

// backward maps the gradients of the context (and of the returned scores,
// nil when not returned) to those of q, k and v.
func (r *attentionRun) backward(gctx, gprobs []float32) (gq, gk, gv []float32) {
	a := r.a
	G := a.groups * a.heads
	gq = make([]float32, len(r.qs))
	gk = make([]float32, len(r.k))
	gv = make([]float32, len(r.v))
	dp := make([]float32, a.tq*a.tk)
	tr := make([]float32, a.tq*a.tk)
	var pvt, pk *kernels.PackedB
	lastKV := -1
	for g := 0; g < G; g++ {
		gkk := a.kvGroup(g)
		kg := r.k[gkk*a.tk*a.h : (gkk+1)*a.tk*a.h]
		vg := r.v[gkk*a.tk*a.hv : (gkk+1)*a.tk*a.hv]
		if gkk != lastKV {
			pvt = kernels.PackBTrans(a.hv, a.tk, vg, a.hv)
			pk = kernels.PackB(a.tk, a.h, kg, a.h)
			lastKV = gkk
		}
		o := g * a.tq * a.tk
		gc := gctx[g*a.tq*a.hv : (g+1)*a.tq*a.hv]
		// dL/dvalues += droppedᵀ · gctx.
		transposeInto(tr, r.dropped[o:o+a.tq*a.tk], a.tq, a.tk)
		kernels.Gemm(a.tk, a.hv, a.tq, tr, a.tq, kernels.PackB(a.tq, a.hv, gc, a.hv), gv[gkk*a.tk*a.hv:], a.hv, true, nil)
		// dL/ddropped = gctx · valuesᵀ.
		kernels.Gemm(a.tq, a.tk, a.hv, gc, a.hv, pvt, dp, a.tk, false, nil)
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
		// Softmax backward, row by row, into dp (dL/dscores).
		for i := 0; i < a.tq; i++ {
			p := r.probs[o+i*a.tk : o+(i+1)*a.tk]
			d := dp[i*a.tk : (i+1)*a.tk]
			var m []bool
			if a.mask != nil {
				m = a.mask[o+i*a.tk : o+(i+1)*a.tk]
			}
			if m != nil && a.mode != maskAdd {
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
			if m != nil && a.mode != maskAdd {
				for j := range d {
					if !m[j] {
						d[j] = 0
					}
				}
			}
		}
		// dL/dq = dscores · keys · scale; dL/dkeys += dscoresᵀ · qs.
		kernels.Gemm(a.tq, a.h, a.tk, dp, a.tk, pk, gq[g*a.tq*a.h:], a.h, false, nil)
		transposeInto(tr, dp, a.tq, a.tk)
		kernels.Gemm(a.tk, a.h, a.tq, tr, a.tq, kernels.PackB(a.tq, a.h, r.qs[g*a.tq*a.h:(g+1)*a.tq*a.h], a.h), gk[gkk*a.tk*a.h:], a.h, true, nil)
	}
	for i := range gq {
		gq[i] *= a.scale
	}
	return gq, gk, gv
}
