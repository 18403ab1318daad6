package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Attention is keras.layers.Attention (dot-product, Luong-style) and, with
// additive set, keras.layers.AdditiveAttention (Bahdanau-style). Inputs:
// query (..., Tq, dim), value (..., Tv, dim_v) and optionally key (...,
// Tv, dim; the value when absent). scores = query·keyᵀ (times scale),
// or concat_score_weight * sum(tanh(scale*(q+k))) with score_mode
// "concat", or sum(scale * tanh(q+k)) for AdditiveAttention; the value's
// mask (and use_causal_mask) hides keys, softmax over the keys weighs
// the values, and the query's mask zeroes outputs. As in Keras's
// TensorFlow backend, rank-2 inputs attend across the batch.
type Attention struct {
	Base
	UseScale  bool
	ScoreMode string // "dot" or "concat"
	Additive  bool
	Dropout   float64
	Scale     *runtime.Variable
	// ConcatScoreWeight exists with score_mode "concat".
	ConcatScoreWeight *runtime.Variable
	// Per-call arguments (BindCall).
	causal, returnScores bool
}

func init() {
	Register("Attention", func(spec *kerasjson.Layer) (Layer, error) { return newAttention(spec, false) }, Supports{Inference: true, Training: true})
	Register("AdditiveAttention", func(spec *kerasjson.Layer) (Layer, error) { return newAttention(spec, true) }, Supports{Inference: true, Training: true})
}

func newAttention(spec *kerasjson.Layer, additive bool) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Attention{Base: b, Additive: additive}
	c := spec.Config
	if l.UseScale, err = c.Bool("use_scale", additive); err != nil {
		return nil, err
	}
	if l.ScoreMode, err = c.String("score_mode", "dot"); err != nil {
		return nil, err
	}
	if additive {
		l.ScoreMode = "additive"
	} else if l.ScoreMode != "dot" && l.ScoreMode != "concat" {
		return nil, ShapeError(&l.Base, "unknown score_mode %q", l.ScoreMode)
	}
	if l.Dropout, err = c.Float("dropout", 0); err != nil {
		return nil, err
	}
	// tf.keras before 2.5 took the causal mask as a layer argument.
	if l.causal, err = c.Bool("causal", false); err != nil {
		return nil, err
	}
	return l, nil
}

// BindCall returns the layer for a call with use_causal_mask and
// return_attention_scores, sharing the weights.
func (l *Attention) BindCall(kwargs map[string]any) (Layer, error) {
	causal, scores := l.causal, false
	for k, v := range kwargs {
		b, isBool := v.(bool)
		switch k {
		case "use_causal_mask":
			if !isBool {
				return nil, ShapeError(&l.Base, "use_causal_mask must be a boolean, got %v", v)
			}
			causal = causal || b
		case "return_attention_scores":
			if !isBool {
				return nil, ShapeError(&l.Base, "return_attention_scores must be a boolean, got %v", v)
			}
			scores = b
		case "training", "mask":
			// training follows the context; a mask tensor is refused
			// earlier, a null one is the default.
		default:
			return nil, ShapeError(&l.Base, "call argument %q is not supported", k)
		}
	}
	if causal == l.causal && scores == l.returnScores {
		return l, nil
	}
	return &boundAttention{l, causal, scores}, nil
}

// boundAttention is one call of a shared Attention with its own call
// arguments.
type boundAttention struct {
	*Attention
	causal, returnScores bool
}

func (b *boundAttention) Build(in [][]int) ([][]int, error) {
	return b.Attention.build(in, b.returnScores)
}

func (b *boundAttention) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	out, _, back, err := b.ForwardMasked(ctx, in, nil)
	return out, back, err
}

func (b *boundAttention) ForwardMasked(ctx *runtime.Context, in, masks []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	return b.Attention.forward(ctx, in, masks, b.causal, b.returnScores)
}

// Build creates scale (and concat_score_weight).
func (l *Attention) Build(in [][]int) ([][]int, error) { return l.build(in, l.returnScores) }

