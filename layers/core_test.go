package layers

import (
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

func TestCoreFamilyContract(t *testing.T) {
	runContractCases(t, []layerCase{
		{"EinsumDense", `{"equation": "abc,cde->abde", "output_shape": [null, 2, 3], "bias_axes": "de", "activation": "tanh"}`, [][]int{{2, 3, 4}}, nil},
		{"EinsumDense", `{"equation": "...b,bc->...c", "output_shape": 4, "bias_axes": "c"}`, [][]int{{2, 3, 2, 5}}, nil},
		{"EinsumDense", `{"equation": "ab...,bc->ac...", "output_shape": [4, 3], "bias_axes": "c"}`, [][]int{{2, 5, 3}}, nil},
		{"Identity", `{}`, [][]int{{2, 3}}, nil},
	}, 51)
}

func TestEmbedding(t *testing.T) {
	l := newTestLayer(t, "Embedding", `{"input_dim": 4, "output_dim": 2, "mask_zero": true}`)
	if out, err := l.Build([][]int{{-1, 3}}); err != nil || !equalShapes(out[0], []int{-1, 3, 2}) {
		t.Fatalf("Build: %v %v", out, err)
	}
	e := l.(*Embedding)
	if !e.MaskZero {
		t.Error("mask_zero not read")
	}
	for i := range e.Embeddings.Value.Data {
		e.Embeddings.Value.Data[i] = float32(i)
	}
	x := &runtime.Tensor{Shape: []int{2, 3}, Data: []float32{0, 3, 1, 3.7, 2, 3}}
	ctx := &runtime.Context{Grad: true}
	out, back, err := l.Forward(ctx, []*runtime.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 1, 6, 7, 2, 3, 6, 7, 4, 5, 6, 7}
	for i, w := range want {
		if out[0].Data[i] != w {
			t.Fatalf("output %v, want %v", out[0].Data, want)
		}
	}
	g := &runtime.Tensor{Shape: []int{2, 3, 2}, Data: []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}
	if _, err := back([]*runtime.Tensor{g}); err != nil {
		t.Fatal(err)
	}
	wantG := []float32{1, 1, 1, 1, 1, 1, 3, 3}
	for i, w := range wantG {
		if ctx.Grads[e.Embeddings].Data[i] != w {
			t.Fatalf("embeddings grad %v, want %v", ctx.Grads[e.Embeddings].Data, wantG)
		}
	}
	for _, bad := range []float32{4, -1, 1e9} {
		x := &runtime.Tensor{Shape: []int{1, 1}, Data: []float32{bad}}
		out, _, err := l.Forward(&runtime.Context{}, []*runtime.Tensor{x})
		if err == nil || out != nil || !strings.Contains(err.Error(), "(Embedding)") || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("index %v: got %v, %v; want an out-of-range error naming the layer", bad, out, err)
		}
	}
}

func TestEinsumDenseErrors(t *testing.T) {
	for _, c := range []struct{ config, want string }{
		{`{"equation": "ab,bc", "output_shape": 4}`, "invalid einsum equation"},
		{`{"equation": "ab,bc->ac"}`, "no output_shape"},
		{`{"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "z"}`, "bias dimension"},
	} {
		l, err := buildTestLayer("EinsumDense", c.config)
		if err == nil {
			_, err = l.Build([][]int{{-1, 3}})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.config, err, c.want)
		}
	}
}
