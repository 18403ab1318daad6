package saving

import (
	"fmt"
	"io"
	"os"

	"github.com/kerasrun/kerasrun/h5"
)

// Dump prints the HDF5 tree of a file (groups, datasets with shape and
// dtype, attributes), in the spirit of `h5ls -r -v`. For a .keras archive
// it dumps the archive's model.weights.h5.
func Dump(w io.Writer, path string) error {
	format, err := Detect(path)
	if err != nil {
		return err
	}
	switch format {
	case FormatH5:
		f, err := h5.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Dump(w)
	case FormatKeras:
		a, err := OpenZipFile(path)
		if err != nil {
			return err
		}
		defer a.Close()
		if err := a.OpenWeights(MaxInspectWeights); err != nil {
			return err
		}
		if a.Weights != nil {
			return a.Weights.Dump(w)
		}
		return fmt.Errorf("kerasrun: %s: archive has no model.weights.h5", path)
	case FormatKerasDir:
		return Dump(w, path+string(os.PathSeparator)+"model.weights.h5")
	}
	return fmt.Errorf("kerasrun: %s: %s is not an HDF5 file", path, format)
}
