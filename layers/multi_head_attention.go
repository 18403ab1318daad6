package layers

import (
	"math"
	"slices"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// MultiHeadAttention is keras.layers.MultiHeadAttention (and, with
// KVHeads < NumHeads, keras.layers.GroupedQueryAttention): the query, key
// and value are projected into heads by EinsumDense sub-layers ("query",
// "key", "value", and "gate" with use_gate), scaled dot-product attention
// runs over attention_axes (dot_product_attention in attention_heads.go),
// and "attention_output" projects the heads back to output_shape. Inputs:
// query, value, and optionally key and an attention_mask (call
// arguments); the Keras masks of query, value and key hide padded steps,
// and the output keeps the query's mask. Its weights are the sub-layers',
// in Keras order: query, key, gate, value, attention_output, each kernel
// then bias.
type MultiHeadAttention struct {
	Base
	NumHeads, KVHeads int
	KeyDim, ValueDim  int
	Dropout           float64
	UseBias, UseGate  bool
	// OutputShape is the output's trailing shape; nil for the query's
	// last dimension.
	OutputShape []int
	// AttentionAxes are the input axes attended over; nil until Build for
	// Keras's default (every axis but the batch and the features).
	AttentionAxes []int
	SlidingWindow int // 0 for none
	// Query, Key, Gate (nil without use_gate), Value and AttentionOutput
	// are the EinsumDense sub-layers, created by Build.
	Query, Key, Gate, Value, AttentionOutput *headProjection

	// keras2 selects tf-keras's softmax masking (maskAdd, or maskWhere
	// with softmax_robust_masking) over Keras 3's.
	keras2, robustMasking bool
	// privateAttrs: the sub-layers are saved under their private
	// attribute names (_query_dense: GroupedQueryAttention has no public
	// properties for them; MultiHeadAttention has, except for the gate).
	privateAttrs bool
	call         attentionCall
}

// attentionCall is what one call's keyword arguments select.
type attentionCall struct {
	causal, returnScores, attentionMask bool
}

func init() {
	Register("MultiHeadAttention", newMultiHeadAttention, Supports{Inference: true, Training: true})
}

func newMultiHeadAttention(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &MultiHeadAttention{Base: b}
	c := spec.Config
	if l.NumHeads, err = c.Int("num_heads", 0); err != nil {
		return nil, err
	}
	if l.KeyDim, err = c.Int("key_dim", 0); err != nil {
		return nil, err
	}
	if l.ValueDim, err = c.Int("value_dim", 0); err != nil {
		return nil, err
	}
	if l.ValueDim == 0 {
		l.ValueDim = l.KeyDim
	}
	if l.NumHeads <= 0 || l.KeyDim <= 0 || l.ValueDim <= 0 {
		return nil, ShapeError(&l.Base, "num_heads, key_dim and value_dim must be positive, got %d, %d, %d", l.NumHeads, l.KeyDim, l.ValueDim)
	}
	l.KVHeads = l.NumHeads
	if v, ok := c["output_shape"]; ok && v != nil {
		if _, isList := v.([]any); isList {
			s, _, err := c.Shape("output_shape")
			if err != nil {
				return nil, err
			}
			l.OutputShape = s
		} else {
			n, err := c.Int("output_shape", 0)
			if err != nil {
				return nil, err
			}
			l.OutputShape = []int{n}
		}
		for _, d := range l.OutputShape {
			if d <= 0 {
				return nil, ShapeError(&l.Base, "output_shape %v must hold known positive dimensions", l.OutputShape)
			}
		}
	}
	if v, ok := c["attention_axes"]; ok && v != nil {
		if l.AttentionAxes, err = c.Ints("attention_axes", 0, nil); err != nil {
			return nil, err
		}
		if len(l.AttentionAxes) == 0 {
			return nil, ShapeError(&l.Base, "attention_axes is empty")
		}
	}
	if err := l.readCommon(c); err != nil {
		return nil, err
	}
	// tf-keras writes the build shapes and softmax_robust_masking; Keras
	// 3 writes neither (and seed, use_gate).
	l.keras2 = spec.Keras2 || !c.Has("seed") && !c.Has("use_gate") && (c.Has("query_shape") || c.Has("softmax_robust_masking"))
	if l.robustMasking, err = c.Bool("softmax_robust_masking", false); err != nil {
		return nil, err
	}
	return l, nil
}

// readCommon reads the arguments MultiHeadAttention and
// GroupedQueryAttention share.
func (l *MultiHeadAttention) readCommon(c kerasjson.Config) error {
	var err error
	if l.Dropout, err = c.Float("dropout", 0); err != nil {
		return err
	}
	if l.Dropout < 0 || l.Dropout >= 1 {
		return ShapeError(&l.Base, "dropout must be in [0, 1), got %v", l.Dropout)
	}
	if l.UseBias, err = c.Bool("use_bias", true); err != nil {
		return err
	}
	if l.UseGate, err = c.Bool("use_gate", false); err != nil {
		return err
	}
	if l.SlidingWindow, err = c.Int("sliding_window", 0); err != nil {
		return err
	}
	if l.SlidingWindow < 0 {
		return ShapeError(&l.Base, "sliding_window must be positive, got %d", l.SlidingWindow)
	}
	return nil
}

// BindCall returns the layer for a call with use_causal_mask,
// return_attention_scores and an attention_mask tensor, sharing the
// weights.
func (l *MultiHeadAttention) BindCall(kwargs map[string]any) (Layer, error) {
	call := l.call
	for k, v := range kwargs {
		b, isBool := v.(bool)
		switch k {
		case "use_causal_mask", "return_attention_scores":
			if v == nil {
				continue
			}
			if !isBool {
				return nil, ShapeError(&l.Base, "%s must be a boolean, got %v", k, v)
			}
			if k == "use_causal_mask" {
				call.causal = b
			} else {
				call.returnScores = b
			}
		case "attention_mask":
			_, call.attentionMask = v.(kerasjson.TensorRef)
			if v != nil && !call.attentionMask {
				return nil, ShapeError(&l.Base, "attention_mask must be a tensor, got %v", v)
			}
		case "training", "value", "key", "query_mask", "value_mask", "key_mask":
			// training follows the context; value and key are inputs; a
			// mask tensor is refused earlier, a null one is the default.
		default:
			return nil, ShapeError(&l.Base, "call argument %q is not supported", k)
		}
	}
	if call == l.call {
		return l, nil
	}
	return &boundMultiHeadAttention{l, call}, nil
}

// TensorKwargs names the call arguments that are tensors: tf-keras passes
// value and key by keyword, either passes attention_mask so.
func (l *MultiHeadAttention) TensorKwargs() []string {
	return []string{"value", "key", "attention_mask"}
}

// boundMultiHeadAttention is one call of a shared layer with its own call
// arguments.
type boundMultiHeadAttention struct {
	*MultiHeadAttention
	call attentionCall
}

func (b *boundMultiHeadAttention) Build(in [][]int) ([][]int, error) {
	return b.MultiHeadAttention.build(in, b.call)
}

func (b *boundMultiHeadAttention) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	out, _, back, err := b.MultiHeadAttention.forward(ctx, in, nil, b.call)
	return out, back, err
}

