package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/runtime"
)

// More operations: image resizing, cumulative sums, padding, gathers by
// index tensors, one-hot encodings and *_like constructors.

// funcKernel is an op given by its shape function and a forward function
// that returns its own backward (nil: no gradient).
type funcKernel struct {
	args  []operand
	shape func(shapes [][]int) ([]int, error)
	run   func(ctx *runtime.Context, vals []*runtime.Tensor) (*runtime.Tensor, func(g *runtime.Tensor) []*runtime.Tensor, error)
}

func (k *funcKernel) build(in [][]int) ([][]int, error) {
	shapes := make([][]int, len(k.args))
	for i, a := range k.args {
		shapes[i] = a.shape(in)
	}
	out, err := k.shape(shapes)
	return [][]int{out}, err
}

func (k *funcKernel) forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	vals := make([]*runtime.Tensor, len(k.args))
	for i, a := range k.args {
		vals[i] = a.value(in)
	}
	y, back, err := k.run(ctx, vals)
	if err != nil || !ctx.Grad || back == nil {
		return []*runtime.Tensor{y}, nil, err
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gin := make([]*runtime.Tensor, len(in))
		if gout[0] == nil {
			return gin, nil
		}
		for i, g := range back(gout[0]) {
			a := k.args[i]
			if g == nil || a.in < 0 {
				continue
			}
			if gin[a.in] == nil {
				gin[a.in] = g
			} else {
				for j, v := range g.Data {
					gin[a.in].Data[j] += v
				}
			}
		}
		return gin, nil
	}, nil
}

func sameShapeOf(shapes [][]int) ([]int, error) { return append([]int(nil), shapes[0]...), nil }

// axisSplit returns the sizes before, along and after axis.
func axisSplit(s []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for i := 0; i < axis; i++ {
		outer *= s[i]
	}
	for i := axis + 1; i < len(s); i++ {
		inner *= s[i]
	}
	return outer, s[axis], inner
}

// cumKernel is a cumulative sum or product along axis (flattened for nil).
func cumKernel(x operand, axis *int, prod bool) opKernel {
	shape := func(sh [][]int) ([]int, error) {
		if axis == nil {
			return []int{runtime.ShapeSize(sh[0])}, nil
		}
		_, err := normAxis(*axis, len(sh[0]))
		return append([]int(nil), sh[0]...), err
	}
	return &funcKernel{args: []operand{x}, shape: shape,
		run: func(ctx *runtime.Context, v []*runtime.Tensor) (*runtime.Tensor, func(*runtime.Tensor) []*runtime.Tensor, error) {
			xv := v[0]
			s := xv.Shape
			ax := 0
			if axis == nil {
				s = []int{len(xv.Data)}
			} else {
				ax, _ = normAxis(*axis, len(s))
			}
			outer, n, inner := axisSplit(s, ax)
			y := &runtime.Tensor{Shape: append([]int(nil), s...), Data: make([]float32, len(xv.Data))}
			for o := 0; o < outer; o++ {
				for i := 0; i < inner; i++ {
					acc := float32(0)
					if prod {
						acc = 1
					}
					for j := 0; j < n; j++ {
						at := (o*n+j)*inner + i
						if prod {
							acc *= xv.Data[at]
						} else {
							acc += xv.Data[at]
						}
						y.Data[at] = acc
					}
				}
			}
			return y, func(g *runtime.Tensor) []*runtime.Tensor {
				gx := runtime.NewTensor(xv.Shape...)
				for o := 0; o < outer; o++ {
					for i := 0; i < inner; i++ {
						for j := 0; j < n; j++ {
							var sum float32
							for q := j; q < n; q++ {
								at := (o*n+q)*inner + i
								if prod {
									// d y_q / d x_j = prod of x_0..x_q without x_j.
									p := float32(1)
									for r := 0; r <= q; r++ {
										if r != j {
											p *= xv.Data[(o*n+r)*inner+i]
										}
									}
									sum += g.Data[at] * p
								} else {
									sum += g.Data[at]
								}
							}
							gx.Data[(o*n+j)*inner+i] = sum
						}
					}
				}
				return []*runtime.Tensor{gx}
			}, nil
		}}
}

