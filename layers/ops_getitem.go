package layers

import (
	"fmt"
)

// GetItem (Keras 3's x[key]) and tf-keras's SlicingOpLambda
// (tf.__operators__.getitem): basic NumPy indexing by slices, integers,
// None (a new axis) and Ellipsis.

type indexItem struct {
	kind              int // itemSlice, itemIndex, itemNewAxis, itemEllipsis
	start, stop, step *int
	index             int
}

const (
	itemSlice = iota
	itemIndex
	itemNewAxis
	itemEllipsis
)

func optInt(v any) (*int, error) {
	if v == nil {
		return nil, nil
	}
	is, err := toInts(v)
	if err != nil || len(is) != 1 {
		return nil, fmt.Errorf("want an integer, got %v", v)
	}
	return &is[0], nil
}

// parseIndexKey decodes a key: one item or a list of them.
func parseIndexKey(key any) ([]indexItem, error) {
	list, ok := key.([]any)
	if !ok {
		list = []any{key}
	}
	var items []indexItem
	for _, v := range list {
		switch t := v.(type) {
		case nil:
			items = append(items, indexItem{kind: itemNewAxis})
		case float64:
			i, err := optInt(t)
			if err != nil {
				return nil, err
			}
			items = append(items, indexItem{kind: itemIndex, index: *i})
		case map[string]any:
			cls, _ := t["class_name"].(string)
			cfg, _ := t["config"].(map[string]any)
			if cls == "" && cfg == nil {
				cfg = t // tf-keras writes a slice as {start, stop, step}
				cls = "__slice__"
			}
			switch cls {
			case "__ellipsis__":
				items = append(items, indexItem{kind: itemEllipsis})
			case "__slice__":
				var it indexItem
				var err error
				it.kind = itemSlice
				if it.start, err = optInt(cfg["start"]); err != nil {
					return nil, err
				}
				if it.stop, err = optInt(cfg["stop"]); err != nil {
					return nil, err
				}
				if it.step, err = optInt(cfg["step"]); err != nil {
					return nil, err
				}
				if it.step != nil && *it.step == 0 {
					return nil, fmt.Errorf("slice step 0")
				}
				items = append(items, it)
			default:
				return nil, fmt.Errorf("index %v is not supported", v)
			}
		case opInput:
			return nil, fmt.Errorf("indexing by a tensor is not supported")
		default:
			return nil, fmt.Errorf("index %v is not supported", v)
		}
	}
	return items, nil
}

// sliceRange returns Python's slice.indices(n) and the slice's length.
func sliceRange(it indexItem, n int) (start, step, length int) {
	step = 1
	if it.step != nil {
		step = *it.step
	}
	clamp := func(p *int, def int) int {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += n
		}
		if step > 0 {
			return min(max(v, 0), n)
		}
		return min(max(v, -1), n-1)
	}
	var stop int
	if step > 0 {
		start, stop = clamp(it.start, 0), clamp(it.stop, n)
		length = max(0, (stop-start+step-1)/step)
	} else {
		start, stop = clamp(it.start, n-1), clamp(it.stop, -1)
		length = max(0, (start-stop-step-1)/(-step))
	}
	return start, step, length
}

// getItemKernel indexes x by items.
func getItemKernel(x operand, items []indexItem) *gatherKernel {
	// expand resolves the Ellipsis and pads with full slices.
	expand := func(r int) ([]indexItem, error) {
		consumed, ell := 0, -1
		for i, it := range items {
			switch it.kind {
			case itemSlice, itemIndex:
				consumed++
			case itemEllipsis:
				if ell >= 0 {
					return nil, fmt.Errorf("an index can only have one ellipsis")
				}
				ell = i
			}
		}
		if consumed > r {
			return nil, fmt.Errorf("too many indices for rank %d", r)
		}
		full := make([]indexItem, r-consumed)
		for i := range full {
			full[i].kind = itemSlice
		}
		var out []indexItem
		if ell < 0 {
			out = append(append(out, items...), full...)
		} else {
			out = append(append(append(out, items[:ell]...), full...), items[ell+1:]...)
		}
		return out, nil
	}
	outShape := func(s []int) ([]int, error) {
		ex, err := expand(len(s))
		if err != nil {
			return nil, err
		}
		out := []int{}
		ax := 0
		for _, it := range ex {
			switch it.kind {
			case itemNewAxis:
				out = append(out, 1)
			case itemIndex:
				if d := s[ax]; d >= 0 && (it.index >= d || it.index < -d) {
					return nil, fmt.Errorf("index %d out of range for axis %d of size %d", it.index, ax, d)
				}
				ax++
			case itemSlice:
				d := s[ax]
				ax++
				if d < 0 {
					out = append(out, -1)
					continue
				}
				_, _, n := sliceRange(it, d)
				out = append(out, n)
			}
		}
		return out, nil
	}
	return fixedPlanKernel(x, outShape, func(s, pos []int) int {
		ex, _ := expand(len(s))
		off, ax, p := 0, 0, 0
		for _, it := range ex {
			switch it.kind {
			case itemNewAxis:
				p++
			case itemIndex:
				i := it.index
				if i < 0 {
					i += s[ax]
				}
				off = off*s[ax] + i
				ax++
			case itemSlice:
				start, step, _ := sliceRange(it, s[ax])
				off = off*s[ax] + start + pos[p]*step
				ax++
				p++
			}
		}
		return off
	})
}

func init() {
	registerOp(npOps+"GetItem", "x,key", func(a *opArgs) (opKernel, error) {
		x, err := a.operand("x")
		if err != nil {
			return nil, err
		}
		key, _ := a.value("key")
		items, err := parseIndexKey(key)
		if err != nil {
			return nil, err
		}
		return getItemKernel(x, items), nil
	})
	registerOp("tf.__operators__.getitem", "tensor", func(a *opArgs) (opKernel, error) {
		x, err := a.operand("tensor")
		if err != nil {
			return nil, err
		}
		key, _ := a.value("slice_spec")
		items, err := parseIndexKey(key)
		if err != nil {
			return nil, err
		}
		return getItemKernel(x, items), nil
	})
}