func (b *boundMultiHeadAttention) ForwardMasked(ctx *runtime.Context, in, masks []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	return b.MultiHeadAttention.forward(ctx, in, masks, b.call)
}

// Children returns the sub-layers, in Keras's order.
func (l *MultiHeadAttention) Children() []Layer {
	var out []Layer
	for _, p := range l.projections() {
		out = append(out, p.EinsumDense)
	}
	return out
}

// TrackedChildren returns the sub-layers under the attribute names Keras
// 3 saves them at (query_dense, ...).
func (l *MultiHeadAttention) TrackedChildren() []NamedChild {
	var out []NamedChild
	for _, p := range l.projections() {
		attr := p.attr
		if l.privateAttrs || p == l.Gate {
			attr = "_" + attr
		}
		out = append(out, NamedChild{attr, p.EinsumDense})
	}
	return out
}

func (l *MultiHeadAttention) projections() []*headProjection {
	var out []*headProjection
	for _, p := range []*headProjection{l.Query, l.Key, l.Gate, l.Value, l.AttentionOutput} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Weights returns nothing: the weights are the sub-layers'.
func (l *MultiHeadAttention) Weights() []*runtime.Variable { return nil }

// attentionInputs splits a call's inputs: query, value, key (the value
// when absent) and the attention mask (nil when absent).
type attentionInputs[T any] struct {
	query, value, key, mask T
	hasKey, hasMask         bool
}

func splitAttentionInputs[T any](b *Base, in []T, call attentionCall) (attentionInputs[T], error) {
	var s attentionInputs[T]
	n := len(in)
	if call.attentionMask {
		n--
	}
	if n != 2 && n != 3 {
		want := "[query, value] or [query, value, key]"
		if call.attentionMask {
			want += " and the attention_mask"
		}
		return s, ShapeError(b, "takes %s, got %d inputs", want, len(in))
	}
	s.query, s.value, s.key = in[0], in[1], in[1]
	if n == 3 {
		s.key, s.hasKey = in[2], true
	}
	if call.attentionMask {
		s.mask, s.hasMask = in[n], true
	}
	return s, nil
}

// Build creates the sub-layers and returns the output shape (and the
// attention scores' with return_attention_scores).
func (l *MultiHeadAttention) Build(in [][]int) ([][]int, error) { return l.build(in, l.call) }

func (l *MultiHeadAttention) build(in [][]int, call attentionCall) ([][]int, error) {
	s, err := splitAttentionInputs(&l.Base, in, call)
	if err != nil {
		return nil, err
	}
	q, v, k := s.query, s.value, s.key
	r := len(q)
	if r < 3 || len(v) != r || len(k) != r {
		return nil, ShapeError(&l.Base, "query, value and key must have the same rank >= 3, got %s", shapesString(in))
	}
	if !shapeCompatible(v[1:r-1], k[1:r-1]) {
		return nil, ShapeError(&l.Base, "value and key must agree on every dimension but the last, got %s", shapesString(in))
	}
	for _, x := range [][]int{q, v, k} {
		if x[r-1] <= 0 {
			return nil, ShapeError(&l.Base, "inputs need a known last dimension, got %s", shapesString(in))
		}
	}
	axes, err := l.attentionAxes(r)
	if err != nil {
		return nil, err
	}
	for i := 1; i < r-1; i++ {
		if !slices.Contains(axes, i) && q[i] >= 0 && k[i] >= 0 && q[i] != k[i] {
			return nil, ShapeError(&l.Base, "query and key must agree on axis %d, which is not an attention axis: %s", i, shapesString(in))
		}
	}
	if l.Query == nil {
		if err := l.buildProjections(q, k, v, axes); err != nil {
			return nil, err
		}
	} else if l.Query.in != q[r-1] || l.Key.in != k[r-1] || l.Value.in != v[r-1] || !slices.Equal(l.AttentionAxes, axes) {
		return nil, ShapeError(&l.Base, "built for other input shapes, called on %s", shapesString(in))
	}
	outShape := l.OutputShape
	if outShape == nil {
		outShape = []int{q[r-1]}
	}
	out := [][]int{append(copyShape(q[:r-1]), outShape...)}
	if call.returnScores {
		scores := []int{q[0]}
		for i := 1; i < r-1; i++ {
			if !slices.Contains(axes, i) {
				scores = append(scores, q[i])
			}
		}
		scores = append(scores, l.NumHeads)
		for _, a := range axes {
			scores = append(scores, q[a])
		}
		for _, a := range axes {
			scores = append(scores, k[a])
		}
		out = append(out, scores)
	}
	return out, nil
}

// attentionAxes returns the attended input axes for inputs of rank r, as
// Keras normalizes them (a negative axis counts from the input's end).
func (l *MultiHeadAttention) attentionAxes(r int) ([]int, error) {
	if l.AttentionAxes == nil {
		var axes []int
		for i := 1; i < r-1; i++ {
			axes = append(axes, i)
		}
		return axes, nil
	}
	axes := make([]int, len(l.AttentionAxes))
	for i, a := range l.AttentionAxes {
		if a < 0 {
			a += r
		}
		if a < 1 || a > r-2 || slices.Contains(axes[:i], a) {
			return nil, ShapeError(&l.Base, "attention_axes %v do not fit inputs of rank %d", l.AttentionAxes, r)
		}
		axes[i] = a
	}
	return axes, nil
}

// buildProjections creates the EinsumDense sub-layers as Keras's build
// does, with Keras's equations.
func (l *MultiHeadAttention) buildProjections(q, k, v []int, axes []int) error {
	r := len(q)
	var err error
	heads := func(n int) []int { return append(repeatInt(-1, r-2), n) }
	if l.Query, err = l.projection("query", "query_dense", q, 1, heads(l.NumHeads), l.KeyDim, "linear"); err != nil {
		return err
	}
	if l.Key, err = l.projection("key", "key_dense", k, 1, heads(l.KVHeads), l.KeyDim, "linear"); err != nil {
		return err
	}
	if l.UseGate {
		if l.Gate, err = l.projection("gate", "gate_dense", q, 1, heads(l.NumHeads), l.ValueDim, "sigmoid"); err != nil {
			return err
		}
	}
	if l.Value, err = l.projection("value", "value_dense", v, 1, heads(l.KVHeads), l.ValueDim, "linear"); err != nil {
		return err
	}
	outShape := l.OutputShape
	if outShape == nil {
		outShape = []int{q[r-1]}
	}
	ctxShape := append(copyShape(q[:r-1]), l.NumHeads, l.ValueDim)
	if l.AttentionOutput, err = l.projection("attention_output", "output_dense", ctxShape, 2, append(repeatInt(-1, r-2), outShape...), 0, "linear"); err != nil {
		return err
	}
	l.AttentionAxes = axes
	return nil
}

// projection builds one EinsumDense sub-layer on input shape in: the
// equation of Keras's _build_proj_equation (free axes, bound axes
// contracted, output axes), output_shape the free axes (None) and out
// (with last appended when positive), bias over the output axes.
func (l *MultiHeadAttention) projection(name, attr string, in []int, bound int, out []int, last int, activation string) (*headProjection, error) {
	if last > 0 {
		out = append(copyShape(out), last)
	}
	free := len(in) - bound
	letter := func(i int) string { return string(rune('a' + i)) }
	var inStr, kernelStr, outStr, biasAxes string
	for i := 0; i < free; i++ {
		inStr += letter(i)
		outStr += letter(i)
	}
	for i := 0; i < bound; i++ {
		inStr += letter(free + i)
		kernelStr += letter(free + i)
	}
	nOut := len(out) - (free - 1)
	for i := 0; i < nOut; i++ {
		c := letter(free + bound + i)
		kernelStr += c
		outStr += c
		biasAxes += c
	}
	shape := make([]any, len(out))
	for i, d := range out {
		if d >= 0 {
			shape[i] = float64(d)
		}
	}
	cfg := kerasjson.Config{
		"name": name, "trainable": l.Trainable, "equation": inStr + "," + kernelStr + "->" + outStr,
		"output_shape": shape, "activation": activation,
	}
	if l.UseBias {
		cfg["bias_axes"] = biasAxes
	}
	for _, key := range []string{"kernel_regularizer", "bias_regularizer"} {
		if v, ok := l.Config[key]; ok {
			cfg[key] = v
		}
	}
	// The variable paths are Keras's: <layer>/<sub-layer>/kernel.
	spec := &kerasjson.Layer{ClassName: "EinsumDense", Name: l.Name + "/" + name, Config: cfg}
	sub, err := newEinsumDense(spec)
	if err != nil {
		return nil, err
	}
	e := sub.(*EinsumDense)
	if _, err := e.Build([][]int{in}); err != nil {
		return nil, ShapeError(&l.Base, "sub-layer %s: %v", name, err)
	}
	nIn := 1
	for _, d := range in[free:] {
		nIn *= d
	}
	return &headProjection{EinsumDense: e, attr: attr, in: nIn, out: e.Kernel.Value.Size() / nIn, sigmoid: activation == "sigmoid"}, nil
}

// headProjection is one EinsumDense sub-layer computed as a GEMM: its
// kernel's contracted leading axes are the rows of the matrix, the output
// axes its columns.
type headProjection struct {
	*EinsumDense
	attr            string // Keras 3's attribute name in the weights file
	in, out         int
	sigmoid         bool
	packed, packedT runtime.Packed[*kernels.PackedB]
}

// forward returns x·kernel + bias (and the sigmoid of the gate) for rows
// rows of x.
func (p *headProjection) forward(x []float32, rows int) []float32 {
	y := make([]float32, rows*p.out)
	var bias []float32
	if p.Bias != nil {
		bias = p.Bias.Value.Data
	}
	pb := p.packed.Get(func() *kernels.PackedB { return kernels.PackB(p.in, p.out, p.Kernel.Value.Data, p.out) }, p.Kernel)
	kernels.Gemm(rows, p.out, p.in, x, p.in, pb, y, p.out, false, bias)
	if p.sigmoid {
		kernels.Sigmoid(y, y)
	}
	return y
}

// backward accumulates the kernel and bias gradients for dL/dy = gy
// (before the activation) and returns dL/dx when needX.
func (p *headProjection) backward(ctx *runtime.Context, trainable bool, x, gy []float32, rows int, needX bool) []float32 {
	if trainable && p.Trainable {
		gk := runtime.NewTensor(p.Kernel.Value.Shape...)
		xt := make([]float32, len(x))
		transposeInto(xt, x, rows, p.in)
		kernels.Gemm(p.in, p.out, rows, xt, rows, kernels.PackB(rows, p.out, gy, p.out), gk.Data, p.out, false, nil)
		ctx.AccumulateGrad(p.Kernel, gk)
		if p.Bias != nil {
			ctx.AccumulateGrad(p.Bias, &runtime.Tensor{Shape: copyShape(p.Bias.Value.Shape), Data: sumRows(gy, p.out)})
		}
	}
	if !needX {
		return nil
	}
	gx := make([]float32, rows*p.in)
	pt := p.packedT.Get(func() *kernels.PackedB { return kernels.PackBTrans(p.out, p.in, p.Kernel.Value.Data, p.out) }, p.Kernel)
	kernels.Gemm(rows, p.in, p.out, gy, p.out, pt, gx, p.in, false, nil)
	return gx
}

// Forward attends without masks.
func (l *MultiHeadAttention) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	out, _, back, err := l.forward(ctx, in, nil, l.call)
	return out, back, err
}

