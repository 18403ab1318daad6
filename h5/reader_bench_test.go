package h5

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchWeightsPath is the ~100 MB weights file shared with
// compat/python/bench_h5.py, which times h5py reading the same file.
func benchWeightsPath() string {
	if p := os.Getenv("H5BENCH_FILE"); p != "" {
		return p
	}
	return filepath.Join(os.TempDir(), "kerasrun-bench-weights.h5")
}

// Layout of the benchmark file: Keras 3 style groups layers/dense_<i>/vars
// with a 1000x1000 float32 kernel and a 1000-element bias, 25 layers.
const (
	benchLayers = 25
	benchUnits  = 1000
)

// ensureBenchWeights writes the benchmark file with this package's writer
// unless it exists (bench_h5.py can also write it with h5py).
func ensureBenchWeights(b *testing.B) string {
	p := benchWeightsPath()
	if _, err := os.Stat(p); err == nil {
		return p
	}
	w := NewWriter()
	layers, err := w.Root().CreateGroup("layers")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < benchLayers; i++ {
		g, err := layers.CreateGroup(fmt.Sprintf("dense_%d", i))
		if err != nil {
			b.Fatal(err)
		}
		vars, err := g.CreateGroup("vars")
		if err != nil {
			b.Fatal(err)
		}
		kernel := make([]float32, benchUnits*benchUnits)
		for j := range kernel {
			kernel[j] = float32(j%1013)*0.001 - float32(i)
		}
		if _, err := vars.CreateDataset("0", Float32Array([]int{benchUnits, benchUnits}, kernel)); err != nil {
			b.Fatal(err)
		}
		bias := make([]float32, benchUnits)
		if _, err := vars.CreateDataset("1", Float32Array([]int{benchUnits}, bias)); err != nil {
			b.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkReadWeights opens the file and reads every weight, as loading a
// model does. Compare with `python compat/python/bench_h5.py` on the same
// file.
func BenchmarkReadWeights(b *testing.B) {
	p := ensureBenchWeights(b)
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		layers, err := f.Root().Group("layers")
		if err != nil {
			b.Fatal(err)
		}
		names, err := layers.Children()
		if err != nil {
			b.Fatal(err)
		}
		var total int
		for _, n := range names {
			for _, v := range []string{"vars/0", "vars/1"} {
				d, err := layers.Dataset(n + "/" + v)
				if err != nil {
					b.Fatal(err)
				}
				a, err := d.Read()
				if err != nil {
					b.Fatal(err)
				}
				total += a.Len()
			}
		}
		if total != benchLayers*(benchUnits*benchUnits+benchUnits) {
			b.Fatalf("read %d values", total)
		}
		f.Close()
	}
}

// BenchmarkReadWeightsInto reads every weight into memory allocated once,
// as a model loader fills tensors that already exist. Compare with
// `python compat/python/bench_h5.py --direct` (h5py's read_direct).
func BenchmarkReadWeightsInto(b *testing.B) {
	p := ensureBenchWeights(b)
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	dst := map[string][]float32{}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		layers, err := f.Root().Group("layers")
		if err != nil {
			b.Fatal(err)
		}
		names, err := layers.Children()
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range names {
			for _, v := range []string{"vars/0", "vars/1"} {
				d, err := layers.Dataset(n + "/" + v)
				if err != nil {
					b.Fatal(err)
				}
				key := n + "/" + v
				buf, ok := dst[key]
				if !ok {
					size := 1
					for _, s := range d.Shape() {
						size *= s
					}
					buf = make([]float32, size)
					dst[key] = buf
				}
				if err := d.ReadFloat32Into(buf); err != nil {
					b.Fatal(err)
				}
			}
		}
		f.Close()
	}
}
