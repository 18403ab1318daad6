package layers

import (
	"fmt"
	"math"
	"sort"

	"github.com/kerasrun/kerasrun/runtime"
)

// More numpy operations: the flips fliplr / flipud, nan_to_num, isclose,
// diff, diagonal, trace, sort, argsort, average and median.

func init() {
	xOp(npOps+"Fliplr", "x", func(_ *opArgs, x operand) (opKernel, error) { return flipKernel(x, []int{1}), nil })
	xOp(npOps+"Flipud", "x", func(_ *opArgs, x operand) (opKernel, error) { return flipKernel(x, []int{0}), nil })
	xOp(npOps+"NanToNum", "x", func(a *opArgs, x operand) (opKernel, error) {
		nan, err := a.float("nan", 0)
		if err != nil {
			return nil, err
		}
		posinf, err := a.float("posinf", math.MaxFloat32)
		if err != nil {
			return nil, err
		}
		neginf, err := a.float("neginf", -math.MaxFloat32)
		if err != nil {
			return nil, err
		}
		return unaryKernel(x, func(v float64) float64 {
			switch {
			case math.IsNaN(v):
				return nan
			case math.IsInf(v, 1):
				return posinf
			case math.IsInf(v, -1):
				return neginf
			}
			return v
		}, func(v, _ float64) float64 { return bool64(!math.IsNaN(v) && !math.IsInf(v, 0)) }), nil
	})
	registerOp(npOps+"Isclose", "x1,x2,rtol,atol", func(a *opArgs) (opKernel, error) {
		x1, err := a.operand("x1")
		if err != nil {
			return nil, err
		}
		x2, err := a.operand("x2")
		if err != nil {
			return nil, err
		}
		rtol, err := a.float("rtol", 1e-5)
		if err != nil {
			return nil, err
		}
		atol, err := a.float("atol", 1e-8)
		if err != nil {
			return nil, err
		}
		equalNaN, err := a.boolean("equal_nan", false)
		if err != nil {
			return nil, err
		}
		return &elementwiseKernel{args: []operand{x1, x2}, f: func(v []float64) float64 {
			if math.IsNaN(v[0]) || math.IsNaN(v[1]) {
				return bool64(equalNaN && math.IsNaN(v[0]) && math.IsNaN(v[1]))
			}
			if v[0] == v[1] {
				return 1
			}
			return bool64(math.Abs(v[0]-v[1]) <= atol+rtol*math.Abs(v[1]))
		}}, nil
	})
	xOp(npOps+"Diff", "x", func(a *opArgs, x operand) (opKernel, error) {
		n, err := a.int("n", 1)
		if err != nil {
			return nil, err
		}
		axis, err := a.int("axis", -1)
		if n < 0 {
			return nil, fmt.Errorf("diff order n=%d must be non-negative", n)
		}
		return diffKernel(x, n, axis), err
	})
	diagArgs := func(a *opArgs) (offset, ax1, ax2 int, err error) {
		if offset, err = a.int("offset", 0); err != nil {
			return
		}
		if ax1, err = a.int("axis1", 0); err != nil {
			return
		}
		ax2, err = a.int("axis2", 1)
		return
	}
	xOp(npOps+"Diagonal", "x", func(a *opArgs, x operand) (opKernel, error) {
		off, ax1, ax2, err := diagArgs(a)
		return diagonalKernel(x, off, ax1, ax2), err
	})
	xOp(npOps+"Trace", "x", func(a *opArgs, x operand) (opKernel, error) {
		off, ax1, ax2, err := diagArgs(a)
		return traceKernel(x, off, ax1, ax2), err
	})
	for class, arg := range map[string]bool{"Sort": false, "Argsort": true} {
		xOp(npOps+class, "x", func(a *opArgs, x operand) (opKernel, error) {
			axis, err := a.int("axis", -1)
			return sortKernel(x, axis, arg), err
		})
	}
	registerOp(npOps+"Average", "x,weights", func(a *opArgs) (opKernel, error) {
		x, err := a.operand("x")
		if err != nil {
			return nil, err
		}
		if w, ok := a.value("weights"); ok && w != nil {
			return nil, fmt.Errorf("average with weights is not supported")
		}
		axis, err := optAxis(a, "axis")
		if err != nil {
			return nil, err
		}
		var axes []int
		if axis != nil {
			axes = []int{*axis}
		}
		return &reduceKernel{x: x, kind: reduceMean, axes: axes}, nil
	})
	xOp(npOps+"Median", "x", func(a *opArgs, x operand) (opKernel, error) {
		axes, _, err := a.ints("axis")
		if err != nil {
			return nil, err
		}
		keep, err := a.boolean("keepdims", false)
		return medianKernel(x, axes, keep), err
	})
}

