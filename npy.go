package kerasrun

import (
	"fmt"
	"io"

	"github.com/kerasrun/kerasrun/internal/npy"
	"github.com/kerasrun/kerasrun/saving"
)

// ReadNPY reads a numpy .npy file as a float32 tensor (any numeric dtype
// is converted).
func ReadNPY(path string) (*Tensor, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &Tensor{Shape: a.Shape, Data: a.Data}, nil
}

// WriteNPY writes a tensor as a float32 .npy file, atomically.
func WriteNPY(path string, t *Tensor) error { return npy.WriteFile(path, t.Shape, t.Data) }

// WriteNPZ writes tensors into an .npz archive under the given names,
// atomically.
func WriteNPZ(path string, names []string, ts []*Tensor) error {
	if len(names) != len(ts) {
		return fmt.Errorf("kerasrun: WriteNPZ: %d names for %d tensors", len(names), len(ts))
	}
	arrays := make([]*npy.Array, len(ts))
	for i, t := range ts {
		arrays[i] = &npy.Array{Shape: t.Shape, Data: t.Data, DType: "<f4"}
	}
	return npy.WriteNPZ(path, names, arrays)
}

// DumpHDF5 prints the HDF5 tree of a file (groups, datasets with shape and
// dtype, attributes), in the spirit of `h5ls -r -v`. For a .keras archive
// it dumps the archive's model.weights.h5.
func DumpHDF5(w io.Writer, path string) error { return saving.Dump(w, path) }