// padKernel pads with a constant (NumPy's mode "constant").
func padKernel(x, c operand, widths [][2]int) opKernel {
	shape := func(sh [][]int) ([]int, error) {
		s := sh[0]
		if len(widths) == 1 {
			w := widths[0]
			widths = make([][2]int, len(s))
			for i := range widths {
				widths[i] = w
			}
		}
		if len(widths) != len(s) {
			return nil, fmt.Errorf("pad_width %v does not match rank %d", widths, len(s))
		}
		out := make([]int, len(s))
		for i, d := range s {
			out[i] = -1
			if d >= 0 {
				out[i] = d + widths[i][0] + widths[i][1]
			}
		}
		return out, nil
	}
	return &gatherKernel{args: []operand{x, c},
		shape: func(sh [][]int) ([]int, error) { return shape(sh) },
		plan: func(sh [][]int) ([]int, []int, []int, error) {
			if runtime.ShapeSize(sh[1]) != 1 {
				return nil, nil, nil, fmt.Errorf("constant_values must be a scalar")
			}
			out, err := shape(sh)
			if err != nil {
				return nil, nil, nil, err
			}
			s := sh[0]
			n := runtime.ShapeSize(out)
			from, idx := make([]int, n), make([]int, n)
			pos := make([]int, len(out))
			for o := 0; o < n; o++ {
				in, off := true, 0
				for i, p := range pos {
					q := p - widths[i][0]
					if q < 0 || q >= s[i] {
						in = false
						break
					}
					off = off*s[i] + q
				}
				if in {
					idx[o] = off
				} else {
					from[o] = 1
				}
				for ax := len(out) - 1; ax >= 0; ax-- {
					pos[ax]++
					if pos[ax] < out[ax] {
						break
					}
					pos[ax] = 0
				}
			}
			return out, from, idx, nil
		}}
}

// takeKernel gathers along axis by an index tensor (NumPy's take; flat
// for nil); negative indices count from the end.
func takeKernel(x, indices operand, axis *int) opKernel {
	shape := func(sh [][]int) ([]int, error) {
		s, is := sh[0], sh[1]
		if axis == nil {
			return append([]int(nil), is...), nil
		}
		ax, err := normAxis(*axis, len(s))
		if err != nil {
			return nil, err
		}
		out := append(append(append([]int(nil), s[:ax]...), is...), s[ax+1:]...)
		return out, nil
	}
	return &funcKernel{args: []operand{x, indices}, shape: shape,
		run: func(ctx *runtime.Context, v []*runtime.Tensor) (*runtime.Tensor, func(*runtime.Tensor) []*runtime.Tensor, error) {
			xv, iv := v[0], v[1]
			s := xv.Shape
			ax := 0
			if axis == nil {
				s = []int{len(xv.Data)}
			} else {
				ax, _ = normAxis(*axis, len(s))
			}
			outer, n, inner := axisSplit(s, ax)
			out, _ := shape([][]int{xv.Shape, iv.Shape})
			y := runtime.NewTensor(out...)
			src := make([]int, 0, len(y.Data))
			for o := 0; o < outer; o++ {
				for _, f := range iv.Data {
					j := int(f)
					if j < 0 {
						j += n
					}
					if j < 0 || j >= n {
						return nil, nil, fmt.Errorf("index %d out of range for axis of size %d", int(f), n)
					}
					for i := 0; i < inner; i++ {
						src = append(src, (o*n+j)*inner+i)
					}
				}
			}
			for o, at := range src {
				y.Data[o] = xv.Data[at]
			}
			return y, func(g *runtime.Tensor) []*runtime.Tensor {
				gx := runtime.NewTensor(xv.Shape...)
				for o, at := range src {
					gx.Data[at] += g.Data[o]
				}
				return []*runtime.Tensor{gx, nil}
			}, nil
		}}
}

