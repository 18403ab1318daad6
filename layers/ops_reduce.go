package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/runtime"
)

// Reductions over axes (keras.ops.numpy Sum, Mean, Max, ..., and tf's
// reduce_*), forward and backward as TensorFlow computes them.

type reduceKind int

const (
	reduceSum reduceKind = iota
	reduceMean
	reduceMax
	reduceMin
	reduceProd
	reduceVar
	reduceStd
	reduceAny
	reduceAll
	reduceLogSumExp
	reduceCountNonzero
	reduceArgmax
	reduceArgmin
)

type reduceKernel struct {
	x        operand
	kind     reduceKind
	axes     []int // nil: every axis
	keepdims bool
}

// reducedAxes resolves negative axes for rank r; nil means all.
func reducedAxes(axes []int, r int) ([]bool, error) {
	red := make([]bool, r)
	if axes == nil {
		for i := range red {
			red[i] = true
		}
		return red, nil
	}
	for _, a := range axes {
		if a < 0 {
			a += r
		}
		if a < 0 || a >= r {
			return nil, fmt.Errorf("axis %v out of range for rank %d", axes, r)
		}
		red[a] = true
	}
	return red, nil
}

func (k *reduceKernel) outShape(s []int) ([]int, []bool, error) {
	red, err := reducedAxes(k.axes, len(s))
	if err != nil {
		return nil, nil, err
	}
	var out []int
	for i, d := range s {
		switch {
		case !red[i]:
			out = append(out, d)
		case k.keepdims:
			out = append(out, 1)
		}
	}
	if out == nil {
		out = []int{}
	}
	return out, red, nil
}

func (k *reduceKernel) build(in [][]int) ([][]int, error) {
	if (k.kind == reduceArgmax || k.kind == reduceArgmin) && len(k.axes) > 1 {
		return nil, fmt.Errorf("argmax/argmin take one axis")
	}
	out, _, err := k.outShape(k.x.shape(in))
	return [][]int{out}, err
}

// reduceIndex returns, for every element of a tensor of shape s, the
// offset of its reduction group in the output.
func reduceIndex(s []int, red []bool) ([]int, int) {
	outStrides := make([]int, len(s))
	n := 1
	for i := len(s) - 1; i >= 0; i-- {
		if !red[i] {
			outStrides[i] = n
			n *= s[i]
		}
	}
	idx := make([]int, runtime.ShapeSize(s))
	pos := make([]int, len(s))
	off := 0
	for e := range idx {
		idx[e] = off
		for ax := len(s) - 1; ax >= 0; ax-- {
			pos[ax]++
			off += outStrides[ax]
			if pos[ax] < s[ax] {
				break
			}
			off -= outStrides[ax] * s[ax]
			pos[ax] = 0
		}
	}
	return idx, n
}

func (k *reduceKernel) forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := k.x.value(in)
	outShape, red, err := k.outShape(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	if k.kind == reduceArgmax || k.kind == reduceArgmin {
		return k.arg(x, outShape, red)
	}
	idx, n := reduceIndex(x.Shape, red)
	count := 1
	if n > 0 {
		count = len(x.Data) / n
	}
	acc := make([]float64, n)
	switch k.kind {
	case reduceMax, reduceLogSumExp:
		for i := range acc {
			acc[i] = math.Inf(-1)
		}
	case reduceMin:
		for i := range acc {
			acc[i] = math.Inf(1)
		}
	case reduceProd, reduceAll:
		for i := range acc {
			acc[i] = 1
		}
	}
	var mean []float64
	if k.kind == reduceVar || k.kind == reduceStd {
		mean = make([]float64, n)
		for e, v := range x.Data {
			mean[idx[e]] += float64(v)
		}
		for i := range mean {
			mean[i] /= float64(count)
		}
	}
	for e, v32 := range x.Data {
		v, o := float64(v32), idx[e]
		switch k.kind {
		case reduceSum, reduceMean:
			acc[o] += v
		case reduceMax, reduceLogSumExp:
			if v > acc[o] || math.IsNaN(v) {
				acc[o] = v
			}
		case reduceMin:
			if v < acc[o] || math.IsNaN(v) {
				acc[o] = v
			}
		case reduceProd:
			acc[o] *= v
		case reduceVar, reduceStd:
			d := v - mean[o]
			acc[o] += d * d
		case reduceAny:
			acc[o] = bool64(acc[o] != 0 || v != 0)
		case reduceAll:
			acc[o] = bool64(acc[o] != 0 && v != 0)
		case reduceCountNonzero:
			acc[o] += bool64(v != 0)
		}
	}
	var lseMax []float64
	if k.kind == reduceLogSumExp {
		lseMax = append([]float64(nil), acc...)
		sum := make([]float64, n)
		for e, v := range x.Data {
			m := lseMax[idx[e]]
			if !math.IsInf(m, 0) {
				sum[idx[e]] += math.Exp(float64(v) - m)
			}
		}
		for i := range acc {
			if !math.IsInf(lseMax[i], 0) {
				acc[i] = lseMax[i] + math.Log(sum[i])
			}
		}
	}
	y := runtime.NewTensor(outShape...)
	for i, v := range acc {
		switch k.kind {
		case reduceMean, reduceVar:
			v /= float64(count)
		case reduceStd:
			v = math.Sqrt(v / float64(count))
		}
		y.Data[i] = float32(v)
	}
	if !ctx.Grad || k.x.in < 0 {
		return []*runtime.Tensor{y}, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gin := make([]*runtime.Tensor, len(in))
		g := gout[0].Data
		gx := runtime.NewTensor(x.Shape...)
		switch k.kind {
		case reduceSum:
			for e := range gx.Data {
				gx.Data[e] = g[idx[e]]
			}
		case reduceMean:
			for e := range gx.Data {
				gx.Data[e] = g[idx[e]] / float32(count)
			}
		case reduceMax, reduceMin:
			// TensorFlow shares the gradient among the tied extremes.
			ties := make([]float32, n)
			for e, v := range x.Data {
				if v == y.Data[idx[e]] {
					ties[idx[e]]++
				}
			}
			for e, v := range x.Data {
				if o := idx[e]; v == y.Data[o] {
					gx.Data[e] = g[o] / ties[o]
				}
			}
		case reduceProd:
			for e, v := range x.Data {
				o := idx[e]
				if v != 0 {
					gx.Data[e] = g[o] * y.Data[o] / v
					continue
				}
				p := float32(1) // the product of the others
				for f, w := range x.Data {
					if f != e && idx[f] == o {
						p *= w
					}
				}
				gx.Data[e] = g[o] * p
			}
		case reduceVar, reduceStd:
			for e, v := range x.Data {
				o := idx[e]
				d := 2 * (float64(v) - mean[o]) / float64(count)
				if k.kind == reduceStd {
					d /= 2 * float64(y.Data[o])
				}
				gx.Data[e] = g[o] * float32(d)
			}
		case reduceLogSumExp:
			for e, v := range x.Data {
				o := idx[e]
				gx.Data[e] = g[o] * float32(math.Exp(float64(v)-float64(y.Data[o])))
			}
		default:
			return gin, nil // bools and counts pass no gradient
		}
		gin[k.x.in] = gx
		return gin, nil
	}
	return []*runtime.Tensor{y}, back, nil
}

