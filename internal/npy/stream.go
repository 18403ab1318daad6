package npy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// RowReader reads a .npy file's array a few rows (entries of the first
// axis) at a time, so a large input is never held whole in memory. A
// Fortran-order array of rank 2 or more has no contiguous rows; it is
// read whole on Open and served from memory.
type RowReader struct {
	f      *os.File
	r      *bufio.Reader
	h      *header
	path   string
	rowLen int // elements per row
	next   int // the next row to read
	whole  *Array
}

// OpenRows opens the .npy file at path for ReadRows; its size is checked
// against the header before anything is read.
func OpenRows(path string) (*RowReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	rr, err := openRows(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return rr, nil
}

func openRows(f *os.File, path string) (*RowReader, error) {
	br := bufio.NewReaderSize(f, 1<<16)
	h, err := readHeader(br)
	if err != nil {
		return nil, withFile(err, path)
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if err := checkHolds(h, st.Size()); err != nil {
			return nil, withFile(err, path)
		}
	}
	if len(h.shape) == 0 {
		return nil, withFile(formatErrorf("a 0-d scalar has no rows"), path)
	}
	rr := &RowReader{f: f, r: br, h: h, path: path, rowLen: 1}
	for _, d := range h.shape[1:] {
		rr.rowLen *= d
	}
	if h.fortran && len(h.shape) > 1 {
		a, err := readData(br, h)
		if err != nil {
			return nil, withFile(err, path)
		}
		rr.whole = a
	}
	return rr, nil
}

// Shape is the whole array's shape.
func (rr *RowReader) Shape() []int { return append([]int(nil), rr.h.shape...) }

// DType is the numpy descr the file declares.
func (rr *RowReader) DType() string { return rr.h.descr }

// ReadRows returns the next n rows (fewer at the end, none after it) as
// float32 in C order, and how many rows that is.
func (rr *RowReader) ReadRows(n int) ([]float32, int, error) {
	n = max(min(n, rr.h.shape[0]-rr.next), 0)
	if rr.whole != nil {
		d := rr.whole.Data[rr.next*rr.rowLen : (rr.next+n)*rr.rowLen]
		rr.next += n
		return append([]float32(nil), d...), n, nil
	}
	nbytes := int64(n) * int64(rr.rowLen) * int64(rr.h.dt.size)
	sub := *rr.h
	sub.nbytes, sub.count = nbytes, n*rr.rowLen
	a, err := readData(rr.r, &sub)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Msg = fmt.Sprintf("rows %d to %d: %s", rr.next, rr.next+n, fe.Msg)
		}
		return nil, 0, withFile(err, rr.path)
	}
	rr.next += n
	return a.Data, n, nil
}

// Close closes the file.
func (rr *RowReader) Close() error { return rr.f.Close() }

var _ io.Closer = (*RowReader)(nil)
