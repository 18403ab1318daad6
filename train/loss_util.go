package train

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/runtime"
)

// epsilon is Keras's backend.epsilon() (1e-7) as the float32 Keras
// computes with; oneMinusEps is 1 - epsilon evaluated in float32, the upper
// clip bound Keras's crossentropies use.
var (
	epsilon     = float64(float32(1e-7))
	oneMinusEps = float64(float32(1) - float32(1e-7))
)

// squeezeOrExpand mirrors keras.src.losses.loss.squeeze_or_expand_to_same_rank
// on shapes: when the ranks differ by one and the longer shape ends in 1,
// it drops that 1 (or, with expandRank1, adds a trailing 1 to a rank-1
// shape). Data layout is unchanged by either.
func squeezeOrExpand(s1, s2 []int, expandRank1 bool) ([]int, []int) {
	r1, r2 := len(s1), len(s2)
	if r1 == r2 {
		return s1, s2
	}
	if r1 == r2+1 && s1[r1-1] == 1 {
		if r2 == 1 && expandRank1 {
			s2 = append(append([]int(nil), s2...), 1)
		} else {
			s1 = s1[:r1-1]
		}
	}
	if r2 == r1+1 && s2[r2-1] == 1 {
		if r1 == 1 && expandRank1 {
			s1 = append(append([]int(nil), s1...), 1)
		} else {
			s2 = s2[:r2-1]
		}
	}
	return s1, s2
}

// broadcastShape returns the NumPy broadcast of two shapes.
func broadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("shapes %s and %s do not broadcast", runtime.FormatShape(a), runtime.FormatShape(b))
		}
	}
	return out, nil
}

// broadcastIndex maps each flat index of shape out to the flat index of
// shape in (right-aligned, size-1 dimensions repeated).
func broadcastIndex(in, out []int) []int {
	total := runtime.ShapeSize(out)
	idx := make([]int, total)
	n := len(out)
	// strides of in aligned to out, 0 where broadcast
	strides := make([]int, n)
	s := 1
	for i := len(in) - 1; i >= 0; i-- {
		j := n - len(in) + i
		if in[i] != 1 {
			strides[j] = s
		}
		s *= in[i]
	}
	coord := make([]int, n)
	for f := 0; f < total; f++ {
		k := 0
		for d := 0; d < n; d++ {
			k += coord[d] * strides[d]
		}
		idx[f] = k
		for d := n - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < out[d] {
				break
			}
			coord[d] = 0
		}
	}
	return idx
}

// canonicalAxis turns a possibly negative axis into 0..rank-1.
func canonicalAxis(axis, rank int) (int, error) {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	return axis, nil
}

// axisLayout splits a shape around axis: element (o, k, i) of the
// (outer, n, inner) view sits at flat index (o*n+k)*inner+i.
type axisLayout struct{ outer, n, inner int }

func layoutFor(shape []int, axis int) axisLayout {
	l := axisLayout{outer: 1, n: shape[axis], inner: 1}
	for _, d := range shape[:axis] {
		l.outer *= d
	}
	for _, d := range shape[axis+1:] {
		l.inner *= d
	}
	return l
}

// rows returns the number of reduced positions (outer*inner).
func (l axisLayout) rows() int { return l.outer * l.inner }

// at returns the flat index of element k of row r.
func (l axisLayout) at(r, k int) int {
	o, i := r/l.inner, r%l.inner
	return (o*l.n+k)*l.inner + i
}

// dropAxis returns shape without dimension axis.
func dropAxis(shape []int, axis int) []int {
	out := append([]int(nil), shape[:axis]...)
	return append(out, shape[axis+1:]...)
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is TensorFlow's numerically stable log(1 + exp(x)).
func softplus(x float64) float64 {
	return math.Log1p(math.Exp(-math.Abs(x))) + math.Max(x, 0)
}

// clipGrad reports whether tf.clip_by_value passes the gradient at x
// (inclusive bounds, as TensorFlow's ClipByValue gradient).
func clipPass(x, lo, hi float64) bool { return x >= lo && x <= hi }

func clip(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }

func shapesEqual(a, b []int) bool {
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

func toFloat64(t *runtime.Tensor) []float64 {
	out := make([]float64, len(t.Data))
	for i, v := range t.Data {
		out[i] = float64(v)
	}
	return out
}

func checkTensor(name string, t *runtime.Tensor) error {
	if t == nil {
		return fmt.Errorf("%s is nil", name)
	}
	if runtime.ShapeSize(t.Shape) != len(t.Data) {
		return fmt.Errorf("%s: shape %s does not match %d values", name, runtime.FormatShape(t.Shape), len(t.Data))
	}
	return nil
}
