package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/runtime"
)

// Shape operations: each output element copies one element of one input,
// so one kernel runs them all forward (a gather) and backward (a
// scatter-add of the gradient).

// gatherPlan computes, for concrete input shapes, the output shape and for
// each output element the argument it copies (from) and the offset in it.
type gatherPlan func(shapes [][]int) (out []int, from []int, idx []int, err error)

type gatherKernel struct {
	args  []operand
	shape func(shapes [][]int) ([]int, error) // output shape, -1 unknown
	plan  gatherPlan
}

func (k *gatherKernel) build(in [][]int) ([][]int, error) {
	shapes := make([][]int, len(k.args))
	for i, a := range k.args {
		shapes[i] = a.shape(in)
	}
	out, err := k.shape(shapes)
	return [][]int{out}, err
}

func (k *gatherKernel) forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	vals := make([]*runtime.Tensor, len(k.args))
	shapes := make([][]int, len(k.args))
	for i, a := range k.args {
		vals[i] = a.value(in)
		shapes[i] = vals[i].Shape
	}
	outShape, from, idx, err := k.plan(shapes)
	if err != nil {
		return nil, nil, err
	}
	y := runtime.NewTensor(outShape...)
	for o := range y.Data {
		y.Data[o] = vals[from[o]].Data[idx[o]]
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gin := make([]*runtime.Tensor, len(in))
		gs := make([]*runtime.Tensor, len(k.args))
		for i, a := range k.args {
			if a.in >= 0 && ctx.NeedInputGrad(a.in) {
				gs[i] = runtime.NewTensor(shapes[i]...)
			}
		}
		for o, g := range gout[0].Data {
			if t := gs[from[o]]; t != nil {
				t.Data[idx[o]] += g
			}
		}
		for i, a := range k.args {
			if gs[i] == nil {
				continue
			}
			if gin[a.in] == nil {
				gin[a.in] = gs[i]
			} else {
				for j, v := range gs[i].Data {
					gin[a.in].Data[j] += v
				}
			}
		}
		return gin, nil
	}
	return []*runtime.Tensor{y}, back, nil
}

// singlePlan builds a gatherPlan of one argument from a function that maps
// each output multi-index to an input offset.
func singlePlan(outShape func(s []int) ([]int, error), src func(s []int, pos []int) int) gatherPlan {
	return func(shapes [][]int) ([]int, []int, []int, error) {
		s := shapes[0]
		out, err := outShape(s)
		if err != nil {
			return nil, nil, nil, err
		}
		n := runtime.ShapeSize(out)
		idx := make([]int, n)
		pos := make([]int, len(out))
		for o := 0; o < n; o++ {
			idx[o] = src(s, pos)
			for ax := len(out) - 1; ax >= 0; ax-- {
				pos[ax]++
				if pos[ax] < out[ax] {
					break
				}
				pos[ax] = 0
			}
		}
		return out, make([]int, n), idx, nil
	}
}

// offset returns the row-major offset of pos in shape s.
func offset(s, pos []int) int {
	off := 0
	for i, d := range s {
		off = off*d + pos[i]
	}
	return off
}

// reshapeKernel resolves one -1 in newshape.
func reshapeTo(x operand, newshape []int) *gatherKernel {
	resolve := func(s []int) ([]int, error) {
		out := append([]int(nil), newshape...)
		known, unknown := 1, -1
		for i, d := range out {
			if d == -1 {
				if unknown >= 0 {
					return nil, fmt.Errorf("reshape to %s has two -1", runtime.FormatShape(newshape))
				}
				unknown = i
				continue
			}
			known *= d
		}
		total := 1
		for _, d := range s {
			if d < 0 {
				total = -1
				break
			}
			total *= d
		}
		if unknown >= 0 {
			if total >= 0 && known > 0 {
				if total%known != 0 {
					return nil, fmt.Errorf("cannot reshape %s to %s", runtime.FormatShape(s), runtime.FormatShape(newshape))
				}
				out[unknown] = total / known
			}
		} else if total >= 0 && total != known {
			return nil, fmt.Errorf("cannot reshape %s to %s", runtime.FormatShape(s), runtime.FormatShape(newshape))
		}
		return out, nil
	}
	return &gatherKernel{
		args:  []operand{x},
		shape: func(sh [][]int) ([]int, error) { return resolve(sh[0]) },
		plan: func(sh [][]int) ([]int, []int, []int, error) {
			out, err := resolve(sh[0])
			if err != nil {
				return nil, nil, nil, err
			}
			n := runtime.ShapeSize(out)
			idx := make([]int, n)
			for i := range idx {
				idx[i] = i
			}
			return out, make([]int, n), idx, nil
		},
	}
}

