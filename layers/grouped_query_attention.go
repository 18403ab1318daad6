package layers

import "github.com/kerasrun/kerasrun/kerasjson"

// newGroupedQueryAttention builds keras.layers.GroupedQueryAttention
// (exported also as GroupQueryAttention): MultiHeadAttention over rank-3
// inputs with num_query_heads query heads sharing num_key_value_heads key
// and value heads (query head u reads key/value head u / (num_query_heads
// / num_key_value_heads)), head_dim wide, projected back to the query's
// feature dimension. Its sub-layers and weights are Keras's: query, key,
// gate (use_gate), value, attention_output.
func newGroupedQueryAttention(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	// Keras saves the layer under its Python class name
	// (layers/grouped_query_attention/...), whatever name the config uses,
	// and its sub-layers under their private attribute names.
	b.ClassName = "GroupedQueryAttention"
	l := &MultiHeadAttention{Base: b, privateAttrs: true}
	c := spec.Config
	if l.KeyDim, err = c.Int("head_dim", 0); err != nil {
		return nil, err
	}
	if l.NumHeads, err = c.Int("num_query_heads", 0); err != nil {
		return nil, err
	}
	if l.KVHeads, err = c.Int("num_key_value_heads", 0); err != nil {
		return nil, err
	}
	if l.KeyDim <= 0 || l.NumHeads <= 0 || l.KVHeads <= 0 || l.NumHeads%l.KVHeads != 0 {
		return nil, ShapeError(&l.Base, "head_dim, num_query_heads and num_key_value_heads must be positive and num_key_value_heads divide num_query_heads, got %d, %d, %d", l.KeyDim, l.NumHeads, l.KVHeads)
	}
	l.ValueDim = l.KeyDim
	if err := l.readCommon(c); err != nil {
		return nil, err
	}
	return &groupedQueryAttention{l}, nil
}

// groupedQueryAttention is a MultiHeadAttention that takes only rank-3
// inputs whose query and value share their last dimension, as Keras's.
type groupedQueryAttention struct{ *MultiHeadAttention }

func (l *groupedQueryAttention) Build(in [][]int) ([][]int, error) {
	if err := checkGroupedInputs(l.MultiHeadAttention, in); err != nil {
		return nil, err
	}
	return l.MultiHeadAttention.Build(in)
}

func checkGroupedInputs(l *MultiHeadAttention, in [][]int) error {
	if len(in) < 2 || len(in[0]) != 3 {
		return ShapeError(&l.Base, "takes rank-3 query, value (and key), got %s", shapesString(in))
	}
	if in[0][2] != in[1][len(in[1])-1] {
		return ShapeError(&l.Base, "query and value must share their last dimension, got %s", shapesString(in))
	}
	return nil
}

// BindCall binds a call's arguments, keeping the rank check.
func (l *groupedQueryAttention) BindCall(kwargs map[string]any) (Layer, error) {
	bound, err := l.MultiHeadAttention.BindCall(kwargs)
	if err != nil || bound == Layer(l.MultiHeadAttention) {
		return l, err
	}
	return &boundGroupedQueryAttention{bound.(*boundMultiHeadAttention)}, nil
}

type boundGroupedQueryAttention struct{ *boundMultiHeadAttention }

func (b *boundGroupedQueryAttention) Build(in [][]int) ([][]int, error) {
	if err := checkGroupedInputs(b.MultiHeadAttention, in); err != nil {
		return nil, err
	}
	return b.boundMultiHeadAttention.Build(in)
}

func init() {
	Register("GroupedQueryAttention", newGroupedQueryAttention, Supports{Inference: true, Training: true})
	Register("GroupQueryAttention", newGroupedQueryAttention, Supports{Inference: true, Training: true})
}
