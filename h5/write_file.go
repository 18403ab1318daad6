package h5

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writerFileHook, when set by a test, wraps the temporary file's writer so
// a failure can be injected mid-write.
var writerFileHook func(io.Writer) io.Writer

// WriteFile writes the file built by w to path atomically: it writes a
// temporary file in the same directory, syncs it and renames it over path.
// On failure an existing file at path is left as it was and the temporary
// file is removed.
func WriteFile(path string, w *Writer) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("h5: write %s: not a regular file", path)
		}
		perm = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("h5: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("h5: write %s: %w", path, err)
		}
	}()
	var out io.Writer = f
	if writerFileHook != nil {
		out = writerFileHook(out)
	}
	if _, err = w.WriteTo(out); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename durable; some systems cannot sync a directory, and
	// the file itself is already complete, so this is best effort.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
