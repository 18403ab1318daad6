package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// IntegerLookup is keras.layers.IntegerLookup with a vocabulary given in
// the config: index 0 is mask_token (when set), then num_oov_indices (0
// or 1) out-of-vocabulary slots, then the vocabulary. With invert it maps
// indices back to tokens (oov_token for OOV slots). Output modes: "int",
// "one_hot", "multi_hot", "count". A vocabulary adapted and stored in
// assets, several OOV indices (hashed) and "tf_idf" are not supported.
type IntegerLookup struct {
	Base
	Vocabulary    []int
	NumOOV        int
	MaskToken     *int
	OOVToken      int
	Invert        bool
	OutputMode    string
	index         map[int]int
	vocabularyLen int
}

func init() { Register("IntegerLookup", newIntegerLookup, Supports{Inference: true, Training: true}) }

func newIntegerLookup(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &IntegerLookup{Base: b}
	c := spec.Config
	if _, isList := c["vocabulary"].([]any); !isList {
		return nil, ShapeError(&l.Base, "vocabulary must be a list in the config (adapted or file vocabularies are not supported)")
	}
	if l.Vocabulary, err = c.Ints("vocabulary", 0, nil); err != nil {
		return nil, err
	}
	if l.NumOOV, err = c.Int("num_oov_indices", 1); err != nil {
		return nil, err
	}
	if l.NumOOV < 0 || l.NumOOV > 1 {
		return nil, ShapeError(&l.Base, "num_oov_indices %d is not supported (0 or 1 are)", l.NumOOV)
	}
	if c.Has("mask_token") {
		m, err := c.Int("mask_token", 0)
		if err != nil {
			return nil, err
		}
		l.MaskToken = &m
	}
	if l.OOVToken, err = c.Int("oov_token", -1); err != nil {
		return nil, err
	}
	if l.Invert, err = c.Bool("invert", false); err != nil {
		return nil, err
	}
	if l.OutputMode, err = c.String("output_mode", "int"); err != nil {
		return nil, err
	}
	if !categoricalModes[l.OutputMode] || l.Invert && l.OutputMode != "int" {
		return nil, ShapeError(&l.Base, "output_mode %q is not supported here", l.OutputMode)
	}
	if sparse, err := c.Bool("sparse", false); err != nil {
		return nil, err
	} else if sparse {
		return nil, ShapeError(&l.Base, "sparse=True is not supported")
	}
	l.index = make(map[int]int, len(l.Vocabulary))
	first := l.NumOOV
	if l.MaskToken != nil {
		first++
	}
	for i, tok := range l.Vocabulary {
		if _, dup := l.index[tok]; dup {
			return nil, ShapeError(&l.Base, "vocabulary repeats token %d", tok)
		}
		l.index[tok] = first + i
	}
	l.vocabularyLen = first + len(l.Vocabulary)
	return l, nil
}

// Build returns the output shape.
func (l *IntegerLookup) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	return [][]int{encodedShape(s, l.OutputMode, l.vocabularyLen)}, nil
}

// Weights returns none.
func (l *IntegerLookup) Weights() []*runtime.Variable { return nil }

// Forward looks tokens (or, inverted, indices) up.
func (l *IntegerLookup) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	vals := integerValues(x.Data)
	out := make([]int, len(vals))
	maskOffset := 0
	if l.MaskToken != nil {
		maskOffset = 1
	}
	for i, v := range vals {
		if l.Invert {
			switch {
			case l.MaskToken != nil && v == 0:
				out[i] = *l.MaskToken
			case v >= maskOffset+l.NumOOV && v < l.vocabularyLen:
				out[i] = l.Vocabulary[v-maskOffset-l.NumOOV]
			default:
				out[i] = l.OOVToken
			}
			continue
		}
		if l.MaskToken != nil && v == *l.MaskToken {
			out[i] = 0
			continue
		}
		k, ok := l.index[v]
		if !ok {
			if l.NumOOV == 0 {
				return nil, nil, ShapeError(&l.Base, "value %d is not in the vocabulary and num_oov_indices is 0", v)
			}
			k = maskOffset
		}
		out[i] = k
	}
	y, err := encodeCategorical(out, x.Shape, l.OutputMode, l.vocabularyLen)
	if err != nil {
		return nil, nil, ShapeError(&l.Base, "%v", err)
	}
	return []*runtime.Tensor{y}, constantBackward(ctx), nil
}
