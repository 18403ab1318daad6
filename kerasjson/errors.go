package kerasjson

import (
	"fmt"
	"strconv"
)

// FormatError reports a configuration that is not what Keras writes:
// invalid JSON, a missing or mistyped field, or a reference to a layer that
// does not exist.
type FormatError struct {
	// Path is the JSON path of the offending value, such as
	// "config.layers[3].inbound_nodes[0]"; empty for the whole document.
	Path string
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Path == "" {
		return "kerasjson: " + e.Msg
	}
	return "kerasjson: " + e.Path + ": " + e.Msg
}

// UnsupportedError reports a well-formed configuration that uses a Keras
// feature this package cannot represent, such as a subclassed model.
type UnsupportedError struct {
	Feature string
	// Name, ClassName, RegisteredName and Module identify the object
	// (layer or model) that uses the feature, when the config names it.
	Name, ClassName, RegisteredName, Module string
}

func (e *UnsupportedError) Error() string {
	return "kerasjson: unsupported: " + e.Feature
}

func formatErr(path, format string, args ...any) error {
	return &FormatError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// joinPath appends an object key to a JSON path.
func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// indexPath appends a list index to a JSON path.
func indexPath(base string, i int) string {
	return base + "[" + strconv.Itoa(i) + "]"
}
