package h5

import (
	"bytes"
	"fmt"
	"sync"
)

// Dataset is a dataset in an HDF5 file. Opening it reads only its header;
// Read reads the data.
type Dataset struct {
	f     *File
	path  string
	addr  uint64
	hdr   *objectHeader
	dt    *dtype
	space *dataspace
	shape []int
	n     int
}

// Path returns the dataset's absolute path in the file.
func (d *Dataset) Path() string { return d.path }

// Shape returns the dataset's dimensions (empty for a scalar).
func (d *Dataset) Shape() []int { return append([]int{}, d.shape...) }

// DType returns the dataset's element type.
func (d *Dataset) DType() DType { return d.dt.public() }

// AttrNames returns the names of the dataset's attributes.
func (d *Dataset) AttrNames() (names []string, err error) {
	defer d.f.annotate(&err, d.path)
	defer d.f.recoverError(&err)
	return d.f.attrNames(d.addr)
}

// Attr reads the attribute called name. The error wraps ErrNotFound if it
// does not exist.
func (d *Dataset) Attr(name string) (a *Array, err error) {
	defer d.f.annotate(&err, d.path)
	defer d.f.recoverError(&err)
	return d.f.attr(d.addr, d.path, name)
}

func (f *File) openDataset(addr uint64, path string) (*Dataset, error) {
	h, err := f.objectHeader(addr)
	if err != nil {
		return nil, err
	}
	if !h.has(msgLayout) {
		return nil, fmt.Errorf("h5: %s: %s is not a dataset", f.name, path)
	}
	d := &Dataset{f: f, path: path, addr: addr, hdr: h}
	tm, sm := h.first(msgDatatype), h.first(msgDataspace)
	if tm == nil || sm == nil {
		return nil, f.formatErr(int64(addr), "dataset %s lacks a datatype or dataspace message", path)
	}
	if tm.flags&2 != 0 {
		d.dt, err = f.sharedDatatype(tm.data, tm.addr)
	} else {
		d.dt, err = f.parseDatatype(tm.data, tm.addr)
	}
	if err != nil {
		return nil, wrapObj(err, path, "datatype")
	}
	if sm.flags&2 != 0 {
		return nil, f.unsupported("shared dataspace (dataset %s)", path)
	}
	if d.space, err = f.parseDataspace(sm.data, sm.addr); err != nil {
		return nil, err
	}
	if d.shape, d.n, err = f.shapeOf(d.space, d.dt, int64(sm.addr)); err != nil {
		return nil, err
	}
	// Keras stores bfloat16 as 2-byte opaque data tagged by an attribute.
	if d.dt.kind == Opaque && d.dt.size == 2 {
		if a, err := f.attr(addr, path, "dtype"); err == nil {
			if s, err := a.Strings(); err == nil && len(s) == 1 && s[0] == "bfloat16" {
				bf := *d.dt
				bf.kind, bf.tag, bf.big = BFloat16, "", false
				d.dt = &bf
			}
		}
	}
	return d, nil
}

// maxDataBytes caps the memory a dataset may claim: data can be
// compressed (deflate expands at most ~1032x) or absent (fill values),
// but never beyond what the file could plausibly describe.
func (f *File) maxDataBytes() uint64 {
	if f.dataLimit != 0 {
		return f.dataLimit
	}
	return uint64(f.size)*1100 + 64<<20
}

// readChunkBytes is the bounded buffer size for contiguous reads.
const readChunkBytes = 1 << 20

// readBuffers recycles the contiguous-read buffers across datasets.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, readChunkBytes); return &b }}

// Read reads the whole dataset.
func (d *Dataset) Read() (a *Array, err error) {
	defer d.f.annotate(&err, d.path)
	defer d.f.recoverError(&err)
	data, err := d.read()
	if err != nil {
		return nil, err
	}
	return &Array{DType: d.dt.public(), Shape: d.Shape(), Data: data}, nil
}

// ReadFloat32Into reads a numeric dataset into dst, which must hold
// exactly as many elements as the dataset, converting to float32 as
// Array.Float32s does. A float32 dataset is read straight into dst with no
// intermediate copy: this is how a model's weights are loaded into memory
// that already holds their tensors.
func (d *Dataset) ReadFloat32Into(dst []float32) (err error) {
	defer d.f.annotate(&err, d.path)
	defer d.f.recoverError(&err)
	if len(dst) != d.n {
		return fmt.Errorf("h5: dataset %s has %d elements, destination holds %d", d.path, d.n, len(dst))
	}
	if d.dt.kind == Float32 && d.dt.size == 4 && len(d.dt.dims) == 0 {
		_, err := d.readTo(dst)
		return err
	}
	a, err := d.read()
	if err != nil {
		return err
	}
	f, err := (&Array{DType: d.dt.public(), Shape: d.Shape(), Data: a}).Float32s()
	if err != nil {
		return err
	}
	copy(dst, f)
	return nil
}

func (d *Dataset) read() (any, error) { return d.readTo(nil) }

