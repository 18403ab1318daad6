package layers

import (
	"fmt"
	"strings"

	"github.com/kerasrun/kerasrun/runtime"
)

// opBroadcastShapes returns the NumPy broadcast of shapes (-1 unknown).
func opBroadcastShapes(shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == 1:
			case o == 1:
				out[off+i] = d
			case d == -1 || o == -1:
				out[off+i] = max(d, o)
			case d != o:
				return nil, fmt.Errorf("shapes %s cannot be broadcast", formatShapes(shapes))
			}
		}
	}
	return out, nil
}

func formatShapes(shapes [][]int) string {
	s := ""
	for i, sh := range shapes {
		if i > 0 {
			s += " and "
		}
		s += runtime.FormatShape(sh)
	}
	return s
}

// opBroadcastStrides returns, for a tensor of shape s broadcast to out, the
// stride of each of out's axes into s (0 where s is broadcast).
func opBroadcastStrides(s, out []int) []int {
	st := make([]int, len(out))
	off := len(out) - len(s)
	stride := 1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 1 {
			st[off+i] = stride
		}
		stride *= s[i]
	}
	return st
}

// forEachBroadcast calls fn(o, idx) for every element o of shape out, with
// idx[k] the element's offset in each of the tensors of shapes.
func forEachBroadcast(out []int, shapes [][]int, fn func(o int, idx []int)) {
	n := runtime.ShapeSize(out)
	if n == 0 {
		return
	}
	strides := make([][]int, len(shapes))
	for k, s := range shapes {
		strides[k] = opBroadcastStrides(s, out)
	}
	idx := make([]int, len(shapes))
	pos := make([]int, len(out))
	for o := 0; o < n; o++ {
		fn(o, idx)
		for ax := len(out) - 1; ax >= 0; ax-- {
			pos[ax]++
			for k := range idx {
				idx[k] += strides[k][ax]
			}
			if pos[ax] < out[ax] {
				break
			}
			for k := range idx {
				idx[k] -= strides[k][ax] * out[ax]
			}
			pos[ax] = 0
		}
	}
}

// elementwiseKernel applies f to broadcast operands. grads[k], when set,
// is d out / d operand k from the operands' values x and the output y;
// an operand without one gets no gradient.
type elementwiseKernel struct {
	args  []operand
	f     func(x []float64) float64
	grads []func(x []float64, y float64) float64
}

func (k *elementwiseKernel) build(in [][]int) ([][]int, error) {
	shapes := make([][]int, len(k.args))
	for i, a := range k.args {
		shapes[i] = a.shape(in)
	}
	out, err := opBroadcastShapes(shapes...)
	if err != nil {
		return nil, err
	}
	return [][]int{out}, nil
}

func (k *elementwiseKernel) forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	vals := make([]*runtime.Tensor, len(k.args))
	shapes := make([][]int, len(k.args))
	for i, a := range k.args {
		vals[i] = a.value(in)
		shapes[i] = vals[i].Shape
	}
	outShape, err := opBroadcastShapes(shapes...)
	if err != nil {
		return nil, nil, err
	}
	y := runtime.NewTensor(outShape...)
	x := make([]float64, len(vals))
	forEachBroadcast(outShape, shapes, func(o int, idx []int) {
		for i, v := range vals {
			x[i] = float64(v.Data[idx[i]])
		}
		y.Data[o] = float32(k.f(x))
	})
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g := gout[0]
		gin := make([]*runtime.Tensor, len(in))
		for i, a := range k.args {
			if a.in < 0 || i >= len(k.grads) || k.grads[i] == nil || !ctx.NeedInputGrad(a.in) {
				continue
			}
			gi := runtime.NewTensor(shapes[i]...)
			gf := k.grads[i]
			forEachBroadcast(outShape, shapes, func(o int, idx []int) {
				for j, v := range vals {
					x[j] = float64(v.Data[idx[j]])
				}
				gi.Data[idx[i]] += g.Data[o] * float32(gf(x, float64(y.Data[o])))
			})
			if gin[a.in] == nil {
				gin[a.in] = gi
			} else {
				for j, v := range gi.Data {
					gin[a.in].Data[j] += v
				}
			}
		}
		return gin, nil
	}
	return []*runtime.Tensor{y}, back, nil
}

// unaryOp registers an elementwise function of parameter "x" (the name
// Keras's numpy ops use) with its derivative df(x, y); df nil means no
// gradient (a result that is a bool or an int, or a step function).
func unaryOp(full string, f func(x float64) float64, df func(x, y float64) float64) {
	registerOp(full, "x", func(a *opArgs) (opKernel, error) {
		x, err := a.operand("x")
		if err != nil {
			return nil, err
		}
		return unaryKernel(x, f, df), nil
	})
}

func unaryKernel(x operand, f func(x float64) float64, df func(x, y float64) float64) *elementwiseKernel {
	k := &elementwiseKernel{args: []operand{x}, f: func(v []float64) float64 { return f(v[0]) }}
	if df != nil {
		k.grads = []func([]float64, float64) float64{func(v []float64, y float64) float64 { return df(v[0], y) }}
	}
	return k
}

// binaryFunc is a broadcast function of two operands with its partial
// derivatives (nil: none).
type binaryFunc struct {
	f      func(a, b float64) float64
	da, db func(a, b, y float64) float64
}

func (bf binaryFunc) kernel(a, b operand) *elementwiseKernel {
	k := &elementwiseKernel{args: []operand{a, b}, f: func(v []float64) float64 { return bf.f(v[0], v[1]) }}
	if bf.da != nil {
		k.grads = append(k.grads, func(v []float64, y float64) float64 { return bf.da(v[0], v[1], y) })
	} else {
		k.grads = append(k.grads, nil)
	}
	if bf.db != nil {
		k.grads = append(k.grads, func(v []float64, y float64) float64 { return bf.db(v[0], v[1], y) })
	}
	return k
}

// binaryOp registers a broadcast function of the parameters "p1,p2".
func binaryOp(full, params string, bf binaryFunc) {
	p1, p2, _ := strings.Cut(params, ",")
	registerOp(full, params, func(a *opArgs) (opKernel, error) {
		x, err := a.operand(p1)
		if err != nil {
			return nil, err
		}
		y, err := a.operand(p2)
		if err != nil {
			return nil, err
		}
		return bf.kernel(x, y), nil
	})
}
