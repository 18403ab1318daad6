package layers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

// maskedLayer runs a MaskedOp layer with fixed input masks, so that
// checkLayerContract can check its masked gradients.
type maskedLayer struct {
	Layer
	masks []*runtime.Tensor
}

func (m maskedLayer) Children() []Layer            { return []Layer{m.Layer} }
func (m maskedLayer) Weights() []*runtime.Variable { return nil }

func (m maskedLayer) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	out, _, back, err := m.Layer.(runtime.MaskedOp).ForwardMasked(ctx, in, m.masks)
	return out, back, err
}

// timeMask marks steps: rows of 1s and 0s, one row per batch entry.
func timeMask(rows ...[]float32) *runtime.Tensor {
	t := runtime.NewTensor(len(rows), len(rows[0]))
	for i, r := range rows {
		copy(t.Data[i*len(r):], r)
	}
	return t
}

func TestRecurrentLayersContract(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	mask := timeMask([]float32{1, 1, 0, 1}, []float32{0, 1, 1, 0}, []float32{1, 1, 1, 1})
	cases := []struct {
		class, config string
		shapes        [][]int
		mask          *runtime.Tensor
	}{
		{"SimpleRNN", `{"units": 3}`, [][]int{{3, 4, 2}}, nil},
		{"SimpleRNN", `{"units": 3, "return_sequences": true, "go_backwards": true}`, [][]int{{3, 4, 2}}, mask},
		{"LSTM", `{"units": 3}`, [][]int{{3, 4, 2}}, nil},
		{"LSTM", `{"units": 2, "return_sequences": true, "return_state": true}`, [][]int{{3, 4, 3}}, mask},
		{"LSTM", `{"units": 2, "return_state": true, "go_backwards": true}`, [][]int{{3, 4, 3}, {3, 2}, {3, 2}}, mask},
		{"LSTM", `{"units": 2, "return_sequences": true, "zero_output_for_mask": true, "recurrent_activation": "hard_sigmoid"}`, [][]int{{3, 4, 3}}, mask},
		{"GRU", `{"units": 3}`, [][]int{{3, 4, 2}}, nil},
		{"GRU", `{"units": 3, "reset_after": false, "return_sequences": true}`, [][]int{{3, 4, 2}}, mask},
		{"GRU", `{"units": 2, "reset_after": true, "return_state": true, "use_bias": false}`, [][]int{{3, 4, 2}, {3, 2}}, mask},
		{"RNN", `{"return_sequences": true, "return_state": true, "cell": {"class_name": "StackedRNNCells", "config": {"name": "s", "cells": [
			{"class_name": "LSTMCell", "config": {"name": "a", "units": 2}}, {"class_name": "GRUCell", "config": {"name": "b", "units": 3}}]}}}`,
			[][]int{{3, 4, 2}, {3, 2}, {3, 2}, {3, 3}}, mask},
	}
	for _, c := range cases {
		t.Run(c.class+c.config, func(t *testing.T) {
			var l Layer = newTestLayer(t, c.class, c.config)
			var in []*runtime.Tensor
			for _, s := range c.shapes {
				in = append(in, randomTensor(r, s...))
			}
			if c.mask != nil {
				l = maskedLayer{l, []*runtime.Tensor{c.mask}}
			}
			checkLayerContract(t, l, in, 2e-2)
		})
	}
}

func TestWrapperAndAttentionContract(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	mask := timeMask([]float32{1, 1, 0}, []float32{0, 1, 1})
	lstm := `{"class_name": "LSTM", "config": {"name": "l", "units": 2, "return_sequences": %s}}`
	cases := []struct {
		class, config string
		shapes        [][]int
		masks         []*runtime.Tensor
	}{
		{"Bidirectional", `{"layer": ` + fmt.Sprintf(lstm, "true") + `}`, [][]int{{2, 3, 2}}, []*runtime.Tensor{mask}},
		{"Bidirectional", `{"merge_mode": "sum", "layer": ` + fmt.Sprintf(lstm, "false") + `}`, [][]int{{2, 3, 2}}, []*runtime.Tensor{mask}},
		{"Bidirectional", `{"merge_mode": "mul", "layer": ` + fmt.Sprintf(lstm, "true") + `}`, [][]int{{2, 3, 2}}, nil},
		{"Bidirectional", `{"merge_mode": "ave", "layer": ` + fmt.Sprintf(lstm, "true") + `}`, [][]int{{2, 3, 2}}, nil},
		{"Bidirectional", `{"merge_mode": null, "layer": {"class_name": "GRU", "config": {"name": "g", "units": 2, "return_sequences": true, "return_state": true}}}`, [][]int{{2, 3, 2}, {2, 2}, {2, 2}}, []*runtime.Tensor{mask}},
		{"TimeDistributed", `{"layer": {"class_name": "Dense", "config": {"name": "d", "units": 3, "activation": "tanh"}}}`, [][]int{{2, 3, 4}}, nil},
		{"Masking", `{"mask_value": 0.5}`, [][]int{{2, 3, 2}}, nil},
		{"Attention", `{}`, [][]int{{2, 3, 4}, {2, 2, 4}}, []*runtime.Tensor{timeMask([]float32{1, 0, 1}, []float32{1, 1, 0}), timeMask([]float32{1, 0}, []float32{1, 1})}},
		{"Attention", `{"use_scale": true}`, [][]int{{2, 3, 4}, {2, 2, 5}, {2, 2, 4}}, nil},
		{"Attention", `{"use_scale": true, "score_mode": "concat"}`, [][]int{{2, 3, 4}, {2, 2, 4}}, []*runtime.Tensor{nil, timeMask([]float32{1, 0}, []float32{1, 1})}},
		{"Attention", `{}`, [][]int{{3, 4}, {3, 4}}, nil},
		{"AdditiveAttention", `{}`, [][]int{{2, 3, 4}, {2, 2, 4}}, nil},
		{"AdditiveAttention", `{"use_scale": false}`, [][]int{{2, 3, 4}, {2, 2, 4}}, []*runtime.Tensor{nil, timeMask([]float32{0, 1}, []float32{1, 1})}},
	}
	for _, c := range cases {
		t.Run(c.class+c.config, func(t *testing.T) {
			var l Layer = newTestLayer(t, c.class, c.config)
			var in []*runtime.Tensor
			for _, s := range c.shapes {
				in = append(in, randomTensor(r, s...))
			}
			if c.masks != nil {
				l = maskedLayer{l, c.masks}
			}
			checkLayerContract(t, l, in, 2e-2)
		})
	}
}