// oneHotKernel encodes integer classes along a new axis.
func oneHotKernel(x operand, classes, axis int, on, off float32) opKernel {
	shape := func(sh [][]int) ([]int, error) {
		s := sh[0]
		ax := axis
		if ax < 0 {
			ax += len(s) + 1
		}
		if ax < 0 || ax > len(s) {
			return nil, fmt.Errorf("axis %d out of range", axis)
		}
		return append(append(append([]int(nil), s[:ax]...), classes), s[ax:]...), nil
	}
	return &funcKernel{args: []operand{x}, shape: shape,
		run: func(ctx *runtime.Context, v []*runtime.Tensor) (*runtime.Tensor, func(*runtime.Tensor) []*runtime.Tensor, error) {
			out, err := shape([][]int{v[0].Shape})
			if err != nil {
				return nil, nil, err
			}
			ax := axis
			if ax < 0 {
				ax += v[0].Rank() + 1
			}
			outer, _, inner := axisSplit(out, ax)
			y := runtime.NewTensor(out...)
			for o := 0; o < outer; o++ {
				for i := 0; i < inner; i++ {
					c := int(v[0].Data[o*inner+i])
					for j := 0; j < classes; j++ {
						val := off
						if j == c {
							val = on
						}
						y.Data[(o*classes+j)*inner+i] = val
					}
				}
			}
			return y, nil, nil
		}}
}

// fullLikeKernel is a tensor of x's shape filled with a constant.
func fullLikeKernel(x operand, fill float32) opKernel {
	return &funcKernel{args: []operand{x}, shape: sameShapeOf,
		run: func(ctx *runtime.Context, v []*runtime.Tensor) (*runtime.Tensor, func(*runtime.Tensor) []*runtime.Tensor, error) {
			y := runtime.NewTensor(v[0].Shape...)
			for i := range y.Data {
				y.Data[i] = fill
			}
			return y, nil, nil
		}}
}

// resizeKernel is keras.ops.image.resize / tf.image.resize.
func resizeKernel(x operand, h, w int, interp string, channelsFirst, crop bool) opKernel {
	shape := func(sh [][]int) ([]int, error) {
		s := sh[0]
		if len(s) != 4 {
			return nil, fmt.Errorf("expects a rank 4 image batch, got %s", runtime.FormatShape(s))
		}
		out := append([]int(nil), s...)
		ha, wa := imageAxes(channelsFirst)
		out[ha], out[wa] = h, w
		return out, nil
	}
	return &funcKernel{args: []operand{x}, shape: shape,
		run: func(ctx *runtime.Context, v []*runtime.Tensor) (*runtime.Tensor, func(*runtime.Tensor) []*runtime.Tensor, error) {
			if _, err := shape([][]int{v[0].Shape}); err != nil {
				return nil, nil, err
			}
			out, back, err := resizeImages(ctx, v[0], channelsFirst, h, w, interp, crop, false)
			if err != nil || back == nil {
				return firstOrNil(out), nil, err
			}
			return out[0], func(g *runtime.Tensor) []*runtime.Tensor {
				gx, err := back([]*runtime.Tensor{g})
				if err != nil || len(gx) == 0 {
					return nil
				}
				return []*runtime.Tensor{gx[0]}
			}, nil
		}}
}

func firstOrNil(ts []*runtime.Tensor) *runtime.Tensor {
	if len(ts) == 0 {
		return nil
	}
	return ts[0]
}

func optAxis(a *opArgs, name string) (*int, error) {
	axes, ok, err := a.ints(name)
	if err != nil || !ok {
		return nil, err
	}
	if len(axes) != 1 {
		return nil, fmt.Errorf("argument %s: want one axis", name)
	}
	return &axes[0], nil
}