// permuteKernel transposes by perm (nil: reverse the axes).
func permuteKernel(x operand, perm []int) *gatherKernel {
	resolve := func(s []int) ([]int, []int, error) {
		p := perm
		if p == nil {
			p = make([]int, len(s))
			for i := range p {
				p[i] = len(s) - 1 - i
			}
		}
		if len(p) != len(s) {
			return nil, nil, fmt.Errorf("axes %v do not match rank %d", perm, len(s))
		}
		out := make([]int, len(s))
		seen := make([]bool, len(s))
		for i, a := range p {
			if a < 0 {
				a += len(s)
			}
			if a < 0 || a >= len(s) || seen[a] {
				return nil, nil, fmt.Errorf("axes %v are not a permutation", perm)
			}
			seen[a] = true
			out[i] = s[a]
		}
		return out, p, nil
	}
	return &gatherKernel{
		args: []operand{x},
		shape: func(sh [][]int) ([]int, error) {
			out, _, err := resolve(sh[0])
			return out, err
		},
		plan: func(sh [][]int) ([]int, []int, []int, error) {
			_, p, err := resolve(sh[0])
			if err != nil {
				return nil, nil, nil, err
			}
			src := make([]int, len(p))
			return singlePlan(func(s []int) ([]int, error) { o, _, e := resolve(s); return o, e }, func(s, pos []int) int {
				for i, a := range p {
					if a < 0 {
						a += len(s)
					}
					src[a] = pos[i]
				}
				return offset(s, src)
			})(sh)
		},
	}
}

// concatKernel joins its arguments along axis.
func concatKernel(xs []operand, axis int, stack bool) *gatherKernel {
	resolve := func(sh [][]int) ([]int, int, error) {
		if len(sh) == 0 {
			return nil, 0, fmt.Errorf("nothing to join")
		}
		r := len(sh[0])
		if stack {
			r++
		}
		ax := axis
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r {
			return nil, 0, fmt.Errorf("axis %d out of range for rank %d", axis, r)
		}
		var out []int
		for i, s := range sh {
			if stack {
				s = append(append(append([]int(nil), s[:ax]...), 1), s[ax:]...)
			}
			if len(s) != r {
				return nil, 0, fmt.Errorf("cannot join shapes %s", formatShapes(sh))
			}
			if i == 0 {
				out = append([]int(nil), s...)
				continue
			}
			for j, d := range s {
				switch {
				case j == ax:
					if out[j] < 0 || d < 0 {
						out[j] = -1
					} else {
						out[j] += d
					}
				case out[j] < 0:
					out[j] = d
				case d >= 0 && d != out[j]:
					return nil, 0, fmt.Errorf("cannot join shapes %s along axis %d", formatShapes(sh), axis)
				}
			}
		}
		return out, ax, nil
	}
	return &gatherKernel{
		args: xs,
		shape: func(sh [][]int) ([]int, error) {
			out, _, err := resolve(sh)
			return out, err
		},
		plan: func(sh [][]int) ([]int, []int, []int, error) {
			out, ax, err := resolve(sh)
			if err != nil {
				return nil, nil, nil, err
			}
			outer, inner := 1, 1
			for i := 0; i < ax; i++ {
				outer *= out[i]
			}
			for i := ax + 1; i < len(out); i++ {
				inner *= out[i]
			}
			n := runtime.ShapeSize(out)
			from, idx := make([]int, 0, n), make([]int, 0, n)
			for o := 0; o < outer; o++ {
				for k, s := range sh {
					w := 1
					if !stack {
						w = s[ax]
					}
					for j := 0; j < w*inner; j++ {
						from = append(from, k)
						idx = append(idx, o*w*inner+j)
					}
				}
			}
			return out, from, idx, nil
		},
	}
}

// fixedPlanKernel is a one-argument gather whose output shape follows from
// the input shape by outShape (which must accept -1 dimensions).
func fixedPlanKernel(x operand, outShape func(s []int) ([]int, error), src func(s, pos []int) int) *gatherKernel {
	return &gatherKernel{
		args:  []operand{x},
		shape: func(sh [][]int) ([]int, error) { return outShape(sh[0]) },
		plan:  singlePlan(outShape, src),
	}
}

func normAxis(a, r int) (int, error) {
	if a < 0 {
		a += r
	}
	if a < 0 || a >= r {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	return a, nil
}

// expandDimsKernel inserts size-1 axes at axes (of the output).
func expandDimsKernel(x operand, axes []int) *gatherKernel {
	outShape := func(s []int) ([]int, error) {
		r := len(s) + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			a, err := normAxis(a, r)
			if err != nil {
				return nil, err
			}
			ins[a] = true
		}
		out := make([]int, 0, r)
		j := 0
		for i := 0; i < r; i++ {
			if ins[i] {
				out = append(out, 1)
			} else {
				out = append(out, s[j])
				j++
			}
		}
		return out, nil
	}
	return reshapeLike(x, outShape)
}

// reshapeLike is a gather that keeps the element order.
func reshapeLike(x operand, outShape func(s []int) ([]int, error)) *gatherKernel {
	return &gatherKernel{
		args:  []operand{x},
		shape: func(sh [][]int) ([]int, error) { return outShape(sh[0]) },
		plan: func(sh [][]int) ([]int, []int, []int, error) {
			out, err := outShape(sh[0])
			if err != nil {
				return nil, nil, nil, err
			}
			n := runtime.ShapeSize(out)
			idx := make([]int, n)
			for i := range idx {
				idx[i] = i
			}
			return out, make([]int, n), idx, nil
		},
	}
}

