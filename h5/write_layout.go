package h5

import (
	"bufio"
	"fmt"
	"io"
	"slices"
)

// The file is laid out in one pass that assigns every address, then
// written front to back in the same order:
//
//	superblock
//	for each object, depth first, children by name:
//	    object header; for a group: local heap, B-tree nodes, symbol table nodes
//	global heap collections (variable-length strings)
//	raw data of each dataset, in the same object order, 8-byte aligned
//
// Metadata first keeps header-only reads near the start of the file. Sizes
// never depend on addresses (all are 8 bytes), so the plan is exact.

// writerPlanNode holds the addresses of one object.
type writerPlanNode struct {
	n        *writerNode
	header   uint64
	children []*writerPlanNode // groups, sorted by name

	heap      uint64
	heapData  []byte   // data segment: "" then each child's name
	nameOff   []uint64 // heap offset of each child's name
	btree     [][]writerBtreePlan
	snods     []uint64
	dataAddr  uint64
	dataSize  uint64
	valueRefs []writerHeapRef   // variable-length string dataset elements
	attrRefs  [][]writerHeapRef // per attribute, if variable-length strings
}

// writerBtreePlan is one B-tree node: its children are symbol table nodes
// (level 0) or B-tree nodes one level down.
type writerBtreePlan struct {
	addr     uint64
	children []uint64
	keys     []uint64
}

// writerHeapRef locates one variable-length string in the global heap.
type writerHeapRef struct {
	gcol   int
	index  uint16
	length uint32
}

// writerGcol is one global heap collection.
type writerGcol struct {
	addr  uint64
	size  uint64
	used  uint64 // header plus objects
	items []string
}

type writerPlan struct {
	nodes []*writerPlanNode // depth first
	gcols []*writerGcol
	eof   uint64
	next  uint64
}

func (p *writerPlan) alloc(size uint64) uint64 {
	a := p.next
	p.next += size
	return a
}

// plan lays out the tree rooted at root.
func writerMakePlan(root *writerNode) (*writerPlan, error) {
	p := &writerPlan{}
	var walk func(n *writerNode) *writerPlanNode
	walk = func(n *writerNode) *writerPlanNode {
		pn := &writerPlanNode{n: n}
		p.nodes = append(p.nodes, pn)
		names := make([]string, 0, len(n.children))
		for name := range n.children {
			names = append(names, name)
		}
		slices.Sort(names) // byte order, as HDF5's strcmp
		for _, name := range names {
			pn.children = append(pn.children, walk(n.children[name]))
		}
		return pn
	}
	walk(root)

	// Arrays were checked when added; check again in case a caller changed
	// one since, so the sizes planned below are the sizes written.
	for _, pn := range p.nodes {
		n := pn.n
		if n.value != nil {
			if err := writerCheckArray(n.value); err != nil {
				return nil, fmt.Errorf("h5: dataset %s: %w", n.path, err)
			}
		}
		for _, a := range n.attrs {
			if err := writerCheckArray(a.value); err != nil {
				return nil, fmt.Errorf("h5: attribute %q of %s: %w", a.name, n.path, err)
			}
		}
	}

	for _, pn := range p.nodes {
		if v := pn.n.value; v != nil && v.DType.Kind == String && v.DType.VarLen {
			pn.valueRefs = p.addStrings(v.Data.([]string))
		}
		pn.attrRefs = make([][]writerHeapRef, len(pn.n.attrs))
		for i, a := range pn.n.attrs {
			if a.value.DType.Kind == String && a.value.DType.VarLen {
				pn.attrRefs[i] = p.addStrings(a.value.Data.([]string))
			}
		}
	}

	p.next = writerSuperblockSize
	for _, pn := range p.nodes {
		msgs, err := p.messages(pn)
		if err != nil {
			return nil, err
		}
		pn.header = p.alloc(uint64(writerHeaderSize(msgs)))
		if pn.n.group {
			p.planGroup(pn)
		}
	}
	for _, g := range p.gcols {
		g.addr = p.alloc(g.size)
	}
	for _, pn := range p.nodes {
		v := pn.n.value
		if v == nil {
			continue
		}
		pn.dataSize = uint64(v.Len()) * uint64(writerElemSize(v.DType))
		pn.dataAddr = writerUndef // h5py: no storage for zero-size data
		if pn.dataSize > 0 {
			p.next = uint64(writerAlign8(int(p.next)))
			pn.dataAddr = p.alloc(pn.dataSize)
		}
	}
	p.eof = p.next
	return p, nil
}

