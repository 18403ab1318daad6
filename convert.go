package kerasrun

import "fmt"

// Convert reads a model file of any format Load reads (legacy .h5 from
// Keras 1, 2 or 3, a .keras archive or directory, a model JSON with its
// weights named by WithWeights) and writes it to out in the format out's
// extension names (.keras, .h5 or .hdf5, .weights.h5; see Save), applying
// on the way every conversion Keras makes on load (Keras 1 layouts,
// Theano kernels). A model with layers kerasrun cannot run cannot be
// converted: Convert returns Load's error naming them.
func Convert(in, out string, opts ...LoadOption) error {
	if FormatForPath(out) == FormatUnknown {
		return fmt.Errorf("kerasrun: convert %s: cannot tell the output format from %s (use .keras, .h5 or .weights.h5)", in, out)
	}
	m, err := Load(in, opts...)
	if err != nil {
		return err
	}
	return m.Save(out)
}
