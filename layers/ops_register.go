package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/runtime"
)

// The registrations of the shape, core and nn operations.

const (
	nnOps   = "keras.src.ops.nn."
	coreOps = "keras.src.ops.core."
	mathOps = "keras.src.ops.math."
)

// xOp registers an op of one tensor parameter whose kernel needs more
// arguments, read by mk.
func xOp(full, params string, mk func(a *opArgs, x operand) (opKernel, error)) {
	first := params
	for i, c := range params {
		if c == ',' {
			first = params[:i]
			break
		}
	}
	registerOp(full, params, func(a *opArgs) (opKernel, error) {
		x, err := a.operand(first)
		if err != nil {
			return nil, err
		}
		return mk(a, x)
	})
}

// castKernel converts to dtype: truncation toward zero for integers, x != 0
// for bool, with no gradient for those.
func castKernel(x operand, dtype string) (opKernel, error) {
	switch dtype {
	case "float16", "bfloat16", "float32", "float64":
		return unaryKernel(x, func(v float64) float64 { return v }, func(_, _ float64) float64 { return 1 }), nil
	case "bool":
		return unaryKernel(x, func(v float64) float64 { return bool64(v != 0) }, nil), nil
	case "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64":
		return unaryKernel(x, math.Trunc, nil), nil
	}
	return nil, fmt.Errorf("cast to %q is not supported", dtype)
}

func whereKernel(c, x1, x2 operand) opKernel {
	return &elementwiseKernel{
		args: []operand{c, x1, x2},
		f: func(v []float64) float64 {
			if v[0] != 0 {
				return v[1]
			}
			return v[2]
		},
		grads: []func([]float64, float64) float64{nil,
			func(v []float64, _ float64) float64 { return bool64(v[0] != 0) },
			func(v []float64, _ float64) float64 { return bool64(v[0] == 0) }},
	}
}

func clipKernel(x, lo, hi operand) opKernel {
	return &elementwiseKernel{
		args: []operand{x, lo, hi},
		f:    func(v []float64) float64 { return math.Min(math.Max(v[0], v[1]), v[2]) },
		grads: []func([]float64, float64) float64{
			func(v []float64, _ float64) float64 { return bool64(v[0] >= v[1] && v[0] <= v[2]) }},
	}
}

// activationKernel applies a registered activation (elementwise ones).
func activationKernel(x operand, act *activation) opKernel {
	return &activationOp{x: x, act: act}
}

type activationOp struct {
	x      operand
	act    *activation
	halves bool // glu: the last axis halves
}

func (k *activationOp) build(in [][]int) ([][]int, error) {
	s := append([]int(nil), k.x.shape(in)...)
	if k.halves && len(s) > 0 {
		if err := k.act.checkAxis(s[len(s)-1]); err != nil {
			return nil, err
		}
		if s[len(s)-1] > 0 {
			s[len(s)-1] /= 2
		}
	}
	return [][]int{s}, nil
}

func (k *activationOp) forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := k.x.value(in)
	out, back, err := activate(ctx, k.act, x)
	if err != nil || back == nil {
		return out, nil, err
	}
	return out, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g, err := back(gout)
		if err != nil {
			return nil, err
		}
		gin := make([]*runtime.Tensor, len(in))
		if k.x.in >= 0 {
			gin[k.x.in] = g[0]
		}
		return gin, nil
	}, nil
}

// softmaxKernel is softmax (or log_softmax) over one axis.
type softmaxKernel struct {
	x    operand
	axis int
	log  bool
}

func (k *softmaxKernel) build(in [][]int) ([][]int, error) {
	s := k.x.shape(in)
	if _, err := normAxis(k.axis, len(s)); err != nil {
		return nil, err
	}
	return [][]int{append([]int(nil), s...)}, nil
}

func (k *softmaxKernel) forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := k.x.value(in)
	ax, err := normAxis(k.axis, x.Rank())
	if err != nil {
		return nil, nil, err
	}
	outer, inner := 1, 1
	for i := 0; i < ax; i++ {
		outer *= x.Shape[i]
	}
	for i := ax + 1; i < x.Rank(); i++ {
		inner *= x.Shape[i]
	}
	n := x.Shape[ax]
	y := runtime.NewTensor(x.Shape...)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			at := func(j int) int { return (o*n+j)*inner + i }
			m := math.Inf(-1)
			for j := 0; j < n; j++ {
				m = math.Max(m, float64(x.Data[at(j)]))
			}
			var s float64
			for j := 0; j < n; j++ {
				s += math.Exp(float64(x.Data[at(j)]) - m)
			}
			for j := 0; j < n; j++ {
				v := float64(x.Data[at(j)]) - m
				if k.log {
					y.Data[at(j)] = float32(v - math.Log(s))
				} else {
					y.Data[at(j)] = float32(math.Exp(v) / s)
				}
			}
		}
	}
	if !ctx.Grad || k.x.in < 0 {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g := gout[0]
		gx := runtime.NewTensor(x.Shape...)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				at := func(j int) int { return (o*n+j)*inner + i }
				var dot float64
				for j := 0; j < n; j++ {
					if k.log {
						dot += float64(g.Data[at(j)])
					} else {
						dot += float64(g.Data[at(j)]) * float64(y.Data[at(j)])
					}
				}
				for j := 0; j < n; j++ {
					yj := float64(y.Data[at(j)])
					if k.log {
						gx.Data[at(j)] = float32(float64(g.Data[at(j)]) - math.Exp(yj)*dot)
					} else {
						gx.Data[at(j)] = float32(yj * (float64(g.Data[at(j)]) - dot))
					}
				}
			}
		}
		gin := make([]*runtime.Tensor, len(in))
		gin[k.x.in] = gx
		return gin, nil
	}, nil
}