// ForwardMasked attends with the query's, value's and key's masks; the
// output keeps the query's mask.
func (l *MultiHeadAttention) ForwardMasked(ctx *runtime.Context, in, masks []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	return l.forward(ctx, in, masks, l.call)
}

// Keras's scale 1/sqrt(key_dim), computed in float64 and cast.
func (l *MultiHeadAttention) scale() float32 { return float32(1 / math.Sqrt(float64(l.KeyDim))) }

// headLayout maps the free positions of a projected input (batch and
// middle axes, row-major) to a group of batch-like axes and a position
// along the attention axes.
type headLayout struct {
	group, pos []int // per free position
	groups, t  int
}

func newHeadLayout(shape []int, axes []int) headLayout {
	free := shape[:len(shape)-1]
	n := runtime.ShapeSize(free)
	hl := headLayout{group: make([]int, n), pos: make([]int, n), groups: 1, t: 1}
	var gAxes []int
	for i := range free {
		if !slices.Contains(axes, i) {
			gAxes = append(gAxes, i)
			hl.groups *= free[i]
		}
	}
	for _, a := range axes {
		hl.t *= free[a]
	}
	st := rowMajorStrides(free)
	for f := 0; f < n; f++ {
		g, t := 0, 0
		for _, a := range gAxes {
			g = g*free[a] + f/st[a]%free[a]
		}
		for _, a := range axes {
			t = t*free[a] + f/st[a]%free[a]
		}
		hl.group[f], hl.pos[f] = g, t
	}
	return hl
}