func (l *Attention) build(in [][]int, returnScores bool) ([][]int, error) {
	if len(in) < 2 || len(in) > 3 {
		return nil, ShapeError(&l.Base, "takes [query, value] or [query, value, key], got %s", shapesString(in))
	}
	q, v := in[0], in[1]
	k := v
	if len(in) == 3 {
		k = in[2]
	}
	if len(q) < 2 || len(v) != len(q) || len(k) != len(q) {
		return nil, ShapeError(&l.Base, "query, value and key must have the same rank >= 2, got %s", shapesString(in))
	}
	dim := q[len(q)-1]
	if dim <= 0 || k[len(k)-1] != dim && k[len(k)-1] >= 0 {
		return nil, ShapeError(&l.Base, "query and key must share a known last dimension, got %s", shapesString(in))
	}
	if l.UseScale && l.Scale == nil {
		if l.Additive {
			l.Scale = &runtime.Variable{Name: "scale", Value: runtime.NewTensor(dim), Trainable: true}
		} else {
			l.Scale = &runtime.Variable{Name: "scale", Value: &runtime.Tensor{Shape: []int{}, Data: []float32{1}}, Trainable: true}
		}
	}
	if l.ScoreMode == "concat" && l.ConcatScoreWeight == nil {
		l.ConcatScoreWeight = &runtime.Variable{Name: "concat_score_weight", Value: &runtime.Tensor{Shape: []int{}, Data: []float32{1}}, Trainable: true}
	}
	out := [][]int{append(copyShape(q[:len(q)-1]), v[len(v)-1])}
	if returnScores {
		out = append(out, append(copyShape(q[:len(q)-1]), k[len(k)-2]))
	}
	return out, nil
}

// Weights returns scale and concat_score_weight, as far as they exist.
func (l *Attention) Weights() []*runtime.Variable {
	var ws []*runtime.Variable
	if l.Scale != nil {
		ws = append(ws, l.Scale)
	}
	if l.ConcatScoreWeight != nil {
		ws = append(ws, l.ConcatScoreWeight)
	}
	return ws
}

// Forward attends without masks.
func (l *Attention) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	out, _, back, err := l.ForwardMasked(ctx, in, nil)
	return out, back, err
}

// ForwardMasked attends with the query's and value's masks; the output
// keeps the query's mask.
func (l *Attention) ForwardMasked(ctx *runtime.Context, in, masks []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	return l.forward(ctx, in, masks, l.causal, l.returnScores)
}