// diffKernel is the n-th forward difference along axis.
func diffKernel(x operand, n, axis int) opKernel {
	return &funcKernel{args: []operand{x},
		shape: func(sh [][]int) ([]int, error) {
			s := append([]int(nil), sh[0]...)
			ax, err := normAxis(axis, len(s))
			if err != nil {
				return nil, err
			}
			if s[ax] >= 0 {
				s[ax] = max(s[ax]-n, 0)
			}
			return s, nil
		},
		run: func(_ *runtime.Context, v []*runtime.Tensor) (*runtime.Tensor, func(*runtime.Tensor) []*runtime.Tensor, error) {
			ax, err := normAxis(axis, v[0].Rank())
			if err != nil {
				return nil, nil, err
			}
			outer, m, inner := axisSplit(v[0].Shape, ax)
			cur := v[0]
			for i := 0; i < n && m > 0; i++ {
				s := append([]int(nil), cur.Shape...)
				s[ax] = m - 1
				y := runtime.NewTensor(s...)
				for o := 0; o < outer; o++ {
					for j := 0; j < m-1; j++ {
						for k := 0; k < inner; k++ {
							y.Data[(o*(m-1)+j)*inner+k] = cur.Data[(o*m+j+1)*inner+k] - cur.Data[(o*m+j)*inner+k]
						}
					}
				}
				cur, m = y, m-1
			}
			if n > v[0].Shape[ax] {
				s := append([]int(nil), v[0].Shape...)
				s[ax] = 0
				cur = runtime.NewTensor(s...)
			}
			return cur, func(g *runtime.Tensor) []*runtime.Tensor {
				if n > v[0].Shape[ax] {
					return []*runtime.Tensor{runtime.NewTensor(v[0].Shape...)}
				}
				cur := g
				for m := v[0].Shape[ax] - n; m < v[0].Shape[ax]; m++ {
					s := append([]int(nil), v[0].Shape...)
					s[ax] = m + 1
					gx := runtime.NewTensor(s...)
					for o := 0; o < outer; o++ {
						for j := 0; j < m; j++ {
							for k := 0; k < inner; k++ {
								gv := cur.Data[(o*m+j)*inner+k]
								gx.Data[(o*(m+1)+j+1)*inner+k] += gv
								gx.Data[(o*(m+1)+j)*inner+k] -= gv
							}
						}
					}
					cur = gx
				}
				return []*runtime.Tensor{cur}
			}, nil
		}}
}

// diagPlan resolves the diagonal of axes ax1, ax2 with offset for shape s:
// the remaining axes, the diagonal's length and its first (row, column).
func diagPlan(s []int, offset, ax1, ax2 int) (rest []int, n, r0, c0 int, a1, a2 int, err error) {
	if len(s) < 2 {
		return nil, 0, 0, 0, 0, 0, fmt.Errorf("diagonal needs rank 2 or more, got shape %v", s)
	}
	if a1, err = normAxis(ax1, len(s)); err != nil {
		return
	}
	if a2, err = normAxis(ax2, len(s)); err != nil {
		return
	}
	if a1 == a2 {
		return nil, 0, 0, 0, 0, 0, fmt.Errorf("axis1 and axis2 are both %d", a1)
	}
	for i, d := range s {
		if i != a1 && i != a2 {
			rest = append(rest, d)
		}
	}
	if offset >= 0 {
		c0 = offset
	} else {
		r0 = -offset
	}
	if s[a1] < 0 || s[a2] < 0 {
		return rest, -1, r0, c0, a1, a2, nil
	}
	n = max(min(s[a1]-r0, s[a2]-c0), 0)
	return rest, n, r0, c0, a1, a2, nil
}

// diagonalKernel is numpy.diagonal: the remaining axes, then the diagonal.
func diagonalKernel(x operand, offset, ax1, ax2 int) opKernel {
	outShape := func(s []int) ([]int, error) {
		rest, n, _, _, _, _, err := diagPlan(s, offset, ax1, ax2)
		return append(rest, n), err
	}
	return fixedPlanKernel(x, outShape, func(s, pos []int) int {
		_, _, r0, c0, a1, a2, _ := diagPlan(s, offset, ax1, ax2)
		d := pos[len(pos)-1]
		off, j := 0, 0
		for i, size := range s {
			var p int
			switch i {
			case a1:
				p = r0 + d
			case a2:
				p = c0 + d
			default:
				p = pos[j]
				j++
			}
			off = off*size + p
		}
		return off
	})
}

// traceKernel sums the diagonal of axes ax1, ax2 (numpy.trace).
func traceKernel(x operand, offset, ax1, ax2 int) opKernel {
	diag := diagonalKernel(x, offset, ax1, ax2).(*gatherKernel)
	return &funcKernel{args: []operand{x},
		shape: func(sh [][]int) ([]int, error) {
			rest, _, _, _, _, _, err := diagPlan(sh[0], offset, ax1, ax2)
			return rest, err
		},
		run: func(_ *runtime.Context, v []*runtime.Tensor) (*runtime.Tensor, func(*runtime.Tensor) []*runtime.Tensor, error) {
			out, _, idx, err := diag.plan([][]int{v[0].Shape})
			if err != nil {
				return nil, nil, err
			}
			n := out[len(out)-1]
			y := runtime.NewTensor(out[:len(out)-1]...)
			for o := range y.Data {
				var s float64
				for d := 0; d < n; d++ {
					s += float64(v[0].Data[idx[o*n+d]])
				}
				y.Data[o] = float32(s)
			}
			return y, func(g *runtime.Tensor) []*runtime.Tensor {
				gx := runtime.NewTensor(v[0].Shape...)
				for o, gv := range g.Data {
					for d := 0; d < n; d++ {
						gx.Data[idx[o*n+d]] += gv
					}
				}
				return []*runtime.Tensor{gx}
			}, nil
		}}
}

