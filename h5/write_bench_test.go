package h5

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkWriteFloat32 writes ~100 MB of float32 weights in 100 datasets
// of 1 MB (like the kernels of a mid-size model) to io.Discard.
func BenchmarkWriteFloat32(b *testing.B) {
	const datasets, elems = 100, 1 << 18 // 100 x 1 MiB
	w := NewWriter()
	g, err := w.Root().CreateGroup("model_weights")
	if err != nil {
		b.Fatal(err)
	}
	for i := range datasets {
		data := make([]float32, elems)
		for j := range data {
			data[j] = float32(i*elems+j) * 1e-3
		}
		if _, err := g.CreateDataset(fmt.Sprintf("kernel_%d", i), Float32Array([]int{512, 512}, data)); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(datasets * elems * 4)
	b.ResetTimer()
	for range b.N {
		if _, err := w.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