// forward is Keras's Attention.call: _calculate_scores from the query and
// key, then _apply_scores (the value's and the causal mask, softmax,
// dropout, the weighted sum of the values, the query's mask).
func (l *Attention) forward(ctx *runtime.Context, in, masks []*runtime.Tensor, causal, returnScores bool) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	if len(in) < 2 || len(in) > 3 {
		return nil, nil, nil, ShapeError(&l.Base, "takes [query, value] or [query, value, key], got %d inputs", len(in))
	}
	q, v := in[0], in[1]
	k := v
	if len(in) == 3 {
		k = in[2]
	}
	r := q.Rank()
	if r < 2 || v.Rank() != r || k.Rank() != r {
		return nil, nil, nil, ShapeError(&l.Base, "query, value and key must have the same rank >= 2, got %s", shapesOf(in))
	}
	d := attentionDims{nb: runtime.ShapeSize(q.Shape[:r-2]), tq: q.Shape[r-2], dim: q.Shape[r-1], tv: v.Shape[r-2], dv: v.Shape[r-1]}
	if k.Shape[r-1] != d.dim || k.Shape[r-2] != d.tv || runtime.ShapeSize(v.Shape[:r-2]) != d.nb || runtime.ShapeSize(k.Shape[:r-2]) != d.nb {
		return nil, nil, nil, ShapeError(&l.Base, "query, value and key shapes do not fit: %s", shapesOf(in))
	}
	var qMask, vMask *runtime.Tensor
	if len(masks) > 0 {
		qMask = masks[0]
	}
	if len(masks) > 1 {
		vMask = masks[1]
	}
	if qMask != nil && qMask.Size() != d.nb*d.tq || vMask != nil && vMask.Size() != d.nb*d.tv {
		return nil, nil, nil, ShapeError(&l.Base, "masks do not fit the query and value shapes %s", shapesOf(in))
	}
	sc := l.calculateScores(q.Data, k.Data, d)
	y := runtime.NewTensor(append(copyShape(q.Shape[:r-1]), d.dv)...)
	ap, err := l.applyScores(ctx, sc.scores, v.Data, y.Data, d, attentionMasks{qMask, vMask, causal})
	if err != nil {
		return nil, nil, nil, err
	}
	out := []*runtime.Tensor{y}
	if returnScores {
		out = append(out, &runtime.Tensor{Shape: append(copyShape(q.Shape[:r-1]), d.tv), Data: ap.weights})
	}
	var outMasks []*runtime.Tensor
	if qMask != nil {
		outMasks = []*runtime.Tensor{qMask}
	}
	if !ctx.Grad {
		return out, outMasks, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gq, gv, gk := runtime.NewTensor(q.Shape...), runtime.NewTensor(v.Shape...), runtime.NewTensor(k.Shape...)
		var gy, gWeights *runtime.Tensor
		if len(gout) > 0 {
			gy = gout[0]
		}
		if returnScores && len(gout) > 1 {
			gWeights = gout[1]
		}
		gs := ap.backward(gy, gWeights, v.Data, gv.Data, d, qMask)
		l.scoresBackward(ctx, sc, gs, q.Data, k.Data, gq.Data, gk.Data, d)
		if len(in) == 2 {
			for i, g := range gk.Data {
				gv.Data[i] += g
			}
			return []*runtime.Tensor{gq, gv}, nil
		}
		return []*runtime.Tensor{gq, gv, gk}, nil
	}
	return out, outMasks, back, nil
}

// attentionDims are the sizes of one call: nb batches (every leading
// axis), tq queries of width dim, tv keys of width dim and values of
// width dv.
type attentionDims struct{ nb, tq, tv, dim, dv int }

// attentionScores is one call's _calculate_scores: the scores (nb, tq,
// tv) before any mask, and what their gradient needs.
type attentionScores struct {
	scores    []float32
	tanhs     []float32 // (nb, tq, tv, dim) tanh terms of concat and additive scores
	scale, cw float32
	addScale  []float32 // AdditiveAttention's per-feature scale
}

// calculateScores scores every query against every key: scale*q·k
// ("dot"), cw*sum(tanh(scale*(q+k))) ("concat"), or sum(scale*tanh(q+k))
// (AdditiveAttention).
func (l *Attention) calculateScores(q, k []float32, d attentionDims) *attentionScores {
	sc := &attentionScores{scores: make([]float32, d.nb*d.tq*d.tv), scale: 1, cw: 1}
	if l.Scale != nil && !l.Additive {
		sc.scale = l.Scale.Value.Data[0]
	}
	if l.ConcatScoreWeight != nil {
		sc.cw = l.ConcatScoreWeight.Value.Data[0]
	}
	if l.Additive {
		sc.addScale = make([]float32, d.dim)
		for i := range sc.addScale {
			sc.addScale[i] = 1
		}
		if l.Scale != nil {
			sc.addScale = l.Scale.Value.Data
		}
	}
	if l.ScoreMode != "dot" {
		sc.tanhs = make([]float32, d.nb*d.tq*d.tv*d.dim)
	}
	dim := d.dim
	for n := 0; n < d.nb; n++ {
		for i := 0; i < d.tq; i++ {
			qi := q[(n*d.tq+i)*dim : (n*d.tq+i+1)*dim]
			for j := 0; j < d.tv; j++ {
				kj := k[(n*d.tv+j)*dim : (n*d.tv+j+1)*dim]
				o := (n*d.tq+i)*d.tv + j
				var s float32
				switch l.ScoreMode {
				case "dot":
					for e, a := range qi {
						s += a * kj[e]
					}
					s *= sc.scale
				case "concat":
					th := sc.tanhs[o*dim:][:dim]
					for e, a := range qi {
						th[e] = float32(math.Tanh(float64(sc.scale * (a + kj[e]))))
						s += th[e]
					}
					s *= sc.cw
				default:
					th := sc.tanhs[o*dim:][:dim]
					for e, a := range qi {
						th[e] = float32(math.Tanh(float64(a + kj[e])))
						s += sc.addScale[e] * th[e]
					}
				}
				sc.scores[o] = s
			}
		}
	}
	return sc
}