// nnActivations maps Keras nn op classes to activation names and the
// constructor arguments whose Keras default the activation implements.
var nnActivations = map[string]struct {
	name     string
	defaults map[string]any
}{
	"Relu": {"relu", nil}, "Relu6": {"relu6", nil}, "Sigmoid": {"sigmoid", nil},
	"SparseSigmoid": {"sparse_sigmoid", nil}, "Softplus": {"softplus", nil}, "Softsign": {"softsign", nil},
	"SoftShrink": {"soft_shrink", map[string]any{"threshold": 0.5}}, "SparsePlus": {"sparse_plus", nil},
	"Silu": {"silu", nil}, "Squareplus": {"squareplus", map[string]any{"b": 4.0}},
	"LogSigmoid": {"log_sigmoid", nil}, "LeakyRelu": {"leaky_relu", map[string]any{"negative_slope": 0.2}},
	"HardSigmoid": {"hard_sigmoid", nil}, "HardSilu": {"hard_silu", nil},
	"Elu": {"elu", map[string]any{"alpha": 1.0}}, "Selu": {"selu", nil},
	"Celu": {"celu", map[string]any{"alpha": 1.0}}, "TanhShrink": {"tanh_shrink", nil},
	"HardTanh": {"hard_tanh", nil}, "HardShrink": {"hard_shrink", map[string]any{"threshold": 0.5}},
}

