// Package saving reads what Keras's saving code writes (keras/src/saving):
// it detects a model file's format, opens a .keras archive (zipped or a
// directory) with its config, metadata and weights file, and bounds what
// a compressed weights member may inflate to.
package saving

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/layers"
)

// Format is a model file format.
type Format int

// The formats Load reads, detected from content.
const (
	FormatUnknown   Format = iota
	FormatH5               // legacy full-model HDF5 (model.save("m.h5"))
	FormatKeras            // Keras 3 .keras zip archive
	FormatKerasDir         // a .keras archive saved unzipped as a directory
	FormatJSON             // model.to_json() plus a weights file
	FormatWeightsH5        // Keras 3 weights only (model.save_weights("x.weights.h5")); Save writes it
)

func (f Format) String() string {
	switch f {
	case FormatH5:
		return "legacy HDF5 (.h5)"
	case FormatKeras:
		return "Keras 3 archive (.keras)"
	case FormatKerasDir:
		return "Keras 3 archive directory"
	case FormatJSON:
		return "model JSON + weights"
	case FormatWeightsH5:
		return "Keras 3 weights (.weights.h5)"
	}
	return "unknown"
}

// MaxConfigBytes caps the JSON a file may declare (a real model config is
// at most a few MB).
const MaxConfigBytes = 256 << 20

var hdf5Signature = []byte("\x89HDF\r\n\x1a\n")

// Detect reports a model file's format from its content.
func Detect(path string) (Format, error) {
	st, err := os.Stat(path)
	if err != nil {
		return FormatUnknown, err
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "config.json")); err == nil {
			return FormatKerasDir, nil
		}
		return FormatUnknown, fmt.Errorf("kerasrun: %s: a directory without config.json is not a Keras model", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return FormatUnknown, err
	}
	defer f.Close()
	return DetectContent(f, st.Size(), path)
}

// DetectContent reports the format of a single-file model of size bytes.
func DetectContent(r io.ReaderAt, size int64, name string) (Format, error) {
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.Equal(head, hdf5Signature):
		return FormatH5, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return FormatKeras, nil
	case len(bytes.TrimLeft(head, " \t\r\n")) > 0 && bytes.TrimLeft(head, " \t\r\n")[0] == '{':
		return FormatJSON, nil
	}
	// HDF5 allows a user block before the superblock, at 512, 1024, ...
	for off := int64(512); off < size && off <= 1<<20; off *= 2 {
		buf := make([]byte, 8)
		if _, err := r.ReadAt(buf, off); err == nil && bytes.Equal(buf, hdf5Signature) {
			return FormatH5, nil
		}
	}
	return FormatUnknown, fmt.Errorf("kerasrun: %s: not a Keras model file (neither HDF5, a .keras zip archive nor JSON)", name)
}

func ReadCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("kerasrun: %s: larger than %d bytes", path, limit)
	}
	return data, nil
}

// Archive is the content of a .keras archive, zipped or not.
type Archive struct {
	Config, Metadata []byte
	Weights          *h5.File
	NPZWeights       bool // the archive holds model.weights.npz instead
	closers          []io.Closer

	// member and r are a zipped archive's model.weights.h5 until
	// OpenWeights opens it.
	member *zip.File
	r      io.ReaderAt
	name   string
}

// OpenZip reads a .keras archive's config and metadata; OpenWeights
// then opens its weights file; close releases both.
func OpenZip(r io.ReaderAt, size int64, name string) (*Archive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", name, err)
	}
	a := &Archive{r: r, name: name}
	for _, zf := range zr.File {
		switch zf.Name {
		case "config.json":
			a.Config, err = readZipMember(zf, MaxConfigBytes)
		case "metadata.json":
			a.Metadata, err = readZipMember(zf, 1<<20)
		case "model.weights.npz":
			a.NPZWeights = true
		case "model.weights.h5":
			if a.member != nil {
				err = fmt.Errorf("the archive holds model.weights.h5 twice")
			}
			a.member = zf
		}
		if err != nil {
			return nil, fmt.Errorf("kerasrun: %s: %s: %w", name, zf.Name, err)
		}
	}
	return a, nil
}

// OpenZipFile opens the .keras archive at path (for Inspect).
func OpenZipFile(path string) (*Archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		var a *Archive
		if a, err = OpenZip(f, st.Size(), path); err == nil {
			a.closers = append(a.closers, f)
			return a, nil
		}
	}
	f.Close()
	return nil, err
}

// OpenWeights opens a zipped archive's model.weights.h5, refusing a
// compressed member that would inflate past limit bytes (see
// openZipHDF5). It does nothing for a directory or an archive without
// weights.
func (a *Archive) OpenWeights(limit int64) error {
	if a.Weights != nil || a.member == nil {
		return nil
	}
	f, closer, err := openZipHDF5(a.member, a.r, a.name, limit)
	if err != nil {
		return fmt.Errorf("kerasrun: %s: %s: %w", a.name, a.member.Name, err)
	}
	if closer != nil {
		a.closers = append(a.closers, closer)
	}
	a.Weights = f
	return nil
}