// addStrings stores ss in global heap collections, filling the current
// collection to h5py's 4 KiB size and giving a longer string a collection
// of its own size.
func (p *writerPlan) addStrings(ss []string) []writerHeapRef {
	refs := make([]writerHeapRef, len(ss))
	for i, s := range ss {
		need := uint64(writerGcolObjHeader + writerAlign8(len(s)))
		var g *writerGcol
		if n := len(p.gcols); n > 0 {
			g = p.gcols[n-1]
		}
		if g == nil || g.used+need > g.size || len(g.items) >= writerMaxGcolObjects {
			g = &writerGcol{used: writerGcolHeaderSize, size: max(writerGcolMinSize, writerGcolHeaderSize+need)}
			p.gcols = append(p.gcols, g)
		}
		g.items = append(g.items, s)
		g.used += need
		refs[i] = writerHeapRef{gcol: len(p.gcols) - 1, index: uint16(len(g.items)), length: uint32(len(s))}
	}
	return refs
}

// planGroup allocates a group's local heap, B-tree and symbol table nodes.
func (p *writerPlan) planGroup(pn *writerPlanNode) {
	data := make([]byte, 8) // offset 0: the empty name, the B-tree's leftmost key
	for _, c := range pn.children {
		pn.nameOff = append(pn.nameOff, uint64(len(data)))
		data = writerPad8(append(append(data, c.n.name...), 0))
	}
	pn.heapData = data
	pn.heap = p.alloc(writerHeapHeaderSize + uint64(len(data)))

	nsnod := (len(pn.children) + writerSnodCap - 1) / writerSnodCap
	// Level 0 points at symbol table nodes; each level up has one node per
	// writerBtreeCap nodes below, up to a single root. An empty group has
	// one empty level-0 node.
	counts := []int{max(1, (nsnod+writerBtreeCap-1)/writerBtreeCap)}
	for counts[len(counts)-1] > 1 {
		c := counts[len(counts)-1]
		counts = append(counts, (c+writerBtreeCap-1)/writerBtreeCap)
	}
	pn.btree = make([][]writerBtreePlan, len(counts))
	for level := len(counts) - 1; level >= 0; level-- {
		nodes := make([]writerBtreePlan, counts[level])
		for i := range nodes {
			nodes[i].addr = p.alloc(writerBtreeNodeSize)
		}
		pn.btree[level] = nodes
	}
	pn.snods = make([]uint64, nsnod)
	for i := range pn.snods {
		pn.snods[i] = p.alloc(writerSnodSize)
	}

	// Keys: child i of a node holds the names in (key[i], key[i+1]]; the
	// leftmost key is the empty name and every other key is the largest
	// name to its left.
	lastName := func(snod int) uint64 {
		last := min((snod+1)*writerSnodCap, len(pn.children)) - 1
		return pn.nameOff[last]
	}
	below := pn.snods
	belowFirst := func(i int) uint64 {
		if i == 0 {
			return 0
		}
		return lastName(i - 1)
	}
	belowLast := lastName
	for level, nodes := range pn.btree {
		for i := range nodes {
			lo := i * writerBtreeCap
			hi := min(lo+writerBtreeCap, len(below))
			nd := &nodes[i]
			nd.children = below[lo:hi]
			nd.keys = []uint64{belowFirst(lo)}
			for j := lo; j < hi; j++ {
				nd.keys = append(nd.keys, belowLast(j))
			}
		}
		lower := pn.btree[level]
		below = make([]uint64, len(lower))
		for i := range lower {
			below[i] = lower[i].addr
		}
		belowFirst = func(i int) uint64 { return lower[i].keys[0] }
		belowLast = func(i int) uint64 { return lower[i].keys[len(lower[i].keys)-1] }
	}
}

