package runtime

import (
	"sync"
	"unsafe"
)

// Buffers recycles the float32 buffers of intermediate values in forward
// passes without gradients: an op takes its output buffer from
// Context.Alloc, and the graph gives it back once the value's last reader
// has run and no value still alive shares its memory. So a model run in a
// loop stops allocating (and zeroing) its activations after the first
// call, and one call needs about its peak of live activations. Safe for
// concurrent passes.
type Buffers struct {
	mu    sync.Mutex
	free  [][]float32 // full-capacity buffers
	held  int         // floats in free
	limit int         // most floats kept; 0: maxHeldFloats
}

// maxHeldFloats bounds what Buffers keeps between passes (1 GiB).
const maxHeldFloats = 1 << 28

// take returns a buffer of n floats, of undefined contents: the smallest
// free one of capacity n to 2n, or a new one.
func (b *Buffers) take(n int) []float32 {
	b.mu.Lock()
	best := -1
	for i, s := range b.free {
		if c := cap(s); c >= n && c <= 2*n && (best < 0 || c < cap(b.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		s := b.free[best]
		last := len(b.free) - 1
		b.free[best], b.free[last] = b.free[last], nil
		b.free = b.free[:last]
		b.held -= cap(s)
		b.mu.Unlock()
		return s[:n]
	}
	b.mu.Unlock()
	return make([]float32, n)
}

// give takes back a buffer from take (full capacity), dropping it when
// the limit is reached.
func (b *Buffers) give(s []float32) {
	limit := b.limit
	if limit == 0 {
		limit = maxHeldFloats
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held+cap(s) > limit {
		return
	}
	b.free = append(b.free, s[:cap(s)])
	b.held += cap(s)
}

// Alloc returns n floats for an op's output. With c.Buffers set and no
// gradients wanted, the buffer is recycled and its contents are undefined:
// the op must write every element. Otherwise it is a new zeroed slice.
func (c *Context) Alloc(n int) []float32 {
	if c.Buffers == nil || c.Grad || n <= 0 {
		return make([]float32, n)
	}
	s := c.Buffers.take(n)
	if c.allocated == nil {
		c.allocated = map[*float32]int{}
	}
	c.allocated[unsafe.SliceData(s)] = cap(s)
	return s
}

// span is the memory of a tensor's backing array from its first element.
type span struct{ lo, hi uintptr }

func spanOf(t *Tensor) (span, bool) {
	if t == nil || cap(t.Data) == 0 {
		return span{}, false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))
	return span{lo, lo + uintptr(cap(t.Data))*4}, true
}

// recycle gives the buffers of the dead tensors back to c.Buffers: those
// that Alloc made in this pass and that share no memory with a tensor of
// live (values still to be read, masks, the graph's inputs and outputs).
func (c *Context) recycle(dead []*Tensor, live ...[]*Tensor) {
	if c.allocated == nil {
		return
	}
	for _, t := range dead {
		sp, ok := spanOf(t)
		if !ok {
			continue
		}
		p := unsafe.SliceData(t.Data)
		if n, ok := c.allocated[p]; !ok || n != cap(t.Data) {
			continue
		}
		shared := false
		for _, ts := range live {
			for _, u := range ts {
				if us, ok := spanOf(u); ok && us.lo < sp.hi && sp.lo < us.hi {
					shared = true
					break
				}
			}
			if shared {
				break
			}
		}
		if shared {
			continue
		}
		delete(c.allocated, p)
		c.Buffers.give(unsafe.Slice(p, cap(t.Data)))
	}
}
