package runtime

import (
	"sync"
	"testing"
)

func TestPackedRebuildsOnTouch(t *testing.T) {
	v := &Variable{Name: "kernel", Value: NewTensor(2)}
	var p Packed[float32]
	builds := 0
	sum := func() float32 {
		builds++
		return v.Value.Data[0] + v.Value.Data[1]
	}
	v.Value.Data[0] = 1
	if got := p.Get(sum, v); got != 1 || builds != 1 {
		t.Fatalf("first Get = %v after %d builds", got, builds)
	}
	if got := p.Get(sum, v); got != 1 || builds != 1 {
		t.Fatalf("cached Get = %v after %d builds, want no rebuild", got, builds)
	}
	v.Value.Data[1] = 2
	v.Touch()
	if got := p.Get(sum, v); got != 3 || builds != 2 {
		t.Fatalf("Get after Touch = %v after %d builds, want 3 after 2", got, builds)
	}
	other := &Variable{Name: "kernel", Value: NewTensor(2)}
	if got := p.Get(func() float32 { return -1 }, other); got != -1 {
		t.Fatalf("Get for another variable returned the old value %v", got)
	}
}

func TestPackedConcurrentGet(t *testing.T) {
	v := &Variable{Name: "kernel", Value: NewTensor(1)}
	var p Packed[int]
	var wg sync.WaitGroup
	var mu sync.Mutex
	builds := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Get(func() int { mu.Lock(); builds++; mu.Unlock(); return 7 }, v)
		}()
	}
	wg.Wait()
	if builds != 1 {
		t.Fatalf("%d builds for one version, want 1", builds)
	}
}
