package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, suffix string) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*"+suffix))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no %s seeds in testdata: %v", suffix, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzRead checks that Read never panics, never returns an array with an
// error, returns arrays consistent with their shape, and that a decoded
// array survives Write and a second Read unchanged.
func FuzzRead(f *testing.F) {
	addSeeds(f, ".npy")
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b))
		if err != nil {
			if a != nil {
				t.Fatal("array returned with an error")
			}
			return
		}
		if a.Len() != len(a.Data) {
			t.Fatalf("shape %v holds %d elements, data has %d", a.Shape, a.Len(), len(a.Data))
		}
		var buf bytes.Buffer
		if err := Write(&buf, a.Shape, a.Data); err != nil {
			t.Fatalf("Write of a decoded array: %v", err)
		}
		again, err := Read(&buf)
		if err != nil {
			t.Fatalf("Read of a written array: %v", err)
		}
		if !reflect.DeepEqual(again.Shape, a.Shape) || sameBits(again.Data, a.Data) != nil {
			t.Fatalf("round trip changed the array: %v %v -> %v %v", a.Shape, a.Data, again.Shape, again.Data)
		}
	})
}

// FuzzReadNPZ checks that archive decoding never panics and never returns
// arrays with an error.
func FuzzReadNPZ(f *testing.F) {
	addSeeds(f, ".npz")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := readNPZ(bytes.NewReader(b), int64(len(b)), "fuzz.npz")
		if err != nil {
			if m != nil {
				t.Fatal("arrays returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "npy: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		for name, a := range m {
			if a.Len() != len(a.Data) {
				t.Fatalf("%s: shape %v holds %d elements, data has %d", name, a.Shape, a.Len(), len(a.Data))
			}
		}
	})
}
