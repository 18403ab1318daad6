package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/runtime"
)

// Matrix products (keras.ops.numpy.Matmul, tf.linalg.matmul) with NumPy's
// broadcasting of the batch axes, and rounding.

func sqrt(x float64) float64 { return math.Sqrt(x) }

func roundHalfEven(x float64) float64 { return math.RoundToEven(x) }

// matmulKernel multiplies the last two axes (a vector operand is promoted
// as NumPy does), transposing them first when asked.
type matmulKernel struct {
	a, b   operand
	ta, tb bool
}

// dims returns the batch shape and m, k, n of the product, and whether
// each operand was a vector.
func (k *matmulKernel) dims(sa, sb []int) (batch []int, m, kk, n int, va, vb bool, err error) {
	if len(sa) == 0 || len(sb) == 0 {
		return nil, 0, 0, 0, false, false, fmt.Errorf("matmul of a scalar")
	}
	if len(sa) == 1 {
		sa, va = []int{1, sa[0]}, true
	}
	if len(sb) == 1 {
		sb, vb = []int{sb[0], 1}, true
	}
	ra, rb := len(sa), len(sb)
	m, kk = sa[ra-2], sa[ra-1]
	if k.ta {
		m, kk = kk, m
	}
	k2, n := sb[rb-2], sb[rb-1]
	if k.tb {
		k2, n = n, k2
	}
	if kk >= 0 && k2 >= 0 && kk != k2 {
		return nil, 0, 0, 0, false, false, fmt.Errorf("matmul of shapes %s and %s", runtime.FormatShape(sa), runtime.FormatShape(sb))
	}
	batch, err = opBroadcastShapes(sa[:ra-2], sb[:rb-2])
	return batch, m, max(kk, k2), n, va, vb, err
}

func (k *matmulKernel) build(in [][]int) ([][]int, error) {
	batch, m, _, n, va, vb, err := k.dims(k.a.shape(in), k.b.shape(in))
	if err != nil {
		return nil, err
	}
	out := append([]int(nil), batch...)
	if !va {
		out = append(out, m)
	}
	if !vb {
		out = append(out, n)
	}
	return [][]int{out}, nil
}

func (k *matmulKernel) forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	A, B := k.a.value(in), k.b.value(in)
	batch, m, kk, n, va, vb, err := k.dims(A.Shape, B.Shape)
	if err != nil {
		return nil, nil, err
	}
	sa, sb := A.Shape, B.Shape
	if va {
		sa = []int{1, sa[0]}
	}
	if vb {
		sb = []int{sb[0], 1}
	}
	ba, bb := sa[:len(sa)-2], sb[:len(sb)-2]
	// Element (i, j) of matrix p of each operand.
	ra, ca := sa[len(sa)-2], sa[len(sa)-1]
	rb, cb := sb[len(sb)-2], sb[len(sb)-1]
	at := func(p, i, j int) int {
		if k.ta {
			i, j = j, i
		}
		return p*ra*ca + i*ca + j
	}
	bt := func(p, i, j int) int {
		if k.tb {
			i, j = j, i
		}
		return p*rb*cb + i*cb + j
	}
	nb := runtime.ShapeSize(batch)
	pa, pb := make([]int, nb), make([]int, nb)
	forEachBroadcast(batch, [][]int{ba, bb}, func(o int, idx []int) { pa[o], pb[o] = idx[0], idx[1] })
	y := runtime.NewTensor(nb * m * n)
	for p := 0; p < nb; p++ {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float32
				for q := 0; q < kk; q++ {
					s += A.Data[at(pa[p], i, q)] * B.Data[bt(pb[p], q, j)]
				}
				y.Data[(p*m+i)*n+j] = s
			}
		}
	}
	y.Shape = append([]int(nil), batch...)
	if !va {
		y.Shape = append(y.Shape, m)
	}
	if !vb {
		y.Shape = append(y.Shape, n)
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g := gout[0].Data
		gin := make([]*runtime.Tensor, len(in))
		var gA, gB *runtime.Tensor
		if k.a.in >= 0 {
			gA = runtime.NewTensor(A.Shape...)
		}
		if k.b.in >= 0 {
			gB = runtime.NewTensor(B.Shape...)
		}
		for p := 0; p < nb; p++ {
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					gv := g[(p*m+i)*n+j]
					for q := 0; q < kk; q++ {
						if gA != nil {
							gA.Data[at(pa[p], i, q)] += gv * B.Data[bt(pb[p], q, j)]
						}
						if gB != nil {
							gB.Data[bt(pb[p], q, j)] += gv * A.Data[at(pa[p], i, q)]
						}
					}
				}
			}
		}
		for _, c := range []struct {
			o operand
			g *runtime.Tensor
		}{{k.a, gA}, {k.b, gB}} {
			if c.g == nil {
				continue
			}
			if gin[c.o.in] == nil {
				gin[c.o.in] = c.g
			} else {
				for i, v := range c.g.Data {
					gin[c.o.in].Data[i] += v
				}
			}
		}
		return gin, nil
	}, nil
}

// matrixTransposeKernel swaps the last two axes.
func matrixTransposeKernel(x operand) opKernel {
	return swapKernel(x, -1, -2)
}

func init() {
	registerOp(npOps+"Matmul", "x1,x2", func(a *opArgs) (opKernel, error) {
		x, err := a.operand("x1")
		if err != nil {
			return nil, err
		}
		y, err := a.operand("x2")
		return &matmulKernel{a: x, b: y}, err
	})
	registerOp("tf.linalg.matmul", "a,b,transpose_a,transpose_b", func(a *opArgs) (opKernel, error) {
		x, err := a.operand("a")
		if err != nil {
			return nil, err
		}
		y, err := a.operand("b")
		if err != nil {
			return nil, err
		}
		ta, err := a.boolean("transpose_a", false)
		if err != nil {
			return nil, err
		}
		tb, err := a.boolean("transpose_b", false)
		if err != nil {
			return nil, err
		}
		for _, k := range []string{"adjoint_a", "adjoint_b", "a_is_sparse", "b_is_sparse"} {
			if v, _ := a.boolean(k, false); v {
				return nil, fmt.Errorf("%s=true is not supported", k)
			}
		}
		a.value("output_type")
		return &matmulKernel{a: x, b: y, ta: ta, tb: tb}, nil
	})
	xOp(npOps+"Round", "x", func(a *opArgs, x operand) (opKernel, error) {
		d, err := a.int("decimals", 0)
		s := math.Pow(10, float64(d))
		return unaryKernel(x, func(v float64) float64 { return math.RoundToEven(v*s) / s }, func(_, _ float64) float64 { return 0 }), err
	})
	unaryOp(mathOps+"Rsqrt", func(x float64) float64 { return 1 / math.Sqrt(x) }, func(_, y float64) float64 { return -0.5 * y * y * y })
	unaryOp(mathOps+"Erf", math.Erf, func(x, _ float64) float64 { return 2 / math.SqrtPi * math.Exp(-x*x) })
	unaryOp(mathOps+"Erfc", math.Erfc, func(x, _ float64) float64 { return -2 / math.SqrtPi * math.Exp(-x*x) })
	unaryOp(mathOps+"Erfinv", math.Erfinv, func(_, y float64) float64 { return math.SqrtPi / 2 * math.Exp(y*y) })
}