func (a *Archive) Close() {
	if a.Weights != nil {
		a.Weights.Close()
	}
	for _, c := range a.closers {
		c.Close()
	}
}

func readZipMember(zf *zip.File, limit int64) ([]byte, error) {
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("declares %d bytes, more than the %d allowed", zf.UncompressedSize64, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// OpenDir reads a .keras archive saved unzipped as a directory.
func OpenDir(path string) (*Archive, error) {
	a := &Archive{}
	var err error
	if a.Config, err = ReadCapped(filepath.Join(path, "config.json"), MaxConfigBytes); err != nil {
		return nil, err
	}
	a.Metadata, _ = ReadCapped(filepath.Join(path, "metadata.json"), 1<<20)
	if _, err := os.Stat(filepath.Join(path, "model.weights.npz")); err == nil {
		a.NPZWeights = true
	}
	if _, err := os.Stat(filepath.Join(path, "model.weights.h5")); err == nil || !a.NPZWeights {
		if a.Weights, err = h5.Open(filepath.Join(path, "model.weights.h5")); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// The bound on a compressed model.weights.h5: the bytes the model's own
// variables take as float64 (Keras stores float32, or float64 for a
// float64 model), the same again for each of up to maxSlots optimizer
// slots per variable (Keras 3 keeps the optimizer in the same file), plus
// HDF5's object headers and B-trees per variable and a fixed allowance
// for the file's own structure.
const (
	maxSlots           = 4
	h5OverheadPerVar   = 64 << 10
	h5OverheadPerFile  = 16 << 20
	MaxInspectWeights  = 8 << 30 // Inspect builds no model: a fixed bound
	maxCompressionRate = 200     // inflated:compressed, past ratioFloor
	ratioFloor         = 64 << 20
)

// WeightsBound is the most bytes a model.weights.h5 for net can need.
func WeightsBound(net *layers.Model) int64 {
	var elems, nvars int64
	for _, v := range layers.WalkVariables(net) {
		elems += int64(v.V.Value.Size())
		nvars++
	}
	// The optimizer's own scalars (iteration, learning rate) and metric
	// variables count as variables too.
	nvars = nvars*(1+maxSlots) + 64
	return elems*8*(1+maxSlots) + nvars*h5OverheadPerVar + h5OverheadPerFile
}

// openZipHDF5 opens an HDF5 member in place when it is stored (Keras
// stores it uncompressed). A compressed member is inflated into an
// unlinked temporary file, never into memory, and only up to limit bytes
// and a compression ratio of maxCompressionRate: a deflate bomb is refused
// from its declared size before anything is inflated, or as soon as it
// passes either bound. The returned Closer, if any, releases the
// temporary file.
func openZipHDF5(zf *zip.File, r io.ReaderAt, archive string, limit int64) (*h5.File, io.Closer, error) {
	name := archive + ":" + zf.Name
	if zf.Method == zip.Store {
		off, err := zf.DataOffset()
		if err != nil {
			return nil, nil, err
		}
		size := int64(zf.CompressedSize64)
		f, err := h5.NewFile(io.NewSectionReader(r, off, size), size, name)
		return f, nil, err
	}
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, nil, fmt.Errorf("declares %d bytes inflated, more than the %d this model's variables can need", zf.UncompressedSize64, limit)
	}
	if err := CheckRatio(zf.UncompressedSize64, zf.CompressedSize64); err != nil {
		return nil, nil, err
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp("", "kerasrun-weights-*.h5")
	if err != nil {
		return nil, nil, err
	}
	// Unlinked at once: nothing is left behind, whatever happens next.
	os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(rc, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("inflates past the %d bytes this model's variables can need", limit)
	}
	if err == nil {
		err = CheckRatio(uint64(n), zf.CompressedSize64)
	}
	if err != nil {
		tmp.Close()
		if errors.Is(err, zip.ErrFormat) {
			err = fmt.Errorf("inflates to more than the %d bytes it declares: %w", zf.UncompressedSize64, err)
		}
		return nil, nil, err
	}
	f, err := h5.NewFile(tmp, n, name)
	if err != nil {
		tmp.Close()
		return nil, nil, err
	}
	return f, tmp, nil
}

// CheckRatio refuses a member inflating past ratioFloor at more than
// maxCompressionRate times its compressed size: deflate reaches about
// 1000:1 on zeros, HDF5 files of float weights barely compress.
func CheckRatio(inflated, compressed uint64) error {
	if inflated > ratioFloor && inflated/max(compressed, 1) > maxCompressionRate {
		return fmt.Errorf("inflates %d bytes to %d, a compression ratio over %d:1 that no weights file has (a deflate bomb)", compressed, inflated, maxCompressionRate)
	}
	return nil
}
