package h5

import "fmt"

// A FormatError reports that a file is not valid HDF5, or is damaged, at a
// byte offset.
type FormatError struct {
	File   string // the file's name, if known
	Offset int64  // byte offset of the offending structure, -1 if unknown
	Msg    string
}

func (e *FormatError) Error() string {
	name := e.File
	if name == "" {
		name = "hdf5 file"
	}
	if e.Offset >= 0 {
		return fmt.Sprintf("h5: %s: malformed at offset %d: %s", name, e.Offset, e.Msg)
	}
	return fmt.Sprintf("h5: %s: malformed: %s", name, e.Msg)
}

// An UnsupportedError reports that a file is valid HDF5 but uses a feature
// this package does not read (or deliberately refuses, such as external
// links).
type UnsupportedError struct {
	File    string
	Feature string
}

func (e *UnsupportedError) Error() string {
	name := e.File
	if name == "" {
		name = "hdf5 file"
	}
	return fmt.Sprintf("h5: %s: unsupported: %s", name, e.Feature)
}