// messages returns the header messages of pn with the addresses planned
// so far.
func (p *writerPlan) messages(pn *writerPlanNode) ([]writerMessage, error) {
	var msgs []writerMessage
	n := pn.n
	if n.group {
		msgs = append(msgs, writerMessage{typ: writerMsgSymbolTable, data: writerSymbolTableMsg(pn.btreeRoot(), pn.heap)})
	} else {
		v := n.value
		msgs = append(msgs,
			writerMessage{typ: writerMsgDataspace, data: writerDataspace(v.Shape)},
			writerMessage{typ: writerMsgDatatype, flags: writerMsgConstant, data: writerDatatype(v.DType)},
			writerMessage{typ: writerMsgFillValue, flags: writerMsgConstant, data: writerFillValue(v.DType.Kind == String && v.DType.VarLen)},
			writerMessage{typ: writerMsgLayout, data: writerLayout(pn.dataAddr, pn.dataSize)})
	}
	for i, a := range n.attrs {
		data := writerAppendElements(nil, a.value, 0, a.value.Len(), pn.attrRefs[i], p.gcols)
		m := writerAttribute(a.name, a.value, data)
		if len(m) > writerMaxMessage {
			return nil, fmt.Errorf("h5: attribute %q of %s needs %d bytes in the object header, more than the %d HDF5 allows",
				a.name, n.path, len(m), writerMaxMessage)
		}
		msgs = append(msgs, writerMessage{typ: writerMsgAttribute, data: m})
	}
	if len(msgs) > 0xffff {
		return nil, fmt.Errorf("h5: %s has %d attributes, more than an object header holds", n.path, len(n.attrs))
	}
	return msgs, nil
}

func (pn *writerPlanNode) btreeRoot() uint64 {
	if len(pn.btree) == 0 {
		return 0
	}
	return pn.btree[len(pn.btree)-1][0].addr
}

// writerEmitter writes blocks at their planned addresses.
type writerEmitter struct {
	bw  *bufio.Writer
	pos uint64
}

func (e *writerEmitter) at(addr uint64) error {
	if addr < e.pos {
		return fmt.Errorf("h5: internal error: block at %d overlaps data written up to %d", addr, e.pos)
	}
	for e.pos < addr {
		if err := e.bw.WriteByte(0); err != nil {
			return err
		}
		e.pos++
	}
	return nil
}

func (e *writerEmitter) block(addr uint64, b []byte, size uint64) error {
	if uint64(len(b)) != size {
		return fmt.Errorf("h5: internal error: block at %d is %d bytes, planned %d", addr, len(b), size)
	}
	if err := e.at(addr); err != nil {
		return err
	}
	n, err := e.bw.Write(b)
	e.pos += uint64(n)
	return err
}

// emit writes the planned file to bw.
func (p *writerPlan) emit(bw *bufio.Writer) error {
	e := &writerEmitter{bw: bw}
	root := p.nodes[0]
	if err := e.block(0, writerSuperblock(p.eof, root.header, root.btreeRoot(), root.heap), writerSuperblockSize); err != nil {
		return err
	}
	for _, pn := range p.nodes {
		msgs, err := p.messages(pn)
		if err != nil {
			return err
		}
		if err := e.block(pn.header, writerObjectHeader(msgs), uint64(writerHeaderSize(msgs))); err != nil {
			return err
		}
		if pn.n.group {
			if err := p.emitGroup(e, pn); err != nil {
				return err
			}
		}
	}
	for _, g := range p.gcols {
		if err := e.block(g.addr, writerGcolBytes(g), g.size); err != nil {
			return err
		}
	}
	buf := make([]byte, 0, 1<<16)
	for _, pn := range p.nodes {
		if pn.dataSize == 0 {
			continue
		}
		if err := e.at(pn.dataAddr); err != nil {
			return err
		}
		v := pn.n.value
		step := max(1, cap(buf)/writerElemSize(v.DType))
		for lo, n := 0, v.Len(); lo < n; lo += step {
			buf = writerAppendElements(buf[:0], v, lo, min(lo+step, n), pn.valueRefs, p.gcols)
			w, err := bw.Write(buf)
			e.pos += uint64(w)
			if err != nil {
				return err
			}
		}
		if e.pos != pn.dataAddr+pn.dataSize {
			return fmt.Errorf("h5: dataset %s changed while it was written", pn.n.path)
		}
	}
	if e.pos != p.eof {
		return fmt.Errorf("h5: internal error: wrote %d bytes, planned %d", e.pos, p.eof)
	}
	return nil
}

