package layers

import "github.com/kerasrun/kerasrun/runtime"

// VarsWriter is where a layer saves its own variables in a Keras 3
// weights file: <layer path>/vars/<i>, as Keras's store[str(i)].
type VarsWriter interface {
	// Float32 saves v at index i as float32, the default layout.
	Float32(i int, v *runtime.Variable) error
	// Int64 saves an integer variable at index i (a count).
	Int64(i int, shape []int, data []int64) error
}

// OwnVarsSaver is a layer whose own variables are not all saved as
// float32 (Keras's save_own_variables): Normalization's count is an int64.
// Other layers save OwnKeras3Vars as float32.
type OwnVarsSaver interface {
	Layer
	SaveOwnVars(w VarsWriter) error
}

// SaveOwnVars saves l's own variables through w, by l's SaveOwnVars when
// it has one, else each of OwnKeras3Vars as float32.
func SaveOwnVars(l Layer, w VarsWriter) error {
	if s, ok := l.(OwnVarsSaver); ok {
		return s.SaveOwnVars(w)
	}
	for i, v := range OwnKeras3Vars(l) {
		if err := w.Float32(i, v); err != nil {
			return err
		}
	}
	return nil
}