// scoresBackward adds the gradient of the scores gs (nb, tq, tv) to the
// query's (gq) and key's (gk) gradients and, for a trainable layer,
// accumulates scale's and concat_score_weight's.
func (l *Attention) scoresBackward(ctx *runtime.Context, sc *attentionScores, gs, q, k, gq, gk []float32, d attentionDims) {
	var gScale, gCW float64
	gAddScale := make([]float64, d.dim)
	dim := d.dim
	for n := 0; n < d.nb; n++ {
		for i := 0; i < d.tq; i++ {
			o := (n*d.tq + i) * d.tv
			qi := q[(n*d.tq+i)*dim : (n*d.tq+i+1)*dim]
			gqi := gq[(n*d.tq+i)*dim : (n*d.tq+i+1)*dim]
			for j, g := range gs[o : o+d.tv] {
				if g == 0 {
					continue
				}
				kj := k[(n*d.tv+j)*dim : (n*d.tv+j+1)*dim]
				gkj := gk[(n*d.tv+j)*dim : (n*d.tv+j+1)*dim]
				switch l.ScoreMode {
				case "dot":
					var qk float32
					for e, a := range qi {
						qk += a * kj[e]
						gqi[e] += g * sc.scale * kj[e]
						gkj[e] += g * sc.scale * a
					}
					gScale += float64(g * qk)
				case "concat":
					th := sc.tanhs[(o+j)*dim:][:dim]
					var sum float32
					for e, t := range th {
						sum += t
						dt := g * sc.cw * (1 - t*t)
						gqi[e] += dt * sc.scale
						gkj[e] += dt * sc.scale
						gScale += float64(dt * (qi[e] + kj[e]))
					}
					gCW += float64(g * sum)
				default:
					th := sc.tanhs[(o+j)*dim:][:dim]
					for e, t := range th {
						dt := g * sc.addScale[e] * (1 - t*t)
						gqi[e] += dt
						gkj[e] += dt
						gAddScale[e] += float64(g * t)
					}
				}
			}
		}
	}
	if !l.Trainable {
		return
	}
	if l.Scale != nil {
		gsT := runtime.NewTensor(l.Scale.Value.Shape...)
		if l.Additive {
			for e := range gsT.Data {
				gsT.Data[e] = float32(gAddScale[e])
			}
		} else {
			gsT.Data[0] = float32(gScale)
		}
		ctx.AccumulateGrad(l.Scale, gsT)
	}
	if l.ConcatScoreWeight != nil {
		ctx.AccumulateGrad(l.ConcatScoreWeight, &runtime.Tensor{Shape: []int{}, Data: []float32{float32(gCW)}})
	}
}

// attentionMasks are one call's masks: the query's (zeroes outputs), the
// value's (hides keys) and use_causal_mask (hides later keys).
type attentionMasks struct {
	query, value *runtime.Tensor
	causal       bool
}

// hidden reports whether query i of batch n may not see key j.
func (m attentionMasks) hidden(d attentionDims, n, i, j int) bool {
	return m.value != nil && m.value.Data[n*d.tv+j] == 0 || m.causal && j > i
}

// appliedScores is one call's _apply_scores: the softmax of the masked
// scores, the attention weights (the softmax after dropout) and the
// dropout's keep factors (nil without dropout).
type appliedScores struct {
	soft, weights, dropKeep []float32
}

