package runtime

import (
	"slices"
	"testing"
)

// passOp returns its output gradient itself as its input gradient, as
// identity-like layers do.
type passOp struct{}

func (passOp) Forward(ctx *Context, in []*Tensor) ([]*Tensor, Backward, error) {
	return in, func(g []*Tensor) ([]*Tensor, error) { return g, nil }, nil
}

// addOp adds its two inputs; its backward hands the same gradient tensor to
// both.
type addOp struct{}

func (addOp) Forward(ctx *Context, in []*Tensor) ([]*Tensor, Backward, error) {
	y := in[0].Clone()
	for i, v := range in[1].Data {
		y.Data[i] += v
	}
	return []*Tensor{y}, func(g []*Tensor) ([]*Tensor, error) { return []*Tensor{g[0], g[0]}, nil }, nil
}

// TestBackwardCopyOnWrite runs x -> a = pass(x), b = pass(x), c = a + b,
// d = c + a: the gradients meeting at x and a are shared tensors, which
// the sums must not write into; the caller's output gradient stays intact.
func TestBackwardCopyOnWrite(t *testing.T) {
	g := &Graph{NumValues: 5, Inputs: []int{0}, Outputs: []int{4}, Nodes: []Node{
		{Name: "a", Op: passOp{}, In: []int{0}, Out: []int{1}},
		{Name: "b", Op: passOp{}, In: []int{0}, Out: []int{2}},
		{Name: "c", Op: addOp{}, In: []int{1, 2}, Out: []int{3}},
		{Name: "d", Op: addOp{}, In: []int{3, 1}, Out: []int{4}},
	}}
	if err := g.Finish(); err != nil {
		t.Fatal(err)
	}
	ctx := &Context{Grad: true}
	x := &Tensor{Shape: []int{3}, Data: []float32{1, 2, 3}}
	out, tr, err := g.Run(ctx, []*Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out[0].Data, []float32{3, 6, 9}) {
		t.Fatalf("forward %v", out[0].Data)
	}
	gy := &Tensor{Shape: []int{3}, Data: []float32{1, 10, 100}}
	gin, err := tr.Backward([]*Tensor{gy})
	if err != nil {
		t.Fatal(err)
	}
	// d = 3x: dx = 3*gy.
	if !slices.Equal(gin[0].Data, []float32{3, 30, 300}) {
		t.Errorf("input gradient %v, want [3 30 300]", gin[0].Data)
	}
	if !slices.Equal(gy.Data, []float32{1, 10, 100}) {
		t.Errorf("backward changed the output gradient: %v", gy.Data)
	}
}
