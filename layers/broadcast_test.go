package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

// TestBroadcastTo checks broadcastTo (whose trailing unbroadcast axes are
// copied as blocks) against the NumPy rule element by element.
func TestBroadcastTo(t *testing.T) {
	for _, c := range []struct{ shape, out []int }{
		{[]int{2, 1, 1, 9}, []int{2, 3, 4, 9}},   // per-channel scale of an image
		{[]int{1, 1, 1, 16}, []int{3, 2, 2, 16}}, // shared across the batch
		{[]int{2, 1, 3, 8}, []int{2, 5, 3, 8}},   // a block of two axes
		{[]int{2, 3, 1}, []int{2, 3, 7}},         // last axis broadcast
		{[]int{1, 4}, []int{5, 4}},               // block below the copy threshold
		{[]int{3, 1, 10}, []int{3, 2, 10}},
	} {
		t.Run(fmt.Sprint(c.shape, c.out), func(t *testing.T) {
			n := 1
			for _, d := range c.shape {
				n *= d
			}
			data := make([]float32, n)
			for i := range data {
				data[i] = float32(i + 1)
			}
			got := broadcastTo(data, c.shape, c.out)
			idx := make([]int, len(c.out))
			for o := range got {
				r, in := o, 0
				for a := len(c.out) - 1; a >= 0; a-- {
					idx[a] = r % c.out[a]
					r /= c.out[a]
				}
				for a, d := range c.shape {
					i := idx[a]
					if d == 1 {
						i = 0
					}
					in = in*d + i
				}
				if got[o] != data[in] {
					t.Fatalf("element %d (%v) = %v, want %v", o, idx, got[o], data[in])
				}
			}
		})
	}
}

// TestGlobalAveragePoolingRowOrder checks that inference's row-by-row
// channels_last average (all channels at once) gives the bits of the
// per-channel loop the gradient pass runs.
func TestGlobalAveragePoolingRowOrder(t *testing.T) {
	for _, keep := range []string{"false", "true"} {
		m := fuseModel(t, []int{7, 5, 19}, `{"class_name": "GlobalAveragePooling2D", "config": {"name": "g", "keepdims": `+keep+`}}`)
		x := runtime.NewTensor(3, 7, 5, 19)
		r := rand.New(rand.NewPCG(4, 5))
		for i := range x.Data {
			x.Data[i] = float32(r.NormFloat64() * 10)
		}
		fast, _, err := m.Forward(&runtime.Context{}, []*runtime.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		slow, _, err := m.Forward(&runtime.Context{Grad: true}, []*runtime.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		if !equalShapes(fast[0].Shape, slow[0].Shape) {
			t.Fatalf("keepdims %s: shape %v, want %v", keep, fast[0].Shape, slow[0].Shape)
		}
		for i, v := range slow[0].Data {
			if math.Float32bits(fast[0].Data[i]) != math.Float32bits(v) {
				t.Fatalf("keepdims %s: element %d = %v, want %v", keep, i, fast[0].Data[i], v)
			}
		}
	}
}
