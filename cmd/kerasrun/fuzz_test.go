package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun"
)

// FuzzReadInputs: the CLI's input reader (CSV with or without a header,
// JSON keyed by name or a bare nested list, .npy, told by content) on
// arbitrary bytes, then the placing of what it read into the tabular
// model's inputs and targets and the shape check, as predict and evaluate
// do. A panic or an error hiding one fails; an array that comes back
// holds as many values as its shape says.
func FuzzReadInputs(f *testing.F) {
	for _, p := range []string{"inputs/tab.csv", "inputs/tab.json", "inputs/numeric.npy", "inputs/category.npy", "inputs/y_score.npy"} {
		b, err := os.ReadFile(filepath.Join(testdata, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte("1,2,3,4\n5,6,7,8\n"), false)
	f.Add([]byte(`[[1, 2, 3], [4, 5, 6]]`), false)
	f.Add([]byte("numeric_0,numeric_1,numeric_2,category,score\n0.1,0.2,0.3,1,0.5\n"), true)
	m, err := kerasrun.Load(filepath.Join(testdata, "inputs", "model_tab.keras"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, targets bool) {
		slots := inputSlots(m)
		if targets {
			slots = append(slots, outputSlots(m)...)
		}
		r := &reader{m: m, slots: slots, stdin: bytes.NewReader(nil)}
		vs, err := r.readContent("fuzz", data)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("hidden panic: %v", err)
			}
			if vs != nil {
				t.Fatalf("values came back with the error %v", err)
			}
			return
		}
		for _, v := range vs {
			if v.t == nil {
				continue
			}
			n := 1
			for _, d := range v.t.Shape {
				n *= d
			}
			if n != len(v.t.Data) {
				t.Fatalf("%s: shape %v holds %d values, data has %d", v.from, v.t.Shape, n, len(v.t.Data))
			}
		}
		if vs, err = assign(slots, vs); err != nil {
			return
		}
		reshapeFlat(slots, vs)
		checkInputShapes(slots, vs)
	})
}
