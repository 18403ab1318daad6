package kerasrun

import (
	"io"

	"github.com/kerasrun/kerasrun/saving"
)

// WriteSummaryFile writes the summary (Model.WriteSummary) of the model
// file at path, loaded as Load loads it, except that a model JSON given
// no weights file is summarized from its configuration alone, as Keras's
// model_from_json(...).summary() is: the layers, shapes and parameter
// counts do not depend on the weights' values.
func WriteSummaryFile(w io.Writer, path string, o SummaryOptions, opts ...LoadOption) error {
	m, err := loadForDisplay(path, opts)
	if err != nil {
		return err
	}
	return m.WriteSummary(w, o)
}

// loadForDisplay is Load, except that a model JSON without a weights
// option is built from its configuration with no weights loaded. Such a
// model only describes the architecture; it never leaves the package.
func loadForDisplay(path string, opts []LoadOption) (*Model, error) {
	o := collectLoadOptions(opts)
	o.ArchitectureOnly = true
	return newModel(saving.Load(path, &o.LoadOptions))
}
