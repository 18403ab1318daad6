package h5

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// File is an HDF5 file opened for reading. Its methods are safe for
// concurrent use.
type File struct {
	r      io.ReaderAt
	size   int64
	name   string
	closer io.Closer

	offsetSize int
	lengthSize int
	baseAddr   uint64
	rootAddr   uint64
	sbVersion  int

	// dataLimit overrides maxDataBytes in tests (0: default).
	dataLimit uint64

	mu      sync.Mutex
	headers map[uint64]*objectHeader
	gheaps  map[uint64]gheapEntry
	links   map[uint64][]link
}

// hdf5Signature opens every HDF5 superblock.
const hdf5Signature = "\x89HDF\r\n\x1a\n"

// Open opens the HDF5 file at path for reading.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("h5: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("h5: %w", err)
	}
	f, err := NewFile(fh, st.Size(), path)
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// NewFile reads an HDF5 file of the given size from r, for example a
// member of a zip archive read in place; name is used in errors.
func NewFile(r io.ReaderAt, size int64, name string) (f *File, err error) {
	f = &File{
		r: r, size: size, name: name,
		headers: map[uint64]*objectHeader{},
		gheaps:  map[uint64]gheapEntry{},
		links:   map[uint64][]link{},
	}
	defer f.recoverError(&err)
	if size < 0 {
		return nil, f.formatErr(-1, "negative file size")
	}
	if err := f.readSuperblock(); err != nil {
		return nil, err
	}
	return f, nil
}

// Close closes the underlying file if Open opened it.
func (f *File) Close() error {
	if f.closer != nil {
		c := f.closer
		f.closer = nil
		return c.Close()
	}
	return nil
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// Root returns the root group.
func (f *File) Root() *Group { return &Group{f: f, path: "/", addr: f.rootAddr} }

func (f *File) formatErr(off int64, format string, args ...any) error {
	return &FormatError{File: f.name, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (f *File) unsupported(format string, args ...any) error {
	return &UnsupportedError{File: f.name, Feature: fmt.Sprintf(format, args...)}
}

// recoverError is the last line of defense at public entry points: a panic
// caused by a malformed file becomes a FormatError instead of a crash.
func (f *File) recoverError(err *error) {
	if r := recover(); r != nil {
		*err = f.formatErr(-1, "internal error on malformed input: %v", r)
	}
}

// annotate adds the object being read to a FormatError that does not
// name it yet, so a user learns which dataset or group is damaged.
func (f *File) annotate(err *error, objPath string) {
	fe, ok := (*err).(*FormatError)
	if !ok || strings.Contains(fe.Msg, objPath) {
		return
	}
	c := *fe
	c.Msg += " (reading " + objPath + ")"
	*err = &c
}

// readSuperblock finds the superblock (at 0, 512, 1024, ...) and decodes
// versions 0 to 3.
func (f *File) readSuperblock() error {
	var sbAddr int64 = -1
	for off := int64(0); off+8 <= f.size; off = max(512, off*2) {
		var sig [8]byte
		if _, err := f.r.ReadAt(sig[:], off); err != nil {
			return f.formatErr(off, "reading signature: %v", err)
		}
		if string(sig[:]) == hdf5Signature {
			sbAddr = off
			break
		}
	}
	if sbAddr < 0 {
		return f.formatErr(0, "not an HDF5 file (no signature)")
	}
	n := min(f.size-sbAddr, 256)
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, sbAddr); err != nil && err != io.EOF {
		return f.formatErr(sbAddr, "reading superblock: %v", err)
	}
	// Sizes are not known yet: decode with 8-byte defaults, then fix.
	f.offsetSize, f.lengthSize = 8, 8
	c := f.newCursor(b, uint64(sbAddr), "superblock")
	c.skip(8)
	version := int(c.u8())
	f.sbVersion = version
	switch version {
	case 0, 1:
		c.skip(3) // free-space, root symbol table, reserved
		c.skip(1) // shared header version
		f.offsetSize, f.lengthSize = int(c.u8()), int(c.u8())
		c.skip(1)
		c.skip(4) // group leaf K, internal K
		c.skip(4) // consistency flags
		if version == 1 {
			c.skip(4)
		}
	case 2, 3:
		f.offsetSize, f.lengthSize = int(c.u8()), int(c.u8())
		c.skip(1)
	default:
		return f.formatErr(sbAddr+8, "unknown superblock version %d", version)
	}
	if c.err != nil {
		return c.err
	}
	if !validSize(f.offsetSize) || !validSize(f.lengthSize) {
		return f.formatErr(sbAddr+13, "bad offset/length sizes %d/%d", f.offsetSize, f.lengthSize)
	}
	// Like the HDF5 library, take the superblock's own position as the
	// base address whatever the stored value says (files with a user
	// block store 0 or the block size).
	c.uvar(f.offsetSize)
	base := uint64(sbAddr)
	var eof uint64
	switch version {
	case 0, 1:
		c.uvar(f.offsetSize) // free-space info
		eof = c.uvar(f.offsetSize)
		c.uvar(f.offsetSize) // driver info
		f.baseAddr = base
		c.addr() // link name offset
		f.rootAddr = c.addr()
	case 2, 3:
		f.baseAddr = base
		ext := c.addr()
		eof = c.uvar(f.offsetSize)
		f.rootAddr = c.addr()
		if c.err == nil {
			if err := f.verifyChecksum(b, c.pos, uint64(sbAddr), "superblock"); err != nil {
				return err
			}
		}
		_ = ext // the superblock extension holds nothing a reader needs
	}
	if c.err != nil {
		return c.err
	}
	// A file cut short (an interrupted download or copy) is reported as
	// such up front, as the HDF5 library does.
	if undef := uint64(1)<<(8*f.offsetSize) - 1; f.offsetSize < 8 && eof != undef || f.offsetSize == 8 && eof != undefAddr {
		// h5py files with a user block store the absolute end.
		if eof > uint64(f.size) {
			return f.formatErr(sbAddr, "file is truncated: the superblock says it ends at byte %d, but it has %d bytes", eof, f.size)
		}
	}
	if f.rootAddr == undefAddr || f.rootAddr >= uint64(f.size) {
		return f.formatErr(sbAddr, "root group address %d beyond end of file (%d bytes)", int64(f.rootAddr), f.size)
	}
	return nil
}

func validSize(n int) bool { return n == 2 || n == 4 || n == 8 }