func init() {
	for class, na := range nnActivations {
		act := activations[na.name]
		if act == nil {
			panic("layers: no activation " + na.name)
		}
		xOp(nnOps+class, "x", func(a *opArgs, x operand) (opKernel, error) {
			for k, def := range na.defaults {
				v, err := a.float(k, def.(float64))
				if err != nil {
					return nil, err
				}
				if v != def.(float64) {
					return nil, fmt.Errorf("%s=%v is not supported (only Keras's default %v)", k, v, def)
				}
			}
			return activationKernel(x, act), nil
		})
	}
	xOp(nnOps+"Gelu", "x", func(a *opArgs, x operand) (opKernel, error) {
		approx, err := a.boolean("approximate", true)
		if err != nil {
			return nil, err
		}
		if approx {
			return unaryKernel(x, geluTanh, geluTanhGrad), nil
		}
		return unaryKernel(x, geluExact, geluExactGrad), nil
	})
	for _, c := range []struct {
		class string
		log   bool
	}{{"Softmax", false}, {"LogSoftmax", true}} {
		xOp(nnOps+c.class, "x", func(a *opArgs, x operand) (opKernel, error) {
			axis, err := a.int("axis", -1)
			return &softmaxKernel{x: x, axis: axis, log: c.log}, err
		})
	}
	xOp(coreOps+"Cast", "x", func(a *opArgs, x operand) (opKernel, error) {
		dt, err := a.str("dtype", "")
		if err != nil {
			return nil, err
		}
		return castKernel(x, dt)
	})
	xOp(coreOps+"ConvertToTensor", "x", func(a *opArgs, x operand) (opKernel, error) {
		dt, err := a.str("dtype", "float32")
		if err != nil {
			return nil, err
		}
		return castKernel(x, dt)
	})
	xOp(coreOps+"StopGradient", "variable", func(_ *opArgs, x operand) (opKernel, error) {
		return unaryKernel(x, func(v float64) float64 { return v }, nil), nil
	})
	registerOp(npOps+"Where", "condition,x1,x2", func(a *opArgs) (opKernel, error) {
		c, err := a.operand("condition")
		if err != nil {
			return nil, err
		}
		x1, err := a.operand("x1")
		if err != nil {
			return nil, err
		}
		x2, err := a.operand("x2")
		if err != nil {
			return nil, err
		}
		return whereKernel(c, x1, x2), nil
	})
	xOp(npOps+"Clip", "x", func(a *opArgs, x operand) (opKernel, error) {
		lo, err := a.operand("x_min")
		if err != nil {
			return nil, err
		}
		hi, err := a.operand("x_max")
		if err != nil {
			return nil, err
		}
		return clipKernel(x, lo, hi), nil
	})
	xOp(npOps+"Reshape", "x", func(a *opArgs, x operand) (opKernel, error) {
		s, ok, err := a.ints("newshape")
		if err == nil && !ok {
			err = fmt.Errorf("missing newshape")
		}
		return reshapeTo(x, s), err
	})
	xOp(npOps+"Ravel", "x", func(_ *opArgs, x operand) (opKernel, error) { return reshapeTo(x, []int{-1}), nil })
	xOp(npOps+"Transpose", "x", func(a *opArgs, x operand) (opKernel, error) {
		axes, _, err := a.ints("axes")
		return permuteKernel(x, axes), err
	})
	xOp(npOps+"ExpandDims", "x", func(a *opArgs, x operand) (opKernel, error) {
		axes, _, err := a.ints("axis")
		return expandDimsKernel(x, axes), err
	})
	xOp(npOps+"Squeeze", "x", func(a *opArgs, x operand) (opKernel, error) {
		axes, _, err := a.ints("axis")
		return squeezeKernel(x, axes), err
	})
	for _, c := range []struct {
		class string
		stack bool
	}{{"Concatenate", false}, {"Stack", true}} {
		param := "xs"
		if c.stack {
			param = "x"
		}
		registerOp(npOps+c.class, param, func(a *opArgs) (opKernel, error) {
			xs, err := a.operands(param)
			if err != nil {
				return nil, err
			}
			axis, err := a.int("axis", map[bool]int{false: 0, true: 0}[c.stack])
			return concatKernel(xs, axis, c.stack), err
		})
	}
	xOp(npOps+"Tile", "x", func(a *opArgs, x operand) (opKernel, error) {
		reps, _, err := a.ints("repeats")
		return tileKernel(x, reps), err
	})
	xOp(npOps+"Flip", "x", func(a *opArgs, x operand) (opKernel, error) {
		axes, _, err := a.ints("axis")
		return flipKernel(x, axes), err
	})
	xOp(npOps+"BroadcastTo", "x", func(a *opArgs, x operand) (opKernel, error) {
		s, _, err := a.ints("shape")
		return broadcastToKernel(x, s), err
	})
	xOp(npOps+"Repeat", "x", func(a *opArgs, x operand) (opKernel, error) {
		r, err := a.int("repeats", 1)
		if err != nil {
			return nil, err
		}
		axes, ok, err := a.ints("axis")
		if !ok {
			return repeatKernel(x, r, nil), err
		}
		return repeatKernel(x, r, &axes[0]), err
	})
	xOp(npOps+"Roll", "x", func(a *opArgs, x operand) (opKernel, error) {
		sh, _, err := a.ints("shift")
		if err != nil {
			return nil, err
		}
		axes, _, err := a.ints("axis")
		return rollKernel(x, sh, axes), err
	})
	xOp(npOps+"Swapaxes", "x", func(a *opArgs, x operand) (opKernel, error) {
		a1, err := a.int("axis1", 0)
		if err != nil {
			return nil, err
		}
		a2, err := a.int("axis2", 0)
		return swapKernel(x, a1, a2), err
	})
}

// swapKernel exchanges two axes.
func swapKernel(x operand, a1, a2 int) opKernel {
	return &gatherKernel{
		args: []operand{x},
		shape: func(sh [][]int) ([]int, error) {
			return permuteKernel(x, swapPerm(len(sh[0]), a1, a2)).shape(sh)
		},
		plan: func(sh [][]int) ([]int, []int, []int, error) {
			return permuteKernel(x, swapPerm(len(sh[0]), a1, a2)).plan(sh)
		},
	}
}

func swapPerm(r, a1, a2 int) []int {
	p := make([]int, r)
	for i := range p {
		p[i] = i
	}
	if a1 < 0 {
		a1 += r
	}
	if a2 < 0 {
		a2 += r
	}
	if a1 >= 0 && a1 < r && a2 >= 0 && a2 < r {
		p[a1], p[a2] = p[a2], p[a1]
	}
	return p
}

func geluTanh(x float64) float64 {
	c := math.Sqrt(2 / math.Pi)
	return 0.5 * x * (1 + math.Tanh(c*(x+0.044715*x*x*x)))
}

func geluTanhGrad(x, _ float64) float64 {
	c := math.Sqrt(2 / math.Pi)
	u := c * (x + 0.044715*x*x*x)
	t := math.Tanh(u)
	return 0.5*(1+t) + 0.5*x*(1-t*t)*c*(1+3*0.044715*x*x)
}
