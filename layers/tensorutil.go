package layers

import "github.com/kerasrun/kerasrun/runtime"

// Shape and data-movement helpers shared by the merging, reshaping and
// normalization layers. They work on row-major float32 data.

// normalizeAxis maps a possibly negative axis into [0, rank); ok is false
// when it is out of range.
func normalizeAxis(axis, rank int) (int, bool) {
	if axis < 0 {
		axis += rank
	}
	return axis, axis >= 0 && axis < rank
}

func equalShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// rowMajorStrides returns the element strides of a row-major shape.
func rowMajorStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// forEachStrided calls f(o, i) for every flat index o of shape, where i is
// the offset given by strides (one per axis).
func forEachStrided(shape, strides []int, f func(o, i int)) {
	n := runtime.ShapeSize(shape)
	if n == 0 {
		return
	}
	idx := make([]int, len(shape))
	off := 0
	for o := 0; o < n; o++ {
		f(o, off)
		for a := len(shape) - 1; a >= 0; a-- {
			idx[a]++
			off += strides[a]
			if idx[a] < shape[a] {
				break
			}
			off -= strides[a] * shape[a]
			idx[a] = 0
		}
	}
}

// permuteAxes returns data of shape transposed so that output axis i is
// input axis perm[i], with the output shape.
func permuteAxes(data []float32, shape, perm []int) ([]float32, []int) {
	outShape := make([]int, len(perm))
	st := rowMajorStrides(shape)
	pst := make([]int, len(perm))
	identity := true
	for i, p := range perm {
		outShape[i] = shape[p]
		pst[i] = st[p]
		identity = identity && p == i
	}
	if identity {
		return data, outShape
	}
	out := make([]float32, len(data))
	forEachStrided(outShape, pst, func(o, i int) { out[o] = data[i] })
	return out, outShape
}

// inversePerm returns the permutation undoing perm.
func inversePerm(perm []int) []int {
	inv := make([]int, len(perm))
	for i, p := range perm {
		inv[p] = i
	}
	return inv
}

// broadcastShapes returns the NumPy broadcast of two equal-rank shapes
// (-1 unknown), or ok false when they are incompatible.
func broadcastShapes(a, b []int) ([]int, bool) {
	out := make([]int, len(a))
	for i := range a {
		switch {
		case a[i] == b[i]:
			out[i] = a[i]
		case a[i] == 1:
			out[i] = b[i]
		case b[i] == 1:
			out[i] = a[i]
		case a[i] < 0 || b[i] < 0:
			out[i] = -1
		default:
			return nil, false
		}
	}
	return out, true
}

// broadcastStrides gives the strides to read data of shape as if it had
// shape out (equal ranks): 0 along broadcast axes.
func broadcastStrides(shape, out []int) []int {
	st := rowMajorStrides(shape)
	for i := range shape {
		if shape[i] == 1 && out[i] != 1 {
			st[i] = 0
		}
	}
	return st
}

// broadcastTo expands data of shape to shape out (equal ranks, NumPy rules).
func broadcastTo(data []float32, shape, out []int) []float32 {
	if equalShapes(shape, out) {
		return data
	}
	res := make([]float32, runtime.ShapeSize(out))
	st := broadcastStrides(shape, out)
	// The trailing axes that are not broadcast are one block of data
	// (an image's channels under a per-channel scale): copy them whole.
	block, a := 1, len(out)
	for a > 0 && shape[a-1] == out[a-1] {
		a--
		block *= out[a]
	}
	if a == len(out) || block < 8 {
		forEachStrided(out, st, func(o, i int) { res[o] = data[i] })
		return res
	}
	forEachStrided(out[:a], st[:a], func(o, i int) { copy(res[o*block:(o+1)*block], data[i:i+block]) })
	return res
}

// unbroadcast sums a gradient of shape out back to shape (the reverse of
// broadcastTo).
func unbroadcast(g []float32, shape, out []int) []float32 {
	if equalShapes(shape, out) {
		return g
	}
	res := make([]float32, runtime.ShapeSize(shape))
	forEachStrided(out, broadcastStrides(shape, out), func(o, i int) { res[i] += g[o] })
	return res
}

// identityMap returns the axis map 0..n-1.
func identityMap(n int) []int {
	m := make([]int, n)
	for i := range m {
		m[i] = i
	}
	return m
}

// axisGather builds the tensor whose element at output index (o_0, ...,
// o_k) is x at (maps[0][o_0], ..., maps[k][o_k]), or 0 where a map entry
// is -1. Cropping, padding, nearest upsampling and repetition are all
// such gathers. It returns the data and the output shape.
func axisGather(x []float32, shape []int, maps [][]int) ([]float32, []int) {
	outShape := make([]int, len(maps))
	for a, m := range maps {
		outShape[a] = len(m)
	}
	out := make([]float32, runtime.ShapeSize(outShape))
	// Trailing axes that are copied whole (the channels of a padding or a
	// crop) move as blocks.
	k := len(maps)
	for k > 0 && isIdentityMap(maps[k-1], shape[k-1]) {
		k--
	}
	if k == 0 {
		copy(out, x)
		return out, outShape
	}
	if inner := runtime.ShapeSize(shape[k:]); inner > 1 {
		walkAxisMaps(shape[:k], outShape[:k], maps[:k], func(in, o int) {
			copy(out[o*inner:(o+1)*inner], x[in*inner:(in+1)*inner])
		})
		return out, outShape
	}
	walkAxisMaps(shape, outShape, maps, func(in, o int) { out[o] = x[in] })
	return out, outShape
}

// isIdentityMap reports whether m maps each of the n positions to itself.
func isIdentityMap(m []int, n int) bool {
	if len(m) != n {
		return false
	}
	for i, v := range m {
		if v != i {
			return false
		}
	}
	return true
}

// axisScatter is the gradient of axisGather: it sums g (of the gathered
// shape) back into a tensor of shape.
func axisScatter(g []float32, shape []int, maps [][]int) []float32 {
	outShape := make([]int, len(maps))
	for a, m := range maps {
		outShape[a] = len(m)
	}
	gx := make([]float32, runtime.ShapeSize(shape))
	walkAxisMaps(shape, outShape, maps, func(in, o int) { gx[in] += g[o] })
	return gx
}

// walkAxisMaps calls f(input offset, output offset) for every output
// element whose maps are all >= 0.
func walkAxisMaps(shape, outShape []int, maps [][]int, f func(in, o int)) {
	if len(shape) == 0 || runtime.ShapeSize(outShape) == 0 {
		return
	}
	ist, ost := rowMajorStrides(shape), rowMajorStrides(outShape)
	last := len(shape) - 1
	var rec func(a, in, o int)
	rec = func(a, in, o int) {
		for oi, ii := range maps[a] {
			if ii < 0 {
				continue
			}
			if a == last {
				f(in+ii*ist[a], o+oi*ost[a])
			} else {
				rec(a+1, in+ii*ist[a], o+oi*ost[a])
			}
		}
	}
	rec(0, 0, 0)
}
