package kerasrun

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/layers"
)

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
	maxInspectWeights  = 8 << 30 // Inspect builds no model: a fixed bound
	maxCompressionRate = 200     // inflated:compressed, past ratioFloor
	ratioFloor         = 64 << 20
)

// weightsBound is the most bytes a model.weights.h5 for net can need.
func weightsBound(net *layers.Model) int64 {
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
	if err := checkRatio(zf.UncompressedSize64, zf.CompressedSize64); err != nil {
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
		err = checkRatio(uint64(n), zf.CompressedSize64)
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

// checkRatio refuses a member inflating past ratioFloor at more than
// maxCompressionRate times its compressed size: deflate reaches about
// 1000:1 on zeros, HDF5 files of float weights barely compress.
func checkRatio(inflated, compressed uint64) error {
	if inflated > ratioFloor && inflated/max(compressed, 1) > maxCompressionRate {
		return fmt.Errorf("inflates %d bytes to %d, a compression ratio over %d:1 that no weights file has (a deflate bomb)", compressed, inflated, maxCompressionRate)
	}
	return nil
}
