package npy

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRowReader: rows read a few at a time are the array ReadFile reads,
// C and Fortran order alike; a file cut short fails at the rows it lacks.
func TestRowReader(t *testing.T) {
	dir := t.TempDir()
	shape := []int{7, 2, 3}
	data := make([]float32, 42)
	for i := range data {
		data[i] = float32(i) / 4
	}
	c := filepath.Join(dir, "c.npy")
	if err := WriteFile(c, shape, data); err != nil {
		t.Fatal(err)
	}
	// The same array as float64 in Fortran order.
	var raw []byte
	for k := 0; k < 3; k++ {
		for j := 0; j < 2; j++ {
			for i := 0; i < 7; i++ {
				raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(float64(data[i*6+j*3+k])))
			}
		}
	}
	f := filepath.Join(dir, "f.npy")
	if err := os.WriteFile(f, npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (7, 2, 3), }", raw), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{c, f} {
		rr, err := OpenRows(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rr.Shape(), shape) {
			t.Fatalf("%s: shape %v", path, rr.Shape())
		}
		var got []float32
		var counts []int
		for {
			d, n, err := rr.ReadRows(3)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			counts = append(counts, n)
			got = append(got, d...)
		}
		rr.Close()
		if !slices.Equal(counts, []int{3, 3, 1}) || !slices.Equal(got, data) {
			t.Errorf("%s: rows %v, data %v", path, counts, got)
		}
	}
	whole, err := os.ReadFile(c)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.npy")
	if err := os.WriteFile(cut, whole[:len(whole)-8], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRows(cut); err == nil || !strings.Contains(err.Error(), "cut.npy") {
		t.Errorf("a truncated file: %v", err)
	}
}
