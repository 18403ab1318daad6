package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWriteReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(got) != "new" || st.Mode().Perm() != 0o600 {
		t.Fatalf("got %q mode %v, want \"new\" with the old mode 0600", got, st.Mode().Perm())
	}
}

func TestFailedWriteLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := Write(p, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the writer's error", err)
	}
	got, _ := os.ReadFile(p)
	entries, _ := os.ReadDir(dir)
	if string(got) != "old" || len(entries) != 1 {
		t.Fatalf("after a failed write: content %q, %d entries; want the old file alone", got, len(entries))
	}
}

func TestRefusesNonRegularTarget(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, func(io.Writer) error { return nil }); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
}

// TestWriteNamesNothingWhileWriting: on Linux the file being written has
// no name, so a process killed while writing leaves nothing behind.
func TestWriteNamesNothingWhileWriting(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("O_TMPFILE is Linux's")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(p, func(w io.Writer) error {
		io.WriteString(w, "partial")
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 1 || entries[0].Name() != "f" {
			t.Errorf("while writing the directory holds %v (%v), want only f", entries, err)
		}
		_, err = io.WriteString(w, " new")
		return err
	})
	if got, _ := os.ReadFile(p); err != nil || string(got) != "partial new" {
		t.Fatalf("Write = %v, file %q", err, got)
	}
}

// TestWriteSweepsStaleTemporaries: a temporary file of path that no live
// write holds (its writer was killed) goes at the next Write; one a live
// write holds stays.
func TestWriteSweepsStaleTemporaries(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sweep relies on Linux's flock")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	stale, live, other := filepath.Join(dir, ".f.tmp-1"), filepath.Join(dir, ".f.tmp-2"), filepath.Join(dir, ".g.tmp-3")
	for _, q := range []string{stale, live, other} {
		if err := os.WriteFile(q, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lf, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := lockTemp(lf); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".f.tmp-2 .g.tmp-3 f" {
		t.Fatalf("after Write the directory holds %q, want the live temporary file, the other file's and f", names)
	}
}