// arg computes argmax/argmin over one axis (all axes, flattened, for nil).
func (k *reduceKernel) arg(x *runtime.Tensor, outShape []int, red []bool) ([]*runtime.Tensor, runtime.Backward, error) {
	s := x.Shape
	ax := -1
	if k.axes == nil {
		s = []int{len(x.Data)}
		ax = 0
	} else {
		for i, r := range red {
			if r {
				ax = i
			}
		}
	}
	outer, inner := 1, 1
	for i := 0; i < ax; i++ {
		outer *= s[i]
	}
	for i := ax + 1; i < len(s); i++ {
		inner *= s[i]
	}
	n := s[ax]
	y := runtime.NewTensor(outShape...)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			best, bi := x.Data[o*n*inner+i], 0
			for j := 1; j < n; j++ {
				v := x.Data[(o*n+j)*inner+i]
				if (k.kind == reduceArgmax && v > best) || (k.kind == reduceArgmin && v < best) {
					best, bi = v, j
				}
			}
			y.Data[o*inner+i] = float32(bi)
		}
	}
	return []*runtime.Tensor{y}, nil, nil
}

// reduceOp registers a reduction with Keras's (axis, keepdims) arguments.
func reduceOp(full, params, xName, axisName, keepName string, kind reduceKind) {
	registerOp(full, params, func(a *opArgs) (opKernel, error) {
		x, err := a.operand(xName)
		if err != nil {
			return nil, err
		}
		axes, _, err := a.ints(axisName)
		if err != nil {
			return nil, err
		}
		keep, err := a.boolean(keepName, false)
		if err != nil {
			return nil, err
		}
		return &reduceKernel{x: x, kind: kind, axes: axes, keepdims: keep}, nil
	})
}

func init() {
	for name, kind := range map[string]reduceKind{
		"Sum": reduceSum, "Mean": reduceMean, "Max": reduceMax, "Amax": reduceMax, "Min": reduceMin,
		"Amin": reduceMin, "Prod": reduceProd, "Var": reduceVar, "Std": reduceStd, "Any": reduceAny,
		"All": reduceAll, "Argmax": reduceArgmax, "Argmin": reduceArgmin,
	} {
		reduceOp(npOps+name, "x", "x", "axis", "keepdims", kind)
	}
	registerOp(npOps+"CountNonzero", "x", func(a *opArgs) (opKernel, error) {
		x, err := a.operand("x")
		if err != nil {
			return nil, err
		}
		axes, _, err := a.ints("axis")
		return &reduceKernel{x: x, kind: reduceCountNonzero, axes: axes}, err
	})
	reduceOp("keras.src.ops.math.Logsumexp", "x", "x", "axis", "keepdims", reduceLogSumExp)
	for name, kind := range map[string]reduceKind{
		"reduce_sum": reduceSum, "reduce_mean": reduceMean, "reduce_max": reduceMax, "reduce_min": reduceMin,
		"reduce_prod": reduceProd, "reduce_variance": reduceVar, "reduce_std": reduceStd,
		"reduce_any": reduceAny, "reduce_all": reduceAll, "reduce_logsumexp": reduceLogSumExp,
	} {
		for _, pre := range []string{"tf.", "tf.math."} {
			reduceOp(pre+name, "input_tensor,axis,keepdims", "input_tensor", "axis", "keepdims", kind)
		}
	}
	for name, kind := range map[string]reduceKind{"argmax": reduceArgmax, "argmin": reduceArgmin} {
		for _, pre := range []string{"tf.", "tf.math."} {
			registerOp(pre+name, "input,axis", func(a *opArgs) (opKernel, error) {
				x, err := a.operand("input")
				if err != nil {
					return nil, err
				}
				if t, _ := a.str("output_type", "int64"); t == "" {
					return nil, fmt.Errorf("bad output_type")
				}
				axes, ok, err := a.ints("axis")
				if !ok {
					axes = []int{0} // tf's default
				}
				return &reduceKernel{x: x, kind: kind, axes: axes}, err
			})
		}
	}
}
