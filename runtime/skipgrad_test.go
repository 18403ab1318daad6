package runtime

import "testing"

// recordingOp doubles its input and records, when its backward runs,
// which input gradients the graph asked for.
type recordingOp struct{ asked *[]bool }

func (o recordingOp) Forward(ctx *Context, in []*Tensor) ([]*Tensor, Backward, error) {
	y := in[0].Clone()
	for i := range y.Data {
		y.Data[i] *= 2
	}
	return []*Tensor{y}, func(g []*Tensor) ([]*Tensor, error) {
		*o.asked = append(*o.asked, ctx.NeedInputGrad(0))
		gx := g[0].Clone()
		for i := range gx.Data {
			gx.Data[i] *= 2
		}
		return []*Tensor{gx}, nil
	}, nil
}

func chain(ops ...Op) *Graph {
	g := &Graph{NumValues: len(ops) + 1, Inputs: []int{0}, Outputs: []int{len(ops)}}
	for i, op := range ops {
		g.Nodes = append(g.Nodes, Node{Name: "op", Op: op, In: []int{i}, Out: []int{i + 1}})
	}
	if err := g.Finish(); err != nil {
		panic(err)
	}
	return g
}

// nestedOp runs a graph as one op, as a nested model does.
type nestedOp struct{ g *Graph }

func (n nestedOp) Forward(ctx *Context, in []*Tensor) ([]*Tensor, Backward, error) {
	out, tr, err := n.g.Run(ctx, in)
	if err != nil || tr == nil {
		return out, nil, err
	}
	return out, tr.Backward, nil
}

func TestSkipInputGrads(t *testing.T) {
	var asked []bool
	rec := recordingOp{&asked}
	inner := chain(rec, rec)
	outer := chain(rec, nestedOp{inner}, rec)
	x, _ := FromData([]int{1}, []float32{1})
	for _, skip := range []bool{false, true} {
		asked = nil
		ctx := &Context{Grad: true, SkipInputGrads: skip}
		_, tr, err := outer.Run(ctx, []*Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		gin, err := tr.Backward([]*Tensor{{Shape: []int{1}, Data: []float32{1}}})
		if err != nil {
			t.Fatal(err)
		}
		// Backward order: outer op 3, inner op 2, inner op 1, outer op 1.
		// Only the outer graph's first op reads a graph input; the nested
		// graph's inputs need gradients for the outer graph.
		want := []bool{true, true, true, !skip}
		if len(asked) != len(want) {
			t.Fatalf("skip=%v: %d backward calls, want %d", skip, len(asked), len(want))
		}
		for i := range want {
			if asked[i] != want[i] {
				t.Errorf("skip=%v: call %d asked for its input gradient: %v, want %v", skip, i, asked[i], want[i])
			}
		}
		if gin[0] == nil || gin[0].Data[0] != 16 {
			t.Errorf("skip=%v: input gradient %v, want 16 (the op computed it anyway)", skip, gin[0])
		}
	}
}
