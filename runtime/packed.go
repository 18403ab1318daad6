package runtime

import (
	"sync"
	"sync/atomic"
)

// Packed caches a value derived from variables, typically a weight packed
// into the GEMM core's panel layout, so that packing happens once per
// change of the weights (at load, after a training step), never per call.
// Get is safe for concurrent use.
type Packed[T any] struct {
	mu  sync.Mutex
	cur atomic.Pointer[packedEntry[T]]
}

type packedEntry[T any] struct {
	vars     []*Variable
	versions []uint64
	val      T
}

func (e *packedEntry[T]) current(vars []*Variable) bool {
	if e == nil || len(e.vars) != len(vars) {
		return false
	}
	for i, v := range vars {
		if e.vars[i] != v || e.versions[i] != v.Version() {
			return false
		}
	}
	return true
}

// Get returns the cached value for the variables' current versions,
// calling build to make it when they changed since the last call.
func (p *Packed[T]) Get(build func() T, vars ...*Variable) T {
	if e := p.cur.Load(); e.current(vars) {
		return e.val
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.cur.Load(); e.current(vars) {
		return e.val
	}
	e := &packedEntry[T]{vars: append([]*Variable(nil), vars...), versions: make([]uint64, len(vars))}
	for i, v := range vars {
		e.versions[i] = v.Version()
	}
	e.val = build()
	p.cur.Store(e)
	return e.val
}