// identity reports whether gather and scatter leave the data in place
// (the attention axes are the last free axes, in order: a rank-3 input).
func (hl headLayout) identity() bool {
	for f := range hl.group {
		if hl.group[f]*hl.t+hl.pos[f] != f {
			return false
		}
	}
	return true
}

// gather reorders a projection (free positions, then width values: all
// heads) into [groups][t][width].
func (hl headLayout) gather(p []float32, width int) []float32 {
	if hl.identity() {
		return p
	}
	out := make([]float32, len(p))
	for f := range hl.group {
		copy(out[(hl.group[f]*hl.t+hl.pos[f])*width:][:width], p[f*width:][:width])
	}
	return out
}

// scatter is the inverse of gather.
func (hl headLayout) scatter(b []float32, width int) []float32 {
	if hl.identity() {
		return b
	}
	out := make([]float32, len(b))
	for f := range hl.group {
		copy(out[f*width:][:width], b[(hl.group[f]*hl.t+hl.pos[f])*width:][:width])
	}
	return out
}

func (l *MultiHeadAttention) forward(ctx *runtime.Context, in, masks []*runtime.Tensor, call attentionCall) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	s, err := splitAttentionInputs(&l.Base, in, call)
	if err != nil {
		return nil, nil, nil, err
	}
	q, v, k := s.query, s.value, s.key
	r := q.Rank()
	if l.Query == nil {
		return nil, nil, nil, ShapeError(&l.Base, "called before it was built")
	}
	if v.Rank() != r || k.Rank() != r || q.Shape[r-1] != l.Query.in || k.Shape[r-1] != l.Key.in || v.Shape[r-1] != l.Value.in ||
		!equalShapes(v.Shape[:r-1], k.Shape[:r-1]) || q.Shape[0] != v.Shape[0] {
		return nil, nil, nil, ShapeError(&l.Base, "query, value and key shapes do not fit the layer: %s", shapesOf(in))
	}
	axes := l.AttentionAxes
	ql, kl := newHeadLayout(q.Shape, axes), newHeadLayout(k.Shape, axes)
	if ql.groups != kl.groups {
		return nil, nil, nil, ShapeError(&l.Base, "query and key differ outside the attention axes %v: %s", axes, shapesOf(in))
	}
	var qMask, vMask, kMask *runtime.Tensor
	if len(masks) > 0 {
		qMask = masks[0]
	}
	if len(masks) > 1 {
		vMask = masks[1]
	}
	if s.hasKey && len(masks) > 2 {
		kMask = masks[2]
	}
	rowsQ, rowsK := ql.groups*ql.t, kl.groups*kl.t
	att := &dotAttention{
		groups: ql.groups, heads: l.NumHeads, kvHeads: l.KVHeads, tq: ql.t, tk: kl.t,
		h: l.KeyDim, hv: l.ValueDim, scale: l.scale(), dropout: l.Dropout,
	}
	switch {
	case l.keras2 && l.robustMasking:
		att.mode = maskWhere
	case l.keras2:
		att.mode = maskAdd
	case l.Dropout > 0 || call.returnScores || r != 3:
		att.mode = maskWhereZero
	default:
		att.mode = maskWhere
	}
	if att.mask, err = l.attentionMask(q.Shape, k.Shape, ql, kl, s.mask, qMask, vMask, kMask, call.causal); err != nil {
		return nil, nil, nil, err
	}

	qp := l.Query.forward(q.Data, rowsQ)
	kp := l.Key.forward(k.Data, rowsK)
	vp := l.Value.forward(v.Data, rowsK)
	var gate []float32
	if l.Gate != nil {
		gate = l.Gate.forward(q.Data, rowsQ)
	}
	run, err := att.forward(ctx, ql.gather(qp, l.NumHeads*l.KeyDim), kl.gather(kp, l.KVHeads*l.KeyDim), kl.gather(vp, l.KVHeads*l.ValueDim), ctx.Grad || call.returnScores)
	if err != nil {
		return nil, nil, nil, ShapeError(&l.Base, "%v", err)
	}
	cp := ql.scatter(run.ctx, l.NumHeads*l.ValueDim)
	co := cp
	if gate != nil {
		co = make([]float32, len(cp))
		for i, x := range cp {
			co[i] = x * gate[i]
		}
	}
	y := l.AttentionOutput.forward(co, rowsQ)
	outShape := l.OutputShape
	if outShape == nil {
		outShape = []int{q.Shape[r-1]}
	}
	out := []*runtime.Tensor{{Shape: append(copyShape(q.Shape[:r-1]), outShape...), Data: y}}
	if call.returnScores {
		shape, _ := l.build(shapesOfTensors(in), call)
		out = append(out, &runtime.Tensor{Shape: shape[1], Data: run.probs})
	}
	var outMasks []*runtime.Tensor
	if qMask != nil {
		outMasks = []*runtime.Tensor{qMask}
		if call.returnScores {
			outMasks = append(outMasks, nil)
		}
	}
	if !ctx.Grad {
		return out, outMasks, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gy := make([]float32, len(y))
		if gout[0] != nil {
			gy = gout[0].Data
		}
		var gprobs []float32
		if call.returnScores && len(gout) > 1 && gout[1] != nil {
			gprobs = gout[1].Data
		}
		gco := l.AttentionOutput.backward(ctx, l.Trainable, co, gy, rowsQ, true)
		gcp := gco
		var gq []float32
		if gate != nil {
			gcp = make([]float32, len(gco))
			gz := make([]float32, len(gco))
			for i, g := range gco {
				gcp[i] = g * gate[i]
				gz[i] = g * cp[i] * gate[i] * (1 - gate[i])
			}
			gq = l.Gate.backward(ctx, l.Trainable, q.Data, gz, rowsQ, ctx.NeedInputGrad(0))
		}
		gQ, gK, gV := run.backward(ql.gather(gcp, l.NumHeads*l.ValueDim), gprobs)
		needK := s.hasKey && ctx.NeedInputGrad(2) || !s.hasKey && ctx.NeedInputGrad(1)
		gqx := l.Query.backward(ctx, l.Trainable, q.Data, ql.scatter(gQ, l.NumHeads*l.KeyDim), rowsQ, ctx.NeedInputGrad(0))
		gkx := l.Key.backward(ctx, l.Trainable, k.Data, kl.scatter(gK, l.KVHeads*l.KeyDim), rowsK, needK)
		gvx := l.Value.backward(ctx, l.Trainable, v.Data, kl.scatter(gV, l.KVHeads*l.ValueDim), rowsK, ctx.NeedInputGrad(1))
		if gq != nil && gqx != nil {
			for i, g := range gq {
				gqx[i] += g
			}
		}
		grads := make([]*runtime.Tensor, len(in))
		wrap := func(d []float32, like *runtime.Tensor) *runtime.Tensor {
			if d == nil {
				return nil
			}
			return &runtime.Tensor{Shape: copyShape(like.Shape), Data: d}
		}
		grads[0] = wrap(gqx, q)
		if s.hasKey {
			grads[1], grads[2] = wrap(gvx, v), wrap(gkx, k)
		} else {
			if gvx != nil && gkx != nil {
				for i, g := range gkx {
					gvx[i] += g
				}
			}
			grads[1] = wrap(gvx, v)
		}
		return grads, nil
	}
	return out, outMasks, back, nil
}