func init() {
	for class, prod := range map[string]bool{"Cumsum": false, "Cumprod": true} {
		xOp(npOps+class, "x", func(a *opArgs, x operand) (opKernel, error) {
			axis, err := optAxis(a, "axis")
			a.value("dtype")
			return cumKernel(x, axis, prod), err
		})
	}
	for fn, prod := range map[string]bool{"math.cumsum": false, "math.cumprod": true} {
		xOp("tf."+fn, "x,axis,exclusive,reverse", func(a *opArgs, x operand) (opKernel, error) {
			axis, err := a.int("axis", 0)
			for _, k := range []string{"exclusive", "reverse"} {
				if b, _ := a.boolean(k, false); b {
					return nil, fmt.Errorf("%s=true is not supported", k)
				}
			}
			return cumKernel(x, &axis, prod), err
		})
	}
	padOp := func(a *opArgs, x operand, widthName, valueName string) (opKernel, error) {
		if m, _ := a.str("mode", "constant"); m != "constant" && m != "CONSTANT" {
			return nil, fmt.Errorf("mode %q is not supported", m)
		}
		v, _ := a.value(widthName)
		var widths [][2]int
		flat, err := toInts(v)
		if err == nil && len(flat) <= 2 {
			if len(flat) == 1 {
				flat = append(flat, flat[0])
			}
			widths = [][2]int{{flat[0], flat[1]}}
		} else if l, ok := v.([]any); ok {
			for _, e := range l {
				p, err := toInts(e)
				if err != nil || len(p) > 2 {
					return nil, fmt.Errorf("bad pad width %v", e)
				}
				if len(p) == 1 {
					p = append(p, p[0])
				}
				widths = append(widths, [2]int{p[0], p[1]})
			}
		} else {
			return nil, fmt.Errorf("bad pad width %v", v)
		}
		cv, ok := a.value(valueName)
		if !ok || cv == nil {
			cv = 0.0
		}
		c, err := toOperand(cv)
		if err != nil {
			return nil, err
		}
		return padKernel(x, c, widths), nil
	}
	xOp(npOps+"Pad", "x,constant_values", func(a *opArgs, x operand) (opKernel, error) {
		return padOp(a, x, "pad_width", "constant_values")
	})
	xOp("tf.pad", "tensor,paddings,mode,constant_values", func(a *opArgs, x operand) (opKernel, error) {
		return padOp(a, x, "paddings", "constant_values")
	})
	xOp("tf.compat.v1.pad", "tensor,paddings,mode,name,constant_values", func(a *opArgs, x operand) (opKernel, error) {
		return padOp(a, x, "paddings", "constant_values")
	})
	registerOp(npOps+"Take", "x,indices", func(a *opArgs) (opKernel, error) {
		x, err := a.operand("x")
		if err != nil {
			return nil, err
		}
		idx, err := a.operand("indices")
		if err != nil {
			return nil, err
		}
		axis, err := optAxis(a, "axis")
		return takeKernel(x, idx, axis), err
	})
	for _, fn := range []string{"gather", "compat.v1.gather"} {
		registerOp("tf."+fn, "params,indices", func(a *opArgs) (opKernel, error) {
			x, err := a.operand("params")
			if err != nil {
				return nil, err
			}
			idx, err := a.operand("indices")
			if err != nil {
				return nil, err
			}
			if bd, _ := a.int("batch_dims", 0); bd != 0 {
				return nil, fmt.Errorf("batch_dims=%d is not supported", bd)
			}
			axis, err := a.int("axis", 0)
			a.value("validate_indices")
			return takeKernel(x, idx, &axis), err
		})
	}
	xOp(nnOps+"OneHot", "x", func(a *opArgs, x operand) (opKernel, error) {
		n, err := a.int("num_classes", 0)
		if err != nil {
			return nil, err
		}
		axis, err := a.int("axis", -1)
		a.value("dtype")
		if s, _ := a.boolean("sparse", false); s {
			return nil, fmt.Errorf("sparse=true is not supported")
		}
		return oneHotKernel(x, n, axis, 1, 0), err
	})
	xOp("tf.one_hot", "indices,depth,on_value,off_value,axis", func(a *opArgs, x operand) (opKernel, error) {
		n, err := a.int("depth", 0)
		if err != nil {
			return nil, err
		}
		on, _ := a.float("on_value", 1)
		off, _ := a.float("off_value", 0)
		axis, err := a.int("axis", -1)
		a.value("dtype")
		return oneHotKernel(x, n, axis, float32(on), float32(off)), err
	})
	for class, fill := range map[string]float32{"ZerosLike": 0, "OnesLike": 1} {
		xOp(npOps+class, "x", func(a *opArgs, x operand) (opKernel, error) {
			a.value("dtype")
			return fullLikeKernel(x, fill), nil
		})
	}
	for fn, fill := range map[string]float32{"zeros_like": 0, "ones_like": 1} {
		xOp("tf."+fn, "input", func(a *opArgs, x operand) (opKernel, error) {
			a.value("dtype")
			return fullLikeKernel(x, fill), nil
		})
	}
	xOp(npOps+"FullLike", "x,fill_value", func(a *opArgs, x operand) (opKernel, error) {
		f, err := a.float("fill_value", 0)
		a.value("dtype")
		return fullLikeKernel(x, float32(f)), err
	})
	xOp("keras.src.ops.image.Resize", "images", func(a *opArgs, x operand) (opKernel, error) {
		size, _, err := a.ints("size")
		if err != nil || len(size) != 2 {
			return nil, fmt.Errorf("size: want (height, width), got %v", size)
		}
		interp, _ := a.str("interpolation", "bilinear")
		if interp != "bilinear" && interp != "nearest" {
			return nil, fmt.Errorf("interpolation %q is not supported", interp)
		}
		for _, k := range []string{"antialias", "pad_to_aspect_ratio"} {
			if b, _ := a.boolean(k, false); b {
				return nil, fmt.Errorf("%s=true is not supported", k)
			}
		}
		crop, _ := a.boolean("crop_to_aspect_ratio", false)
		df, _ := a.str("data_format", "channels_last")
		a.value("fill_mode")
		a.value("fill_value")
		return resizeKernel(x, size[0], size[1], interp, df == "channels_first", crop), nil
	})
	xOp("tf.image.resize", "images,size,method,preserve_aspect_ratio,antialias", func(a *opArgs, x operand) (opKernel, error) {
		size, _, err := a.ints("size")
		if err != nil || len(size) != 2 {
			return nil, fmt.Errorf("size: want (height, width), got %v", size)
		}
		m, _ := a.str("method", "bilinear")
		if m != "bilinear" && m != "nearest" {
			return nil, fmt.Errorf("method %q is not supported", m)
		}
		for _, k := range []string{"antialias", "preserve_aspect_ratio"} {
			if b, _ := a.boolean(k, false); b {
				return nil, fmt.Errorf("%s=true is not supported", k)
			}
		}
		return resizeKernel(x, size[0], size[1], m, false, false), nil
	})
	xOp(npOps+"Moveaxis", "x", func(a *opArgs, x operand) (opKernel, error) {
		src, _, err := a.ints("source")
		if err != nil {
			return nil, err
		}
		dst, _, err := a.ints("destination")
		if err != nil || len(src) != len(dst) {
			return nil, fmt.Errorf("source and destination differ in length")
		}
		return moveaxisKernel(x, src, dst), nil
	})
	for class, lower := range map[string]bool{"Tril": true, "Triu": false} {
		xOp(npOps+class, "x", func(a *opArgs, x operand) (opKernel, error) {
			k, err := a.int("k", 0)
			return triKernel(x, k, lower), err
		})
	}
}

