// Package npy reads and writes numpy's .npy and .npz files, the format of
// the compatibility fixtures' inputs and expected outputs.
//
// Reading accepts format versions 1.0, 2.0 and 3.0, the numeric dtypes
// numpy writes for plain arrays (float16/32/64, signed and unsigned integers
// of 1 to 8 bytes, bool) in either byte order, C or Fortran order, and
// converts every element to float32 (int64 values beyond 2^24 lose
// precision). Writing always produces little-endian float32 in C order with
// the same header bytes numpy writes. Sizes read from a file are checked
// against overflow and against the bytes the file holds before anything
// large is allocated.
//
// The package uses only the standard library.
package npy

import "fmt"

// Array is an n-dimensional array read from or written to a .npy file.
type Array struct {
	// Shape is the array's shape; empty (not nil) for a 0-d scalar.
	Shape []int
	// Data holds the elements in C (row-major) order, converted to float32.
	Data []float32
	// DType is the numpy descr the file declared, e.g. "<f8" or "|b1";
	// "<f4" for arrays built in memory.
	DType string
}

// Len returns the number of elements the shape describes.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// A FormatError reports that a file is not a valid .npy/.npz file or is
// damaged.
type FormatError struct {
	File string // the file's name, if known
	Msg  string
}

func (e *FormatError) Error() string {
	if e.File == "" {
		return "npy: malformed: " + e.Msg
	}
	return fmt.Sprintf("npy: %s: malformed: %s", e.File, e.Msg)
}

// An UnsupportedError reports a valid numpy file that uses something this
// package does not read, such as a structured or string dtype.
type UnsupportedError struct {
	File    string
	Feature string
}

func (e *UnsupportedError) Error() string {
	if e.File == "" {
		return "npy: unsupported: " + e.Feature
	}
	return fmt.Sprintf("npy: %s: unsupported: %s", e.File, e.Feature)
}

// withFile sets the file name on the package's own errors, so Read's
// nameless errors become ReadFile's named ones.
func withFile(err error, file string) error {
	switch e := err.(type) {
	case *FormatError:
		if e.File == "" {
			e.File = file
		}
	case *UnsupportedError:
		if e.File == "" {
			e.File = file
		}
	}
	return err
}

func formatErrorf(format string, args ...any) error {
	return &FormatError{Msg: fmt.Sprintf(format, args...)}
}
