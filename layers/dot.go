package layers

import (
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Dot is keras.layers.Dot: the batchwise dot product of two inputs along
// axes (one integer for both, or one per input; negative counts from the
// end; never the batch axis). The output shape is the batch, then the
// first input's other axes, then the second's; a rank-1 result becomes
// (batch, 1). With normalize, each input is first L2-normalized along its
// axis as keras.ops.normalize does: x * min(rsqrt(sum(x²)), 1/epsilon).
type Dot struct {
	Base
	Axes      [2]int
	Normalize bool
}

// dotEpsilon is Keras's backend.epsilon(), the floor of the norm.
const dotEpsilon = 1e-7

func init() { Register("Dot", newDot, Supports{Inference: true, Training: true}) }

func newDot(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Dot{Base: b}
	if !spec.Config.Has("axes") {
		return nil, ShapeError(&l.Base, "config has no axes")
	}
	axes, err := spec.Config.Ints("axes", 2, nil)
	if err != nil {
		return nil, err
	}
	l.Axes = [2]int{axes[0], axes[1]}
	if l.Normalize, err = spec.Config.Bool("normalize", false); err != nil {
		return nil, err
	}
	return l, nil
}

// dotAxes normalizes the axes for the two shapes and returns the output
// shape.
func (l *Dot) dotAxes(in [][]int) (a0, a1 int, out []int, err error) {
	if len(in) != 2 {
		return 0, 0, nil, ShapeError(&l.Base, "should be called on exactly 2 inputs, got %s", shapesString(in))
	}
	s0, s1 := in[0], in[1]
	if len(s0) < 2 || len(s1) < 2 {
		return 0, 0, nil, ShapeError(&l.Base, "cannot do batch_dot on inputs of rank < 2: %s", shapesString(in))
	}
	var ok0, ok1 bool
	a0, ok0 = normalizeAxis(l.Axes[0], len(s0))
	a1, ok1 = normalizeAxis(l.Axes[1], len(s1))
	if !ok0 || !ok1 || a0 == 0 || a1 == 0 {
		return 0, 0, nil, ShapeError(&l.Base, "axes %v invalid for inputs %s (the batch axis cannot be used)", l.Axes, shapesString(in))
	}
	if s0[a0] >= 0 && s1[a1] >= 0 && s0[a0] != s1[a1] {
		return 0, 0, nil, ShapeError(&l.Base, "incompatible input shapes: axis values %d (at axis %d) != %d (at axis %d), shapes %s", s0[a0], a0, s1[a1], a1, shapesString(in))
	}
	if s0[0] >= 0 && s1[0] >= 0 && s0[0] != s1[0] {
		return 0, 0, nil, ShapeError(&l.Base, "inputs have different batch sizes: %s", shapesString(in))
	}
	out = []int{s0[0]}
	for i, d := range s0[1:] {
		if i+1 != a0 {
			out = append(out, d)
		}
	}
	for i, d := range s1[1:] {
		if i+1 != a1 {
			out = append(out, d)
		}
	}
	if len(out) == 1 {
		out = append(out, 1)
	}
	return a0, a1, out, nil
}

// Build returns the dot product's shape.
func (l *Dot) Build(in [][]int) ([][]int, error) {
	_, _, out, err := l.dotAxes(in)
	if err != nil {
		return nil, err
	}
	return [][]int{out}, nil
}

// Weights returns none.
func (l *Dot) Weights() []*runtime.Variable { return nil }

// Forward moves the first input's axis last and the second's first (after
// the batch), then multiplies the per-sample matrices.
func (l *Dot) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x0, x1 := in[0], in[1]
	a0, a1, outShape, err := l.dotAxes([][]int{x0.Shape, x1.Shape})
	if err != nil {
		return nil, nil, err
	}
	batch, n := x0.Shape[0], x0.Shape[a0]
	perm0 := axisToEnd(len(x0.Shape), a0)
	perm1 := axisToFront(len(x1.Shape), a1)
	// p0 is (batch, P, n), p1 is (batch, n, Q).
	p0, ps0 := permuteAxes(x0.Data, x0.Shape, perm0)
	p1, ps1 := permuteAxes(x1.Data, x1.Shape, perm1)
	var inv0, inv1 []float32
	if l.Normalize {
		p0, inv0 = l2NormalizeRows(p0, n, dotEpsilon)
		p1, inv1 = l2NormalizeCols(p1, batch, n)
	}
	P := runtime.ShapeSize(ps0) / max(batch*n, 1)
	Q := runtime.ShapeSize(ps1) / max(batch*n, 1)
	if batch == 0 || n == 0 {
		P, Q = runtime.ShapeSize(ps0[1:len(ps0)-1]), runtime.ShapeSize(ps1[2:])
	}
	y := runtime.NewTensor(outShape...)
	for b := 0; b < batch; b++ {
		matMul(P, Q, n, p0[b*P*n:(b+1)*P*n], p1[b*n*Q:(b+1)*n*Q], y.Data[b*P*Q:(b+1)*P*Q], nil)
	}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g := gout[0].Data
		g0 := make([]float32, len(p0))
		g1 := make([]float32, len(p1))
		for b := 0; b < batch; b++ {
			gb := g[b*P*Q : (b+1)*P*Q]
			matMulTransB(P, n, Q, gb, p1[b*n*Q:(b+1)*n*Q], g0[b*P*n:(b+1)*P*n])
			matMulTransA(n, Q, P, p0[b*P*n:(b+1)*P*n], gb, g1[b*n*Q:(b+1)*n*Q])
		}
		if l.Normalize {
			l2NormalizeRowsGrad(p0, inv0, g0, n)
			l2NormalizeColsGrad(p1, inv1, g1, batch, n)
		}
		d0, _ := permuteAxes(g0, ps0, inversePerm(perm0))
		d1, _ := permuteAxes(g1, ps1, inversePerm(perm1))
		return []*runtime.Tensor{
			{Shape: copyShape(x0.Shape), Data: d0},
			{Shape: copyShape(x1.Shape), Data: d1},
		}, nil
	}, nil
}

