package runtime

import (
	"slices"
	"testing"
	"unsafe"
)

// scaleOp writes k*x into a buffer from Alloc, first filling it with
// garbage to show that nothing relies on recycled buffers being zero.
type scaleOp struct {
	k   float32
	got *[]float32 // the buffer of the last call
}

func (o scaleOp) Forward(ctx *Context, in []*Tensor) ([]*Tensor, Backward, error) {
	y := ctx.Alloc(len(in[0].Data))
	*o.got = y
	for i := range y {
		y[i] = -999
	}
	for i, v := range in[0].Data {
		y[i] = o.k * v
	}
	return []*Tensor{{Shape: append([]int(nil), in[0].Shape...), Data: y}}, nil, nil
}

// viewOp returns its input's data under another shape (as Reshape does).
type viewOp struct{}

func (viewOp) Forward(ctx *Context, in []*Tensor) ([]*Tensor, Backward, error) {
	return []*Tensor{{Shape: []int{len(in[0].Data)}, Data: in[0].Data}}, nil, nil
}

func overlaps(a, b []float32) bool {
	pa, pb := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa < pb+uintptr(cap(b))*4 && pb < pa+uintptr(cap(a))*4
}

// TestBuffersRecycle runs x -> a = 2x -> v = view(a) -> b = 3v -> c = 5b
// and d = 7x, outputs c and d: recycled buffers give the results fresh
// ones give; a's buffer, still seen through v, is not handed out to b but
// is to c once v died; b's goes to d; the input is never written.
func TestBuffersRecycle(t *testing.T) {
	var a, b, c, d []float32
	g := &Graph{NumValues: 6, Inputs: []int{0}, Outputs: []int{4, 5}, Nodes: []Node{
		{Name: "a", Op: scaleOp{2, &a}, In: []int{0}, Out: []int{1}},
		{Name: "v", Op: viewOp{}, In: []int{1}, Out: []int{2}}, // a dies here, seen through v
		{Name: "b", Op: scaleOp{3, &b}, In: []int{2}, Out: []int{3}},
		{Name: "c", Op: scaleOp{5, &c}, In: []int{3}, Out: []int{4}}, // v, b die here
		{Name: "d", Op: scaleOp{7, &d}, In: []int{0}, Out: []int{5}},
	}}
	if err := g.Finish(); err != nil {
		t.Fatal(err)
	}
	x := &Tensor{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}
	want, _, err := g.Run(&Context{}, []*Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	bufs := &Buffers{}
	for pass := 0; pass < 2; pass++ {
		ctx := &Context{Buffers: bufs}
		got, _, err := g.Run(ctx, []*Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !slices.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("pass %d: output %d = %v, want %v", pass, i, got[i].Data, want[i].Data)
			}
		}
		if !slices.Equal(x.Data, []float32{1, 2, 3, 4}) {
			t.Fatalf("pass %d: the input changed: %v", pass, x.Data)
		}
		switch {
		case overlaps(a, b):
			t.Errorf("pass %d: b got a's buffer while v still showed it", pass)
		case !overlaps(c, a) && !overlaps(c, b):
			t.Errorf("pass %d: c got a new buffer, not a recycled one", pass)
		case overlaps(got[0].Data, got[1].Data):
			t.Errorf("pass %d: the outputs share a buffer", pass)
		}
		if len(ctx.allocated) != 2 {
			t.Errorf("pass %d: %d buffers still out, want the 2 outputs'", pass, len(ctx.allocated))
		}
	}
	// With gradients wanted nothing is recycled.
	ctx := &Context{Buffers: bufs, Grad: true}
	if _, _, err := g.Run(ctx, []*Tensor{x}); err != nil {
		t.Fatal(err)
	}
	if ctx.allocated != nil {
		t.Errorf("a pass with gradients used the buffers")
	}
}

// TestBuffersLimit checks that give drops buffers beyond the limit and
// take only hands out a buffer of fitting size.
func TestBuffersLimit(t *testing.T) {
	b := &Buffers{limit: 10}
	b.give(make([]float32, 8))
	b.give(make([]float32, 8)) // over the limit: dropped
	if b.held != 8 || len(b.free) != 1 {
		t.Fatalf("held %d in %d buffers, want 8 in 1", b.held, len(b.free))
	}
	if s := b.take(3); cap(s) == 8 {
		t.Errorf("take(3) returned a buffer of capacity 8 (more than twice)")
	}
	if s := b.take(5); len(s) != 5 || cap(s) != 8 {
		t.Errorf("take(5) = len %d cap %d, want the free buffer", len(s), cap(s))
	}
	if b.held != 0 {
		t.Errorf("held %d after taking the only buffer", b.held)
	}
}