// applyScores is Keras's _apply_scores: it hides masked keys (scores -
// 1e9), takes the softmax over the keys, applies dropout in training and
// writes the weighted sum of the values into y (nb, tq, dv), leaving the
// rows of masked queries zero.
func (l *Attention) applyScores(ctx *runtime.Context, scores, v, y []float32, d attentionDims, m attentionMasks) (*appliedScores, error) {
	ap := &appliedScores{weights: make([]float32, d.nb*d.tq*d.tv)}
	if ctx.Training && l.Dropout > 0 {
		if ctx.Rand == nil {
			return nil, fmt.Errorf("layer %s: dropout in training needs a random source", &l.Base)
		}
		ap.dropKeep = make([]float32, len(ap.weights))
		for i := range ap.dropKeep {
			if ctx.Rand.Float64() >= l.Dropout {
				ap.dropKeep[i] = float32(1 / (1 - l.Dropout))
			}
		}
	}
	ap.soft = ap.weights
	if ap.dropKeep != nil {
		ap.soft = make([]float32, len(ap.weights))
	}
	row := make([]float32, d.tv)
	for n := 0; n < d.nb; n++ {
		for i := 0; i < d.tq; i++ {
			o := (n*d.tq + i) * d.tv
			for j := range row {
				s := scores[o+j]
				if m.hidden(d, n, i, j) {
					s -= 1e9
				}
				row[j] = s
			}
			soft := ap.soft[o : o+d.tv]
			softmaxRow(row, soft)
			w := ap.weights[o : o+d.tv]
			if ap.dropKeep != nil {
				for j := range w {
					w[j] = soft[j] * ap.dropKeep[o+j]
				}
			}
			if m.query != nil && m.query.Data[n*d.tq+i] == 0 {
				continue
			}
			yi := y[(n*d.tq+i)*d.dv : (n*d.tq+i+1)*d.dv]
			for j, wj := range w {
				vj := v[(n*d.tv+j)*d.dv : (n*d.tv+j+1)*d.dv]
				for e := range yi {
					yi[e] += wj * vj[e]
				}
			}
		}
	}
	return ap, nil
}

// backward turns the gradients of the output (gy) and of the returned
// weights (gWeights; either may be nil) into the gradient of the scores,
// adding the value's into gv.
func (ap *appliedScores) backward(gy, gWeights *runtime.Tensor, v, gv []float32, d attentionDims, qMask *runtime.Tensor) []float32 {
	gs := make([]float32, d.nb*d.tq*d.tv)
	gw := make([]float32, d.tv)
	for n := 0; n < d.nb; n++ {
		for i := 0; i < d.tq; i++ {
			o := (n*d.tq + i) * d.tv
			clear(gw)
			if gy != nil && (qMask == nil || qMask.Data[n*d.tq+i] != 0) {
				gyi := gy.Data[(n*d.tq+i)*d.dv : (n*d.tq+i+1)*d.dv]
				for j := range gw {
					vj := v[(n*d.tv+j)*d.dv : (n*d.tv+j+1)*d.dv]
					gvj := gv[(n*d.tv+j)*d.dv : (n*d.tv+j+1)*d.dv]
					w := ap.weights[o+j]
					var s float32
					for e, g := range gyi {
						s += g * vj[e]
						gvj[e] += w * g
					}
					gw[j] = s
				}
			}
			if gWeights != nil {
				for j := range gw {
					gw[j] += gWeights.Data[o+j]
				}
			}
			if ap.dropKeep != nil {
				for j := range gw {
					gw[j] *= ap.dropKeep[o+j]
				}
			}
			// Softmax backward.
			soft := ap.soft[o : o+d.tv]
			var dot float32
			for j := range gw {
				dot += gw[j] * soft[j]
			}
			for j := range gw {
				gs[o+j] = soft[j] * (gw[j] - dot)
			}
		}
	}
	return gs
}

// softmaxRow writes softmax(x) into y.
func softmaxRow(x, y []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for j, v := range x {
		e := math.Exp(float64(v - m))
		y[j] = float32(e)
		sum += e
	}
	for j := range y {
		y[j] = float32(float64(y[j]) / sum)
	}
}