// axisToEnd is the permutation moving axis a of a rank-r shape last.
func axisToEnd(r, a int) []int {
	perm := make([]int, 0, r)
	for i := 0; i < r; i++ {
		if i != a {
			perm = append(perm, i)
		}
	}
	return append(perm, a)
}

// axisToFront is the permutation moving axis a to position 1 (after the
// batch axis).
func axisToFront(r, a int) []int {
	perm := []int{0, a}
	for i := 1; i < r; i++ {
		if i != a {
			perm = append(perm, i)
		}
	}
	return perm
}

// l2Inv is Keras's clipped inverse norm: min(rsqrt(ss), 1/epsilon), with
// a zero when it is clipped (the gradient then has no norm term).
func l2Inv(ss, epsilon float64) (inv float64, clipped bool) {
	if ss == 0 || 1/math.Sqrt(ss) >= 1/epsilon {
		return 1 / epsilon, true
	}
	return 1 / math.Sqrt(ss), false
}

// l2NormalizeRows normalizes contiguous rows of length n; inv holds each
// row's scale (negative when clipped).
func l2NormalizeRows(x []float32, n int, epsilon float64) ([]float32, []float32) {
	out := make([]float32, len(x))
	inv := make([]float32, len(x)/max(n, 1))
	for r := range inv {
		row := x[r*n : (r+1)*n]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		s, clipped := l2Inv(ss, epsilon)
		inv[r] = float32(s)
		if clipped {
			inv[r] = -inv[r]
		}
		for i, v := range row {
			out[r*n+i] = float32(float64(v) * s)
		}
	}
	return out, inv
}

// l2NormalizeRowsGrad turns the gradient g of the normalized rows y into
// the gradient of the raw rows, in place: inv*(g - y*sum(g*y)).
func l2NormalizeRowsGrad(y, inv, g []float32, n int) {
	for r, s := range inv {
		gr, yr := g[r*n:(r+1)*n], y[r*n:(r+1)*n]
		if s < 0 {
			for i := range gr {
				gr[i] *= -s
			}
			continue
		}
		var dot float64
		for i := range gr {
			dot += float64(gr[i]) * float64(yr[i])
		}
		for i := range gr {
			gr[i] = float32(float64(s) * (float64(gr[i]) - float64(yr[i])*dot))
		}
	}
}

// l2NormalizeCols normalizes along the middle axis of (batch, n, Q) data.
func l2NormalizeCols(x []float32, batch, n int) ([]float32, []float32) {
	t, ts := permuteAxes(x, []int{batch, n, len(x) / max(batch*n, 1)}, []int{0, 2, 1})
	y, inv := l2NormalizeRows(t, n, dotEpsilon)
	out, _ := permuteAxes(y, ts, []int{0, 2, 1})
	return out, inv
}

// l2NormalizeColsGrad is l2NormalizeRowsGrad for l2NormalizeCols.
func l2NormalizeColsGrad(y, inv, g []float32, batch, n int) {
	shape := []int{batch, n, len(y) / max(batch*n, 1)}
	yt, ts := permuteAxes(y, shape, []int{0, 2, 1})
	gt, _ := permuteAxes(g, shape, []int{0, 2, 1})
	gt = append([]float32(nil), gt...)
	l2NormalizeRowsGrad(yt, inv, gt, n)
	back, _ := permuteAxes(gt, ts, []int{0, 2, 1})
	copy(g, back)
}
