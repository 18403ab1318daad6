package h5

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func wtSmallWriter(t *testing.T, value float32) *Writer {
	t.Helper()
	w := NewWriter()
	if _, err := w.Root().CreateDataset("x", Float32Array([]int{3}, []float32{value, value, value})); err != nil {
		t.Fatal(err)
	}
	return w
}

func wtDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.h5")
	w := wtSmallWriter(t, 1)
	if err := WriteFile(p, w); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := wtBytes(t, w); !bytes.Equal(got, want) {
		t.Error("file differs from WriteTo's bytes")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", fi.Mode().Perm())
	}
	// Overwriting keeps the existing file's permissions.
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	w2 := wtSmallWriter(t, 2)
	if err := WriteFile(p, w2); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(p)
	if !bytes.Equal(got, wtBytes(t, w2)) {
		t.Error("overwritten file differs from WriteTo's bytes")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("overwritten file mode %v, want 0600 kept", fi.Mode().Perm())
	}
	if names := wtDirNames(t, dir); !slices.Equal(names, []string{"m.h5"}) {
		t.Errorf("directory holds %q", names)
	}
}

// wtFailingWriter fails once more than limit bytes have been written.
type wtFailingWriter struct {
	w     io.Writer
	limit int
}

var errWtInjected = errors.New("injected write failure")

func (f *wtFailingWriter) Write(b []byte) (int, error) {
	if len(b) > f.limit {
		n, _ := f.w.Write(b[:f.limit])
		f.limit = 0
		return n, errWtInjected
	}
	f.limit -= len(b)
	return f.w.Write(b)
}

func TestWriteFileFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.h5")
	old := []byte("the previous model, which must survive")
	if err := os.WriteFile(p, old, 0o644); err != nil {
		t.Fatal(err)
	}
	// A writer large enough that the failure lands mid-file.
	w := NewWriter()
	if _, err := w.Root().CreateDataset("x", Float32Array([]int{1 << 18}, make([]float32, 1<<18))); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, 100, 1 << 19} {
		writerFileHook = func(out io.Writer) io.Writer { return &wtFailingWriter{w: out, limit: limit} }
		err := WriteFile(p, w)
		writerFileHook = nil
		if !errors.Is(err, errWtInjected) || !strings.Contains(err.Error(), p) {
			t.Fatalf("limit %d: error %v, want the injected failure naming %s", limit, err, p)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, old) {
			t.Fatalf("limit %d: old file changed", limit)
		}
		if names := wtDirNames(t, dir); !slices.Equal(names, []string{"m.h5"}) {
			t.Fatalf("limit %d: directory holds %q, want only the old file", limit, names)
		}
	}
}

func TestWriteFileBadTarget(t *testing.T) {
	dir := t.TempDir()
	w := wtSmallWriter(t, 1)
	if err := WriteFile(filepath.Join(dir, "missing", "m.h5"), w); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	// The target is a directory: refused before anything is written.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(sub, w); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("writing over a directory: %v", err)
	}
	// An invalid tree fails in WriteTo, after the temporary file exists.
	bad := NewWriter()
	v := Float32Array([]int{2}, []float32{1, 2})
	if _, err := bad.Root().CreateDataset("x", v); err != nil {
		t.Fatal(err)
	}
	v.Data = []float32{1}
	p := filepath.Join(dir, "m.h5")
	if err := WriteFile(p, bad); err == nil {
		t.Error("writing an invalid tree succeeded")
	}
	if names := wtDirNames(t, dir); !slices.Equal(names, []string{"sub"}) {
		t.Errorf("directory holds %q after failures", names)
	}
}
