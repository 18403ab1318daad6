package npy

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kerasrun/kerasrun/internal/atomicfile"
)

// maxNPZMembers caps the number of arrays in an archive.
const maxNPZMembers = 1 << 16

// ReadNPZ decodes every array of the .npz archive at path (np.savez or
// np.savez_compressed: stored or deflated members), keyed by name without
// the ".npy" suffix, as numpy's np.load does.
func ReadNPZ(path string) (map[string]*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return readNPZ(f, st.Size(), path)
}

func readNPZ(r io.ReaderAt, size int64, path string) (map[string]*Array, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &FormatError{File: path, Msg: "not a zip archive: " + err.Error()}
	}
	if len(zr.File) > maxNPZMembers {
		return nil, &FormatError{File: path, Msg: fmt.Sprintf("%d members exceed the limit of %d", len(zr.File), maxNPZMembers)}
	}
	out := make(map[string]*Array, len(zr.File))
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		name := strings.TrimSuffix(zf.Name, ".npy")
		if _, dup := out[name]; dup {
			return nil, &FormatError{File: path, Msg: fmt.Sprintf("member %q appears twice", zf.Name)}
		}
		a, err := readMember(zf)
		if err != nil {
			return nil, withFile(err, path+": "+zf.Name)
		}
		out[name] = a
	}
	return out, nil
}

func readMember(zf *zip.File) (*Array, error) {
	if zf.Method != zip.Store && zf.Method != zip.Deflate {
		return nil, &UnsupportedError{Feature: fmt.Sprintf("zip compression method %d", zf.Method)}
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, formatErrorf("%v", err)
	}
	defer rc.Close()
	h, err := readHeader(rc)
	if err != nil {
		return nil, err
	}
	// archive/zip stops at the declared uncompressed size and checks it and
	// the CRC at the end, so the declared size bounds what can arrive.
	if err := checkHolds(h, int64(zf.UncompressedSize64)); err != nil {
		return nil, err
	}
	a, err := readData(rc, h)
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) {
			// Deflate and checksum errors of a damaged member.
			err = formatErrorf("%v", err)
		}
		return nil, err
	}
	// Drain to the end so the zip reader verifies the checksum.
	if _, err := io.Copy(io.Discard, io.LimitReader(rc, 1<<20)); err != nil {
		return nil, formatErrorf("%v", err)
	}
	return a, nil
}

// npzTime is the fixed modification time of members WriteNPZ writes, so the
// same arrays always give the same bytes.
var npzTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteNPZ writes arrays[i] as member names[i]+".npy" of an uncompressed
// .npz archive at path (what np.savez writes), atomically. Each array is
// written as float32 with its Shape; DType is ignored.
func WriteNPZ(path string, names []string, arrays []*Array) error {
	if len(names) != len(arrays) {
		return fmt.Errorf("npy: WriteNPZ: %d names for %d arrays", len(names), len(arrays))
	}
	seen := map[string]bool{}
	for i, name := range names {
		if name == "" || seen[name] {
			return fmt.Errorf("npy: WriteNPZ: name %q is empty or repeated", name)
		}
		seen[name] = true
		if arrays[i] == nil {
			return fmt.Errorf("npy: WriteNPZ: array %q is nil", name)
		}
		if _, err := checkShape(arrays[i].Shape, len(arrays[i].Data)); err != nil {
			return fmt.Errorf("%w (array %q)", err, name)
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for i, name := range names {
			mw, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store, Modified: npzTime})
			if err != nil {
				return err
			}
			if err := Write(mw, arrays[i].Shape, arrays[i].Data); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}
