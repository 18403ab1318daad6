package h5

import "encoding/binary"

// Encoders for the structures of the file format, version by version as
// h5py writes them with libver="earliest". Each returns the encoding
// unpadded unless it says otherwise; every address is 8 bytes.

const (
	writerUndef      = ^uint64(0) // HDF5's undefined address
	writerLeafK      = 4          // group leaf node K: a symbol table node holds 2K entries
	writerInternalK  = 16         // group internal node K: a B-tree node holds 2K children
	writerSnodCap    = 2 * writerLeafK
	writerBtreeCap   = 2 * writerInternalK
	writerMaxMessage = 0xfff8 // largest 8-aligned size a v1 header message's 16-bit size field holds
	// writerMaxOpaqueTag keeps the tag's padded length within its one-byte field.
	writerMaxOpaqueTag = 248

	writerSuperblockSize = 96
	writerHeapHeaderSize = 32
	writerBtreeNodeSize  = 24 + (2*writerInternalK+1)*8 + 2*writerInternalK*8 // 544
	writerSnodSize       = 8 + writerSnodCap*40                               // 328
	writerGcolHeaderSize = 16
	writerGcolObjHeader  = 16
	writerGcolMinSize    = 4096 // H5HG_MINSIZE: h5py never makes a smaller collection
	writerMaxGcolObjects = 0xffff
	writerHeaderPrefix   = 16 // v1 object header prefix, 12 bytes padded to 8
)

// Header message types.
const (
	writerMsgDataspace   = 0x0001
	writerMsgDatatype    = 0x0003
	writerMsgFillValue   = 0x0005
	writerMsgLayout      = 0x0008
	writerMsgAttribute   = 0x000c
	writerMsgSymbolTable = 0x0011
)

// writerMsgConstant is the header message flag h5py sets on a dataset's
// datatype and fill value messages.
const writerMsgConstant = 1