func (p *writerPlan) emitGroup(e *writerEmitter, pn *writerPlanNode) error {
	if err := e.block(pn.heap, writerLocalHeap(pn.heap, uint64(len(pn.heapData))), writerHeapHeaderSize); err != nil {
		return err
	}
	if err := e.block(pn.heap+writerHeapHeaderSize, pn.heapData, uint64(len(pn.heapData))); err != nil {
		return err
	}
	for level := len(pn.btree) - 1; level >= 0; level-- {
		nodes := pn.btree[level]
		for i, nd := range nodes {
			left, right := writerUndef, writerUndef
			if i > 0 {
				left = nodes[i-1].addr
			}
			if i+1 < len(nodes) {
				right = nodes[i+1].addr
			}
			if err := e.block(nd.addr, writerBtreeNode(level, left, right, nd.keys, nd.children), writerBtreeNodeSize); err != nil {
				return err
			}
		}
	}
	for i, addr := range pn.snods {
		lo, hi := i*writerSnodCap, min((i+1)*writerSnodCap, len(pn.children))
		b := writerSnodHeader(hi - lo)
		for j := lo; j < hi; j++ {
			c := pn.children[j]
			b = writerSymbolEntry(b, pn.nameOff[j], c.header, c.n.group, c.btreeRoot(), c.heap)
		}
		b = append(b, make([]byte, writerSnodSize-len(b))...)
		if err := e.block(addr, b, writerSnodSize); err != nil {
			return err
		}
	}
	return nil
}

// writerGcolBytes encodes a global heap collection: its objects, numbered
// from 1, then free space as object 0 when at least a header's worth
// remains.
func writerGcolBytes(g *writerGcol) []byte {
	b := make([]byte, 0, g.size)
	b = append(b, "GCOL"...)
	b = append(b, 1, 0, 0, 0)
	b = writerLE.AppendUint64(b, g.size)
	for i, s := range g.items {
		b = writerLE.AppendUint16(b, uint16(i+1))
		b = writerLE.AppendUint16(b, 0) // reference count, as h5py leaves it
		b = writerLE.AppendUint32(b, 0)
		b = writerLE.AppendUint64(b, uint64(len(s)))
		b = writerPad8(append(b, s...))
	}
	if free := g.size - uint64(len(b)); free >= writerGcolObjHeader {
		b = writerLE.AppendUint64(b, 0) // index 0, reference count 0, reserved
		b = writerLE.AppendUint64(b, free)
	}
	return append(b, make([]byte, g.size-uint64(len(b)))...)
}

// writeTo plans and writes the file.
func (w *Writer) writeTo(out io.Writer) (int64, error) {
	p, err := writerMakePlan(w.root)
	if err != nil {
		return 0, err
	}
	cw := &writerCounter{w: out}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := p.emit(bw); err != nil {
		return cw.n, err
	}
	err = bw.Flush()
	return cw.n, err
}

// WriteTo writes the file to out and returns the number of bytes written.
// The same tree always gives the same bytes: there are no timestamps and
// children are ordered by name.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	return w.writeTo(out)
}

type writerCounter struct {
	w io.Writer
	n int64
}

func (c *writerCounter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