// moveaxisKernel moves axes src to positions dst.
func moveaxisKernel(x operand, src, dst []int) opKernel {
	perm := func(r int) []int {
		s, d := make([]int, len(src)), make([]int, len(dst))
		for i := range src {
			s[i], _ = normAxis(src[i], r)
			d[i], _ = normAxis(dst[i], r)
		}
		moved := map[int]bool{}
		for _, v := range s {
			moved[v] = true
		}
		var rest []int
		for i := 0; i < r; i++ {
			if !moved[i] {
				rest = append(rest, i)
			}
		}
		p := make([]int, r)
		for i := range p {
			p[i] = -1
		}
		for i := range s {
			p[d[i]] = s[i]
		}
		j := 0
		for i := range p {
			if p[i] < 0 {
				p[i] = rest[j]
				j++
			}
		}
		return p
	}
	return &gatherKernel{args: []operand{x},
		shape: func(sh [][]int) ([]int, error) { return permuteKernel(x, perm(len(sh[0]))).shape(sh) },
		plan: func(sh [][]int) ([]int, []int, []int, error) {
			return permuteKernel(x, perm(len(sh[0]))).plan(sh)
		}}
}

// triKernel keeps the lower (or upper) triangle of the last two axes.
func triKernel(x operand, k int, lower bool) opKernel {
	zero := operand{in: -1, c: &runtime.Tensor{Shape: []int{}, Data: []float32{0}}}
	return &gatherKernel{args: []operand{x, zero},
		shape: func(sh [][]int) ([]int, error) {
			if len(sh[0]) < 2 {
				return nil, fmt.Errorf("needs rank 2 or more")
			}
			return append([]int(nil), sh[0]...), nil
		},
		plan: func(sh [][]int) ([]int, []int, []int, error) {
			s := sh[0]
			if len(s) < 2 {
				return nil, nil, nil, fmt.Errorf("needs rank 2 or more")
			}
			r, c := s[len(s)-2], s[len(s)-1]
			n := runtime.ShapeSize(s)
			from, idx := make([]int, n), make([]int, n)
			for o := range idx {
				i, j := (o/c)%r, o%c
				keep := j-i <= k
				if !lower {
					keep = j-i >= k
				}
				if keep {
					idx[o] = o
				} else {
					from[o] = 1
				}
			}
			return append([]int(nil), s...), from, idx, nil
		}}
}