var writerSignature = []byte{0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'}

func writerAlign8(n int) int { return (n + 7) &^ 7 }

func writerPad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

var writerLE = binary.LittleEndian

// writerDatatype encodes a datatype message (version 1 for every class).
func writerDatatype(dt DType) []byte {
	fixed := func(b []byte, size int, signed bool) []byte {
		var flags byte
		if signed {
			flags = 0x08
		}
		b = append(b, 0x10, flags, 0, 0)
		b = writerLE.AppendUint32(b, uint32(size))
		b = writerLE.AppendUint16(b, 0)                 // bit offset
		return writerLE.AppendUint16(b, uint16(8*size)) // precision
	}
	float := func(b []byte, size int, expLoc, expSize, mantSize byte, bias uint32) []byte {
		sign := byte(8*size - 1)
		// Byte 0: little-endian, no padding, mantissa normalization "implied".
		b = append(b, 0x11, 0x20, sign, 0)
		b = writerLE.AppendUint32(b, uint32(size))
		b = writerLE.AppendUint16(b, 0)
		b = writerLE.AppendUint16(b, uint16(8*size))
		b = append(b, expLoc, expSize, 0, mantSize)
		return writerLE.AppendUint32(b, bias)
	}
	var b []byte
	switch dt.Kind {
	case Int8:
		return fixed(b, 1, true)
	case Int16:
		return fixed(b, 2, true)
	case Int32:
		return fixed(b, 4, true)
	case Int64:
		return fixed(b, 8, true)
	case Uint8:
		return fixed(b, 1, false)
	case Uint16:
		return fixed(b, 2, false)
	case Uint32:
		return fixed(b, 4, false)
	case Uint64:
		return fixed(b, 8, false)
	case Float16:
		return float(b, 2, 10, 5, 10, 15)
	case Float32:
		return float(b, 4, 23, 8, 23, 127)
	case Float64:
		return float(b, 8, 52, 11, 52, 1023)
	case Bool:
		// h5py's bool: enum {FALSE=0, TRUE=1} over int8.
		b = append(b, 0x18, 2, 0, 0)
		b = writerLE.AppendUint32(b, 1)
		b = fixed(b, 1, true)
		// Each name is NUL-terminated and padded to a multiple of 8 bytes
		// of its own length (not of the message offset).
		b = append(b, "FALSE\x00\x00\x00"...)
		b = append(b, "TRUE\x00\x00\x00\x00"...)
		return append(b, 0, 1)
	case String:
		var cset byte
		if dt.UTF8 {
			cset = 1
		}
		if dt.VarLen {
			// Variable-length sequence of type "string", NUL-terminated,
			// over unsigned bytes; the size is the in-file heap ID.
			b = append(b, 0x19, 0x01, cset, 0)
			b = writerLE.AppendUint32(b, 16)
			return fixed(b, 1, false)
		}
		b = append(b, 0x13, 0x01|cset<<4, 0, 0) // NULLPAD
		return writerLE.AppendUint32(b, uint32(dt.Size))
	case Opaque, BFloat16:
		size, tag := dt.Size, dt.Tag
		if dt.Kind == BFloat16 {
			size, tag = 2, ""
		}
		padded := writerAlign8(len(tag))
		b = append(b, 0x15, byte(padded), 0, 0)
		b = writerLE.AppendUint32(b, uint32(size))
		b = append(b, tag...)
		return append(b, make([]byte, padded-len(tag))...)
	}
	panic("h5: writerDatatype: unchecked dtype " + dt.String())
}

// writerDataspace encodes a version-1 dataspace message; the maximum
// dimensions equal the dimensions, as h5py writes them. A scalar has rank 0.
func writerDataspace(shape []int) []byte {
	var flags byte
	if len(shape) > 0 {
		flags = 1 // maximum dimensions present
	}
	b := []byte{1, byte(len(shape)), flags, 0, 0, 0, 0, 0}
	for range 2 {
		if len(shape) == 0 {
			break
		}
		for _, d := range shape {
			b = writerLE.AppendUint64(b, uint64(d))
		}
	}
	return b
}

// writerAttrMessageSize returns the padded size of the attribute message
// for name and v, without encoding it.
func writerAttrMessageSize(name string, v *Array) int {
	dims := 8
	if len(v.Shape) > 0 {
		dims += 16 * len(v.Shape)
	}
	n := 8 + writerAlign8(len(name)+1) + writerAlign8(len(writerDatatype(v.DType))) + writerAlign8(dims)
	return writerAlign8(n + v.Len()*writerElemSize(v.DType))
}

// writerAttribute encodes a version-1 attribute message whose data is the
// already encoded element bytes.
func writerAttribute(name string, v *Array, data []byte) []byte {
	dt := writerDatatype(v.DType)
	ds := writerDataspace(v.Shape)
	b := []byte{1, 0}
	b = writerLE.AppendUint16(b, uint16(len(name)+1))
	b = writerLE.AppendUint16(b, uint16(len(dt)))
	b = writerLE.AppendUint16(b, uint16(len(ds)))
	b = writerPad8(append(append(b, name...), 0))
	b = writerPad8(append(b, dt...))
	b = writerPad8(append(b, ds...))
	return append(b, data...)
}

// writerFillValue encodes a version-2 fill value message as h5py writes it:
// allocation late, fill value default. HDF5 fills variable-length data at
// allocation, other types only if a fill value is set.
func writerFillValue(varLen bool) []byte {
	fillTime := byte(2) // H5D_FILL_TIME_IFSET
	if varLen {
		fillTime = 0 // H5D_FILL_TIME_ALLOC
	}
	return []byte{2, 2, fillTime, 1, 0, 0, 0, 0}
}

// writerLayout encodes a version-3 contiguous layout message.
func writerLayout(addr, size uint64) []byte {
	b := []byte{3, 1}
	b = writerLE.AppendUint64(b, addr)
	return writerLE.AppendUint64(b, size)
}

// writerSymbolTableMsg encodes a symbol table message.
func writerSymbolTableMsg(btree, heap uint64) []byte {
	return writerLE.AppendUint64(writerLE.AppendUint64(nil, btree), heap)
}

// writerMessage is one header message before encoding.
type writerMessage struct {
	typ   uint16
	flags byte
	data  []byte
}

// writerHeaderSize returns the size of a version-1 object header holding
// msgs in a single chunk.
func writerHeaderSize(msgs []writerMessage) int {
	n := writerHeaderPrefix
	for _, m := range msgs {
		n += 8 + writerAlign8(len(m.data))
	}
	return n
}

// writerObjectHeader encodes a version-1 object header with a single chunk.
func writerObjectHeader(msgs []writerMessage) []byte {
	size := writerHeaderSize(msgs)
	b := make([]byte, 0, size)
	b = append(b, 1, 0)
	b = writerLE.AppendUint16(b, uint16(len(msgs)))
	b = writerLE.AppendUint32(b, 1) // reference count
	b = writerLE.AppendUint32(b, uint32(size-writerHeaderPrefix))
	b = append(b, 0, 0, 0, 0)
	for _, m := range msgs {
		b = writerLE.AppendUint16(b, m.typ)
		b = writerLE.AppendUint16(b, uint16(writerAlign8(len(m.data))))
		b = append(b, m.flags, 0, 0, 0)
		b = writerPad8(append(b, m.data...))
	}
	return b
}

// writerSymbolEntry encodes a 40-byte symbol table entry. A group caches
// its B-tree and local heap addresses in the scratch pad (cache type 1).
func writerSymbolEntry(b []byte, nameOff, header uint64, group bool, btree, heap uint64) []byte {
	b = writerLE.AppendUint64(b, nameOff)
	b = writerLE.AppendUint64(b, header)
	if !group {
		return append(b, make([]byte, 24)...)
	}
	b = writerLE.AppendUint32(b, 1)
	b = writerLE.AppendUint32(b, 0)
	b = writerLE.AppendUint64(b, btree)
	return writerLE.AppendUint64(b, heap)
}

// writerSuperblock encodes a version-0 superblock.
func writerSuperblock(eof, rootHeader, rootBtree, rootHeap uint64) []byte {
	b := append([]byte(nil), writerSignature...)
	b = append(b, 0, 0, 0, 0, 0, 8, 8, 0)
	b = writerLE.AppendUint16(b, writerLeafK)
	b = writerLE.AppendUint16(b, writerInternalK)
	b = writerLE.AppendUint32(b, 0) // file consistency flags
	b = writerLE.AppendUint64(b, 0) // base address
	b = writerLE.AppendUint64(b, writerUndef)
	b = writerLE.AppendUint64(b, eof)
	b = writerLE.AppendUint64(b, writerUndef) // driver information block
	return writerSymbolEntry(b, 0, rootHeader, true, rootBtree, rootHeap)
}

// writerLocalHeap encodes a local heap header whose data segment of
// dataSize bytes follows it directly. It has no free list.
func writerLocalHeap(addr uint64, dataSize uint64) []byte {
	b := append([]byte(nil), "HEAP"...)
	b = append(b, 0, 0, 0, 0)
	b = writerLE.AppendUint64(b, dataSize)
	b = writerLE.AppendUint64(b, 1) // H5HL_FREE_NULL: no free block
	return writerLE.AppendUint64(b, addr+writerHeapHeaderSize)
}

// writerBtreeNode encodes a full-size v1 B-tree node of a group: keys are
// local heap offsets of names, n+1 of them for n children.
func writerBtreeNode(level int, left, right uint64, keys, children []uint64) []byte {
	b := make([]byte, 0, writerBtreeNodeSize)
	b = append(b, "TREE"...)
	b = append(b, 0, byte(level))
	b = writerLE.AppendUint16(b, uint16(len(children)))
	b = writerLE.AppendUint64(b, left)
	b = writerLE.AppendUint64(b, right)
	for i, c := range children {
		b = writerLE.AppendUint64(b, keys[i])
		b = writerLE.AppendUint64(b, c)
	}
	b = writerLE.AppendUint64(b, keys[len(children)])
	return append(b, make([]byte, writerBtreeNodeSize-len(b))...)
}

// writerSnodHeader encodes the 8-byte prefix of a symbol table node; the
// caller appends the entries and pads to writerSnodSize.
func writerSnodHeader(n int) []byte {
	b := append([]byte(nil), "SNOD"...)
	b = append(b, 1, 0)
	return writerLE.AppendUint16(b, uint16(n))
}