func shapesOfTensors(ts []*runtime.Tensor) [][]int {
	out := make([][]int, len(ts))
	for i, t := range ts {
		out[i] = t.Shape
	}
	return out
}

// attentionMask combines the attention_mask argument, the inputs' Keras
// masks, the causal mask and the sliding window into one entry per score
// ([groups*heads][Tq][Tk]); nil when nothing is masked.
func (l *MultiHeadAttention) attentionMask(qs, ks []int, ql, kl headLayout, am, qm, vm, km *runtime.Tensor, causal bool) ([]bool, error) {
	r := len(qs)
	auto := qm != nil || vm != nil || km != nil || causal || l.SlidingWindow > 0
	if am == nil && !auto {
		return nil, nil
	}
	G := ql.groups * l.NumHeads
	mask := make([]bool, G*ql.t*kl.t)
	for i := range mask {
		mask[i] = true
	}
	if am != nil {
		// Keras's scores shape: batch-like axes, heads, query attention
		// axes, key attention axes; the mask gains size-1 axes before the
		// attention axes until it has that rank, then broadcasts.
		var scores []int
		for i := 0; i < r-1; i++ {
			if !slices.Contains(l.AttentionAxes, i) {
				scores = append(scores, qs[i])
			}
		}
		scores = append(scores, l.NumHeads)
		for _, a := range l.AttentionAxes {
			scores = append(scores, qs[a])
		}
		for _, a := range l.AttentionAxes {
			scores = append(scores, ks[a])
		}
		nAttn := 2 * len(l.AttentionAxes)
		ra := am.Rank()
		if ra < nAttn || ra > len(scores) {
			return nil, ShapeError(&l.Base, "attention_mask %s does not fit scores %s", runtime.FormatShape(am.Shape), runtime.FormatShape(scores))
		}
		shape := append(append(copyShape(am.Shape[:ra-nAttn]), repeatInt(1, len(scores)-ra)...), am.Shape[ra-nAttn:]...)
		for i, d := range shape {
			if d != 1 && d != scores[i] {
				return nil, ShapeError(&l.Base, "attention_mask %s does not broadcast to scores %s", runtime.FormatShape(am.Shape), runtime.FormatShape(scores))
			}
		}
		for i, x := range broadcastTo(am.Data, shape, scores) {
			mask[i] = x != 0
		}
	}
	if !auto {
		return mask, nil
	}
	if r != 3 {
		return nil, ShapeError(&l.Base, "input masks, use_causal_mask and sliding_window need rank-3 inputs, got %s", runtime.FormatShape(qs))
	}
	B, T, S := qs[0], qs[1], ks[1]
	for _, m := range []struct {
		t    *runtime.Tensor
		n    int
		what string
	}{{qm, T, "query"}, {vm, S, "value"}, {km, S, "key"}} {
		if m.t != nil && m.t.Size() != B*m.n {
			return nil, ShapeError(&l.Base, "the %s's mask %s does not fit its shape", m.what, runtime.FormatShape(m.t.Shape))
		}
	}
	for g := 0; g < G; g++ {
		b := g / l.NumHeads
		for i := 0; i < T; i++ {
			row := mask[(g*T+i)*S : (g*T+i+1)*S]
			if qm != nil && qm.Data[b*T+i] == 0 {
				clear(row)
				continue
			}
			for j := range row {
				if vm != nil && vm.Data[b*S+j] == 0 || km != nil && km.Data[b*S+j] == 0 ||
					causal && j > i || l.SlidingWindow > 0 && (i-j >= l.SlidingWindow || j-i >= l.SlidingWindow) {
					row[j] = false
				}
			}
		}
	}
	return mask, nil
}