// readTo reads the dataset into into (a slice of the Go type makeData
// gives for the dataset's type, and of its length), or into a new slice
// when into is nil.
func (d *Dataset) readTo(into any) (any, error) {
	f := d.f
	h := d.hdr
	if h.has(msgExternal) {
		return nil, f.unsupported("external storage (dataset %s)", d.path)
	}
	lm := h.first(msgLayout)
	l, err := f.parseLayout(lm.data, lm.addr)
	if err != nil {
		return nil, wrapObj(err, d.path, "layout")
	}
	var fs []filter
	if m := h.first(msgFilters); m != nil {
		if fs, err = f.parseFilters(m.data, m.addr); err != nil {
			return nil, err
		}
		if err := f.checkFilters(fs); err != nil {
			return nil, wrapObj(err, d.path, "filters")
		}
	}
	es := uint64(d.dt.size)
	nbytes := uint64(d.n) * es
	if d.n != 0 && nbytes/uint64(d.n) != es || nbytes > f.maxDataBytes() {
		return nil, f.formatErr(int64(d.addr), "dataset %s declares %d elements of %d bytes, more than a %d-byte file can hold", d.path, d.n, es, f.size)
	}
	data := into
	if data == nil {
		data = makeData(d.dt, d.n)
	}
	if d.n == 0 {
		return data, nil
	}
	fill, err := d.fillValue()
	if err != nil {
		return nil, err
	}
	switch l.class {
	case layoutCompact:
		if uint64(len(l.compact)) < nbytes {
			return nil, f.formatErr(int64(l.at), "dataset %s: compact data of %d bytes, want %d", d.path, len(l.compact), nbytes)
		}
		return data, f.decodeInto(d.dt, data, 0, l.compact[:nbytes], l.at)
	case layoutContiguous:
		if l.addr == undefAddr {
			return data, d.fillAll(data, fill)
		}
		if l.size != ^uint64(0) && l.size < nbytes {
			return nil, f.formatErr(int64(lm.addr), "dataset %s: contiguous storage of %d bytes, want %d", d.path, l.size, nbytes)
		}
		if err := f.checkRange(l.addr, nbytes, "dataset "+d.path); err != nil {
			return nil, err
		}
		return data, d.readContiguous(data, l.addr, nbytes)
	case layoutChunked:
		return data, d.readChunked(data, l, fs, fill)
	}
	return nil, f.unsupported("layout class %d (dataset %s)", l.class, d.path)
}

