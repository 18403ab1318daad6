// Package atomicfile writes files so that a reader sees either the old file
// or the complete new one: never a partial write, and a failed write leaves
// an existing file untouched.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// Write writes path through a temporary file in the same directory:
// write, sync, rename, then sync the directory where the system allows.
// On failure the temporary file is removed and an existing file at path is
// untouched. An existing file keeps its mode; a new one gets 0644.
//
// Where the system allows (Linux's O_TMPFILE), the temporary file has no
// name while it is written: it is linked beside path as ".NAME.tmp-N"
// only once complete and renamed over path at once, so a process killed
// while writing (even by SIGKILL) leaves no temporary file behind, unless
// killed between those two calls. Elsewhere it is named ".NAME.tmp-*"
// from the start. On Linux a live write holds an flock on its temporary
// file, and the next Write of path removes those no live write holds.
func Write(path string, write func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s exists and is not a regular file", path)
		}
		perm = fi.Mode().Perm()
	}
	sweepStale(dir, base)
	if f, err := createUnnamed(dir, path, perm); err == nil {
		return writeUnnamed(f, dir, base, path, perm, write)
	}
	return writeNamed(dir, base, path, perm, write)
}

// writeUnnamed writes the unnamed file f, then names it and renames it
// over path. Should naming fail (no /proc mounted), the written bytes go
// through a named temporary file instead.
func writeUnnamed(f *os.File, dir, base, path string, perm os.FileMode, write func(io.Writer) error) error {
	defer f.Close()
	if err := lockTemp(f); err != nil {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	tmp, err := linkTemp(f, dir, base)
	if err != nil {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		return writeNamed(dir, base, path, perm, func(w io.Writer) error {
			_, err := io.Copy(w, f)
			return err
		})
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(dir)
	return nil
}

// linkTemp names the unnamed file f ".BASE.tmp-N" in dir, for a free N.
func linkTemp(f *os.File, dir, base string) (string, error) {
	for range 100 {
		tmp := filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		err := nameUnnamed(f, tmp)
		if !errors.Is(err, os.ErrExist) {
			return tmp, err
		}
	}
	return "", fmt.Errorf("no free temporary name for %s in %s", base, dir)
}

// writeNamed writes path through the named temporary file ".BASE.tmp-*".
func writeNamed(dir, base, path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = lockTemp(f); err != nil {
		return err
	}
	if err = write(f); err != nil {
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
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable; some systems cannot sync a
// directory, and the file itself is already complete, so this is best
// effort.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