func init() {
	fmax := func(pick func(a, b float64) float64) func(a, b float64) float64 {
		return func(a, b float64) float64 {
			switch {
			case a != a:
				return b
			case b != b:
				return a
			}
			return pick(a, b)
		}
	}
	binaryOp(npOps+"Fmax", "x1,x2", binaryFunc{fmax(func(a, b float64) float64 { return max(a, b) }),
		func(a, b, _ float64) float64 { return bool64(a >= b || b != b) }, func(a, b, _ float64) float64 { return bool64(a < b || a != a) }})
	binaryOp(npOps+"Fmin", "x1,x2", binaryFunc{fmax(func(a, b float64) float64 { return min(a, b) }),
		func(a, b, _ float64) float64 { return bool64(a <= b || b != b) }, func(a, b, _ float64) float64 { return bool64(a > b || a != a) }})
	xOp(nnOps+"Threshold", "x", func(a *opArgs, x operand) (opKernel, error) {
		th, err := a.float("threshold", 0)
		if err != nil {
			return nil, err
		}
		def, err := a.float("default_value", 0)
		return unaryKernel(x, func(v float64) float64 {
			if v > th {
				return v
			}
			return def
		}, func(v, _ float64) float64 { return bool64(v > th) }), err
	})
	xOp(nnOps+"Glu", "x", func(a *opArgs, x operand) (opKernel, error) {
		if axis, err := a.int("axis", -1); err != nil || axis != -1 {
			return nil, fmt.Errorf("axis=%d is not supported (only the last axis)", axis)
		}
		return &activationOp{x: x, act: activations["glu"], halves: true}, nil
	})
	// NumPy's stacking helpers join along a fixed axis (hstack: the first
	// for 1-D tensors).
	for class, axis := range map[string]int{"Hstack": 1, "Dstack": 2} {
		registerOp(npOps+class, "xs", func(a *opArgs) (opKernel, error) {
			xs, err := a.operands("xs")
			if err != nil {
				return nil, err
			}
			return &stackHelperKernel{concatKernel(xs, axis, false), xs, axis}, nil
		})
	}
	registerOp(npOps+"Append", "x1,x2", func(a *opArgs) (opKernel, error) {
		x1, err := a.operand("x1")
		if err != nil {
			return nil, err
		}
		x2, err := a.operand("x2")
		if err != nil {
			return nil, err
		}
		axis, err := optAxis(a, "axis")
		if err != nil || axis == nil {
			return nil, fmt.Errorf("append without an axis (flattening) is not supported")
		}
		return concatKernel([]operand{x1, x2}, *axis, false), nil
	})
}

// stackHelperKernel is hstack/vstack/dstack: concatenate, except that
// hstack joins 1-D tensors along their only axis.
type stackHelperKernel struct {
	*gatherKernel
	xs   []operand
	axis int
}

func (k *stackHelperKernel) build(in [][]int) ([][]int, error) {
	if len(k.xs) > 0 && len(k.xs[0].shape(in)) <= k.axis {
		if k.axis != 1 {
			return nil, fmt.Errorf("needs rank %d or more", k.axis+1)
		}
		k.gatherKernel = concatKernel(k.xs, 0, false)
	}
	return k.gatherKernel.build(in)
}