// readContiguous reads n bytes at addr in bounded pieces, decoding each
// straight into data.
func (d *Dataset) readContiguous(data any, addr, n uint64) error {
	if b, ok := directBytes(d.dt, data); ok && uint64(len(b)) == n {
		// Same layout in the file as in memory: read in place, in bounded
		// pieces (the slice is already sized and checked against the file).
		for done := uint64(0); done < n; {
			k := min(uint64(readChunkBytes)*16, n-done)
			if _, err := d.f.r.ReadAt(b[done:done+k], int64(addr+done)); err != nil {
				return d.f.formatErr(int64(addr+done), "reading dataset %s: %v", d.path, err)
			}
			done += k
		}
		return nil
	}
	es := uint64(d.dt.size)
	step := max(readChunkBytes/es, 1) * es
	var buf []byte
	if step == readChunkBytes && n >= step {
		bp := readBuffers.Get().(*[]byte)
		defer readBuffers.Put(bp)
		buf = *bp
	} else {
		buf = make([]byte, min(step, n))
	}
	for done := uint64(0); done < n; {
		k := min(step, n-done)
		b := buf[:k]
		if _, err := d.f.r.ReadAt(b, int64(addr+done)); err != nil {
			return d.f.formatErr(int64(addr+done), "reading dataset %s: %v", d.path, err)
		}
		if err := d.f.decodeInto(d.dt, data, int(done/es), b, addr+done); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// fillValue returns the dataset's fill value for one element, or nil for
// zeros.
func (d *Dataset) fillValue() ([]byte, error) {
	f := d.f
	var val []byte
	if m := d.hdr.first(msgFill); m != nil {
		c := f.newCursor(m.data, m.addr, "fill value message")
		version := c.u8()
		switch version {
		case 1, 2:
			c.skip(2)
			defined := c.u8()
			if version == 1 || defined != 0 {
				n := c.u32()
				if c.err == nil && n > 0 {
					val = c.bytes(int(n))
				}
			}
		case 3:
			flags := c.u8()
			if flags&0x20 != 0 {
				n := c.u32()
				val = c.bytes(int(n))
			}
		default:
			if c.err == nil {
				c.fail("version %d", version)
			}
		}
		if c.err != nil {
			return nil, c.err
		}
	} else if m := d.hdr.first(msgFillOld); m != nil {
		c := f.newCursor(m.data, m.addr, "fill value message")
		n := c.u32()
		val = c.bytes(int(n))
		if c.err != nil {
			return nil, c.err
		}
	}
	per := 1
	for _, x := range d.dt.dims {
		per *= x
	}
	if len(val) == 0 || d.dt.vlen || bytes.Count(val, []byte{0}) == len(val) {
		return nil, nil
	}
	if len(val) != d.dt.size*per {
		return nil, f.formatErr(-1, "dataset %s: fill value of %d bytes for %d-byte elements", d.path, len(val), d.dt.size*per)
	}
	return val, nil
}

// fillAll sets every element to the fill value.
func (d *Dataset) fillAll(data any, fill []byte) error {
	if fill == nil {
		return nil
	}
	return d.fillRange(data, 0, d.n, fill)
}

// fillRange sets elements [start, start+count) (in base elements) to the
// fill value.
func (d *Dataset) fillRange(data any, start, count int, fill []byte) error {
	per := len(fill) / d.dt.size
	reps := max(4096/len(fill), 1)
	buf := bytes.Repeat(fill, reps)
	for done := 0; done < count; {
		k := min(reps*per, count-done)
		if err := d.f.decodeInto(d.dt, data, start+done, buf[:k*d.dt.size], 0); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// readChunked reads every stored chunk and copies its in-bounds part into
// data; unstored chunks keep the fill value.
func (d *Dataset) readChunked(data any, l *layout, fs []filter, fill []byte) error {
	f := d.f
	dims := d.space.dims
	rank := len(dims)
	if len(l.chunk) != rank || rank == 0 {
		return f.formatErr(-1, "dataset %s: chunks of rank %d in a rank-%d dataspace", d.path, len(l.chunk), rank)
	}
	per := 1
	for _, x := range d.dt.dims {
		per *= x
	}
	elem := uint64(d.dt.size * per) // one dataspace element
	if l.elemSize != elem {
		return f.formatErr(-1, "dataset %s: chunk element size %d, want %d", d.path, l.elemSize, elem)
	}
	chunkBytes := elem
	for _, c := range l.chunk {
		chunkBytes *= c
		if chunkBytes > f.maxDataBytes() {
			return f.formatErr(-1, "dataset %s: chunk of %v elements is too large", d.path, l.chunk)
		}
	}
	refs, err := f.chunks(l, dims, len(fs) > 0)
	if err != nil {
		return err
	}
	if fill != nil {
		if err := d.fillAll(data, fill); err != nil {
			return err
		}
	}
	outStride := make([]uint64, rank)
	inStride := make([]uint64, rank)
	os, is := uint64(1), uint64(1)
	for k := rank - 1; k >= 0; k-- {
		outStride[k], inStride[k] = os, is
		os *= dims[k]
		is *= l.chunk[k]
	}
	idx := make([]uint64, rank)
	// Each chunk position is read once; the total work is bounded.
	done := map[string]bool{}
	budget := 2 * f.maxDataBytes()
	for _, r := range refs {
		key := fmt.Sprint(r.offset)
		if done[key] {
			continue
		}
		done[key] = true
		if budget < chunkBytes {
			return f.formatErr(int64(r.addr), "dataset %s: chunks exceed the size the dataset can hold", d.path)
		}
		budget -= chunkBytes
		outside := false
		for k := range r.offset {
			if r.offset[k] >= dims[k] || r.offset[k]%l.chunk[k] != 0 {
				outside = true
			}
		}
		if outside {
			continue // chunks beyond the current extent are ignored, as HDF5 does
		}
		if r.size > uint64(f.size) {
			return f.formatErr(int64(r.addr), "dataset %s: chunk of %d bytes in a %d-byte file", d.path, r.size, f.size)
		}
		raw, err := f.readBlock(r.addr, r.size, "chunk of dataset "+d.path)
		if err != nil {
			return err
		}
		if len(fs) > 0 {
			if raw, err = f.unfilter(fs, r.mask, raw, r.addr, int(chunkBytes)); err != nil {
				return err
			}
		} else if uint64(len(raw)) < chunkBytes {
			return f.formatErr(int64(r.addr), "dataset %s: chunk of %d bytes, want %d", d.path, len(raw), chunkBytes)
		}
		// Copy runs along the last dimension, clipped to the extent.
		extent := make([]uint64, rank)
		for k := range extent {
			extent[k] = min(l.chunk[k], dims[k]-r.offset[k])
		}
		run := extent[rank-1]
		for k := range idx {
			idx[k] = 0
		}
		for {
			var out, in uint64
			for k := 0; k < rank; k++ {
				out += (r.offset[k] + idx[k]) * outStride[k]
				in += idx[k] * inStride[k]
			}
			if err := f.decodeInto(d.dt, data, int(out)*per, raw[in*elem:(in+run)*elem], r.addr); err != nil {
				return err
			}
			k := rank - 2
			for ; k >= 0; k-- {
				idx[k]++
				if idx[k] < extent[k] {
					break
				}
				idx[k] = 0
			}
			if k < 0 {
				break
			}
		}
	}
	return nil
}
