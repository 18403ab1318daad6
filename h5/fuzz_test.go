package h5

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// fuzzDataLimit keeps fuzzed files from claiming the full default
// allowance for unwritten (fill-value) data on every run.
const fuzzDataLimit = 4 << 20

func addSeeds(f *testing.F) {
	paths, _ := filepath.Glob("testdata/corpus/*.h5")
	more, _ := filepath.Glob("testdata/fuzz/seeds/*")
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 64<<10 {
			f.Add(b)
		}
	}
}

// walkBytes opens b and walks everything in it; it must never panic.
func walkBytes(t *testing.T, b []byte) (string, string) {
	f, err := NewFile(bytes.NewReader(b), int64(len(b)), "fuzz.h5")
	if err != nil {
		if f != nil {
			t.Fatalf("NewFile returned a file and an error: %v", err)
		}
		return "", err.Error()
	}
	f.dataLimit = fuzzDataLimit
	s, err := walkAll(f)
	if err != nil {
		return s, err.Error()
	}
	var sb bytes.Buffer
	if err := f.Dump(&sb); err != nil {
		return s, "dump: " + err.Error()
	}
	return s, ""
}

// FuzzOpen opens arbitrary bytes as HDF5, walks every group, reads every
// dataset and attribute, and checks that a second, fresh read of the same
// bytes gives the same result.
func FuzzOpen(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		// A hang shows up as a crash with every goroutine's stack.
		timer := time.AfterFunc(10*time.Second, func() {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			os.Stderr.Write(buf[:n])
			panic("fuzz: input takes too long")
		})
		defer timer.Stop()
		s1, e1 := walkBytes(t, b)
		s2, e2 := walkBytes(t, b)
		if s1 != s2 || e1 != e2 {
			t.Fatalf("second read differs:\n%s %s\n---\n%s %s", s1, e1, s2, e2)
		}
	})
}