// sortKernel sorts along axis ascending (the sorted values, or for arg
// their int32 positions, without a gradient).
func sortKernel(x operand, axis int, arg bool) opKernel {
	return &funcKernel{args: []operand{x},
		shape: func(sh [][]int) ([]int, error) {
			_, err := normAxis(axis, len(sh[0]))
			return append([]int(nil), sh[0]...), err
		},
		run: func(_ *runtime.Context, v []*runtime.Tensor) (*runtime.Tensor, func(*runtime.Tensor) []*runtime.Tensor, error) {
			ax, err := normAxis(axis, v[0].Rank())
			if err != nil {
				return nil, nil, err
			}
			outer, n, inner := axisSplit(v[0].Shape, ax)
			y := runtime.NewTensor(v[0].Shape...)
			src := make([]int, len(y.Data)) // output offset -> input offset
			perm := make([]int, n)
			for o := 0; o < outer; o++ {
				for k := 0; k < inner; k++ {
					base := o*n*inner + k
					for j := range perm {
						perm[j] = j
					}
					sort.SliceStable(perm, func(a, b int) bool {
						va, vb := v[0].Data[base+perm[a]*inner], v[0].Data[base+perm[b]*inner]
						return va < vb || (vb != vb && va == va) // NaN last
					})
					for j, p := range perm {
						src[base+j*inner] = base + p*inner
						if arg {
							y.Data[base+j*inner] = float32(p)
						} else {
							y.Data[base+j*inner] = v[0].Data[base+p*inner]
						}
					}
				}
			}
			if arg {
				return y, nil, nil
			}
			return y, func(g *runtime.Tensor) []*runtime.Tensor {
				gx := runtime.NewTensor(v[0].Shape...)
				for o, s := range src {
					gx.Data[s] += g.Data[o]
				}
				return []*runtime.Tensor{gx}
			}, nil
		}}
}

// medianKernel is the median over axes (all for nil) as TensorFlow's
// quantile computes it: the mean of the two middle values of an even count,
// the gradient going to those.
func medianKernel(x operand, axes []int, keepdims bool) opKernel {
	return &funcKernel{args: []operand{x},
		shape: func(sh [][]int) ([]int, error) {
			out, _, err := (&reduceKernel{axes: axes, keepdims: keepdims}).outShape(sh[0])
			return out, err
		},
		run: func(_ *runtime.Context, v []*runtime.Tensor) (*runtime.Tensor, func(*runtime.Tensor) []*runtime.Tensor, error) {
			s := v[0].Shape
			red, err := reducedAxes(axes, len(s))
			if err != nil {
				return nil, nil, err
			}
			var keptShape, outShape []int
			for i, d := range s {
				if !red[i] {
					keptShape = append(keptShape, d)
					outShape = append(outShape, d)
				} else if keepdims {
					outShape = append(outShape, 1)
				}
			}
			nOut := runtime.ShapeSize(keptShape)
			groups := make([][]int, nOut)
			pos := make([]int, len(s))
			for off := range v[0].Data {
				o := 0
				for i, d := range s {
					if !red[i] {
						o = o*d + pos[i]
					}
				}
				groups[o] = append(groups[o], off)
				for ax := len(s) - 1; ax >= 0; ax-- {
					pos[ax]++
					if pos[ax] < s[ax] {
						break
					}
					pos[ax] = 0
				}
			}
			y := runtime.NewTensor(outShape...)
			picks := make([][2]int, nOut)
			for o, g := range groups {
				if len(g) == 0 {
					return nil, nil, fmt.Errorf("median over an empty axis of shape %v", s)
				}
				sort.SliceStable(g, func(a, b int) bool { return v[0].Data[g[a]] < v[0].Data[g[b]] })
				lo, hi := g[(len(g)-1)/2], g[len(g)/2]
				picks[o] = [2]int{lo, hi}
				y.Data[o] = float32((float64(v[0].Data[lo]) + float64(v[0].Data[hi])) / 2)
			}
			return y, func(g *runtime.Tensor) []*runtime.Tensor {
				gx := runtime.NewTensor(s...)
				for o, p := range picks {
					gx.Data[p[0]] += g.Data[o] / 2
					gx.Data[p[1]] += g.Data[o] / 2
				}
				return []*runtime.Tensor{gx}
			}, nil
		}}
}
