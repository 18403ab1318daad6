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
	tq, dim := q.Shape[r-2], q.Shape[r-1]
	tv, dv := v.Shape[r-2], v.Shape[r-1]
	nb := runtime.ShapeSize(q.Shape[:r-2])
	if k.Shape[r-1] != dim || k.Shape[r-2] != tv || runtime.ShapeSize(v.Shape[:r-2]) != nb || runtime.ShapeSize(k.Shape[:r-2]) != nb {
		return nil, nil, nil, ShapeError(&l.Base, "query, value and key shapes do not fit: %s", shapesOf(in))
	}
	var qMask, vMask *runtime.Tensor
	if len(masks) > 0 {
		qMask = masks[0]
	}
	if len(masks) > 1 {
		vMask = masks[1]
	}
	if qMask != nil && qMask.Size() != nb*tq || vMask != nil && vMask.Size() != nb*tv {
		return nil, nil, nil, ShapeError(&l.Base, "masks do not fit the query and value shapes %s", shapesOf(in))
	}
	var dropKeep []float32
	if ctx.Training && l.Dropout > 0 {
		if ctx.Rand == nil {
			return nil, nil, nil, fmt.Errorf("layer %s: dropout in training needs a random source", &l.Base)
		}
		dropKeep = make([]float32, nb*tq*tv)
		for i := range dropKeep {
			if ctx.Rand.Float64() >= l.Dropout {
				dropKeep[i] = float32(1 / (1 - l.Dropout))
			}
		}
	}
	scale := float32(1)
	if l.Scale != nil && !l.Additive {
		scale = l.Scale.Value.Data[0]
	}
	cw := float32(1)
	if l.ConcatScoreWeight != nil {
		cw = l.ConcatScoreWeight.Value.Data[0]
	}
	var addScale []float32
	if l.Additive {
		addScale = make([]float32, dim)
		for i := range addScale {
			addScale[i] = 1
		}
		if l.Scale != nil {
			addScale = l.Scale.Value.Data
		}
	}
	weights := make([]float32, nb*tq*tv) // softmax, after dropout
	soft := weights
	if dropKeep != nil {
		soft = make([]float32, len(weights))
	}
	var tanhs []float32 // tanh terms of concat and additive scores
	if l.ScoreMode != "dot" {
		tanhs = make([]float32, nb*tq*tv*dim)
	}
	y := runtime.NewTensor(append(copyShape(q.Shape[:r-1]), dv)...)
	scores := make([]float32, tv)
	for n := 0; n < nb; n++ {
		for i := 0; i < tq; i++ {
			qi := q.Data[(n*tq+i)*dim : (n*tq+i+1)*dim]
			for j := 0; j < tv; j++ {
				kj := k.Data[(n*tv+j)*dim : (n*tv+j+1)*dim]
				var s float32
				switch l.ScoreMode {
				case "dot":
					for d, a := range qi {
						s += a * kj[d]
					}
					s *= scale
				case "concat":
					th := tanhs[((n*tq+i)*tv+j)*dim:][:dim]
					for d, a := range qi {
						th[d] = float32(math.Tanh(float64(scale * (a + kj[d]))))
						s += th[d]
					}
					s *= cw
				default:
					th := tanhs[((n*tq+i)*tv+j)*dim:][:dim]
					for d, a := range qi {
						th[d] = float32(math.Tanh(float64(a + kj[d])))
						s += addScale[d] * th[d]
					}
				}
				if vMask != nil && vMask.Data[n*tv+j] == 0 || causal && j > i {
					s -= 1e9
				}
				scores[j] = s
			}
			row := soft[(n*tq+i)*tv : (n*tq+i+1)*tv]
			softmaxRow(scores, row)
			if dropKeep != nil {
				w := weights[(n*tq+i)*tv : (n*tq+i+1)*tv]
				for j := range w {
					w[j] = row[j] * dropKeep[(n*tq+i)*tv+j]
				}
			}
			if qMask != nil && qMask.Data[n*tq+i] == 0 {
				continue
			}
			yi := y.Data[(n*tq+i)*dv : (n*tq+i+1)*dv]
			for j, w := range weights[(n*tq+i)*tv : (n*tq+i+1)*tv] {
				vj := v.Data[(n*tv+j)*dv : (n*tv+j+1)*dv]
				for d := range yi {
					yi[d] += w * vj[d]
				}
			}
		}
	}
	out := []*runtime.Tensor{y}
	if returnScores {
		out = append(out, &runtime.Tensor{Shape: append(copyShape(q.Shape[:r-1]), tv), Data: weights})
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
		var gScale, gCW float64
		gAddScale := make([]float64, dim)
		gw := make([]float32, tv)
		gs := make([]float32, tv)
		for n := 0; n < nb; n++ {
			for i := 0; i < tq; i++ {
				o := (n*tq + i) * tv
				clear(gw)
				if g := gout[0]; g != nil && (qMask == nil || qMask.Data[n*tq+i] != 0) {
					gyi := g.Data[(n*tq+i)*dv : (n*tq+i+1)*dv]
					for j := 0; j < tv; j++ {
						vj := v.Data[(n*tv+j)*dv : (n*tv+j+1)*dv]
						gvj := gv.Data[(n*tv+j)*dv : (n*tv+j+1)*dv]
						w := weights[o+j]
						var s float32
						for d, gd := range gyi {
							s += gd * vj[d]
							gvj[d] += w * gd
						}
						gw[j] = s
					}
				}
				if returnScores && len(gout) > 1 && gout[1] != nil {
					for j := range gw {
						gw[j] += gout[1].Data[o+j]
					}
				}
				if dropKeep != nil {
					for j := range gw {
						gw[j] *= dropKeep[o+j]
					}
				}
				// Softmax backward.
				var dot float32
				for j := range gw {
					dot += gw[j] * soft[o+j]
				}
				for j := range gs {
					gs[j] = soft[o+j] * (gw[j] - dot)
				}
				qi := q.Data[(n*tq+i)*dim : (n*tq+i+1)*dim]
				gqi := gq.Data[(n*tq+i)*dim : (n*tq+i+1)*dim]
				for j, g := range gs {
					if g == 0 {
						continue
					}
					kj := k.Data[(n*tv+j)*dim : (n*tv+j+1)*dim]
					gkj := gk.Data[(n*tv+j)*dim : (n*tv+j+1)*dim]
					switch l.ScoreMode {
					case "dot":
						var qk float32
						for d, a := range qi {
							qk += a * kj[d]
							gqi[d] += g * scale * kj[d]
							gkj[d] += g * scale * a
						}
						gScale += float64(g * qk)
					case "concat":
						th := tanhs[(o+j)*dim:][:dim]
						var sum float32
						for d, t := range th {
							sum += t
							dt := g * cw * (1 - t*t)
							gqi[d] += dt * scale
							gkj[d] += dt * scale
							gScale += float64(dt * (qi[d] + kj[d]))
						}
						gCW += float64(g * sum)
					default:
						th := tanhs[(o+j)*dim:][:dim]
						for d, t := range th {
							dt := g * addScale[d] * (1 - t*t)
							gqi[d] += dt
							gkj[d] += dt
							gAddScale[d] += float64(g * t)
						}
					}
				}
			}
		}
		if l.Trainable {
			if l.Scale != nil {
				gsT := runtime.NewTensor(l.Scale.Value.Shape...)
				if l.Additive {
					for d := range gsT.Data {
						gsT.Data[d] = float32(gAddScale[d])
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