// squeezeKernel drops size-1 axes (all of them for nil).
func squeezeKernel(x operand, axes []int) *gatherKernel {
	return reshapeLike(x, func(s []int) ([]int, error) {
		drop := make([]bool, len(s))
		if axes == nil {
			for i, d := range s {
				drop[i] = d == 1
			}
		}
		for _, a := range axes {
			a, err := normAxis(a, len(s))
			if err != nil {
				return nil, err
			}
			if s[a] != 1 && s[a] != -1 {
				return nil, fmt.Errorf("cannot squeeze axis %d of shape %s", a, runtime.FormatShape(s))
			}
			drop[a] = true
		}
		out := []int{}
		for i, d := range s {
			if !drop[i] {
				out = append(out, d)
			}
		}
		return out, nil
	})
}

// tileKernel repeats x reps times along each axis (NumPy's tile).
func tileKernel(x operand, reps []int) *gatherKernel {
	align := func(s []int) ([]int, []int) {
		r := max(len(s), len(reps))
		ss, rr := make([]int, r), make([]int, r)
		for i := range ss {
			ss[i], rr[i] = 1, 1
		}
		copy(ss[r-len(s):], s)
		copy(rr[r-len(reps):], reps)
		return ss, rr
	}
	outShape := func(s []int) ([]int, error) {
		ss, rr := align(s)
		out := make([]int, len(ss))
		for i := range ss {
			out[i] = ss[i] * rr[i]
			if ss[i] < 0 {
				out[i] = -1
			}
		}
		return out, nil
	}
	return fixedPlanKernel(x, outShape, func(s, pos []int) int {
		ss, _ := align(s)
		off := 0
		for i, d := range ss {
			off = off*d + pos[i]%d
		}
		return off
	})
}

// flipKernel reverses the given axes (all for nil).
func flipKernel(x operand, axes []int) *gatherKernel {
	return fixedPlanKernel(x, func(s []int) ([]int, error) {
		_, err := reducedAxes(axes, len(s))
		return append([]int(nil), s...), err
	}, func(s, pos []int) int {
		red, _ := reducedAxes(axes, len(s))
		off := 0
		for i, d := range s {
			p := pos[i]
			if red[i] {
				p = d - 1 - p
			}
			off = off*d + p
		}
		return off
	})
}

// broadcastToKernel expands x to shape.
func broadcastToKernel(x operand, shape []int) *gatherKernel {
	return fixedPlanKernel(x, func(s []int) ([]int, error) {
		out, err := opBroadcastShapes(s, shape)
		if err == nil && len(out) != len(shape) {
			err = fmt.Errorf("cannot broadcast %s to %s", runtime.FormatShape(s), runtime.FormatShape(shape))
		}
		return out, err
	}, func(s, pos []int) int {
		off := len(pos) - len(s)
		o := 0
		for i, d := range s {
			p := pos[off+i]
			if d == 1 {
				p = 0
			}
			o = o*d + p
		}
		return o
	})
}

// repeatKernel repeats each element repeats times along axis (flattened
// for nil).
func repeatKernel(x operand, repeats int, axis *int) *gatherKernel {
	outShape := func(s []int) ([]int, error) {
		if axis == nil {
			n := runtime.ShapeSize(s)
			if n == 0 && len(s) > 0 {
				return []int{-1}, nil
			}
			return []int{n * repeats}, nil
		}
		a, err := normAxis(*axis, len(s))
		if err != nil {
			return nil, err
		}
		out := append([]int(nil), s...)
		if out[a] >= 0 {
			out[a] *= repeats
		}
		return out, nil
	}
	return fixedPlanKernel(x, outShape, func(s, pos []int) int {
		if axis == nil {
			return pos[0] / repeats
		}
		a, _ := normAxis(*axis, len(s))
		off := 0
		for i, d := range s {
			p := pos[i]
			if i == a {
				p /= repeats
			}
			off = off*d + p
		}
		return off
	})
}

// rollKernel shifts elements along axes (flattened for nil).
func rollKernel(x operand, shifts, axes []int) *gatherKernel {
	return fixedPlanKernel(x, func(s []int) ([]int, error) {
		return append([]int(nil), s...), nil
	}, func(s, pos []int) int {
		if axes == nil {
			n := runtime.ShapeSize(s)
			o := offset(s, pos)
			return ((o-shifts[0])%n + n) % n
		}
		p := append([]int(nil), pos...)
		for i, a := range axes {
			a, _ = normAxis(a, len(s))
			sh := shifts[0]
			if i < len(shifts) {
				sh = shifts[i]
			}
			p[a] = ((p[a]-sh)%s[a] + s[a]) % s[a]
		}
		return offset(s, p)
	})
}
