package layers

import (
	"math"
	"sort"
)

// Activations that work on whole rows of the last axis: softmax,
// log_softmax, sparsemax and glu.

func softmaxForward(x, y []float32, n int) {
	for off := 0; off < len(x); off += n {
		row, out := x[off:off+n], y[off:off+n]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var sum float64
		for i, v := range row {
			e := math.Exp(float64(v - m))
			out[i] = float32(e)
			sum += e
		}
		for i := range out {
			out[i] = float32(float64(out[i]) / sum)
		}
	}
}

func softmaxBackward(_, y, gy, gx []float32, n int) {
	for off := 0; off < len(y); off += n {
		var dot float64
		for i := off; i < off+n; i++ {
			dot += float64(gy[i]) * float64(y[i])
		}
		for i := off; i < off+n; i++ {
			gx[i] = float32(float64(y[i]) * (float64(gy[i]) - dot))
		}
	}
}

func logSoftmaxForward(x, y []float32, n int) {
	for off := 0; off < len(x); off += n {
		row, out := x[off:off+n], y[off:off+n]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - m))
		}
		lse := float64(m) + math.Log(sum)
		for i, v := range row {
			out[i] = float32(float64(v) - lse)
		}
	}
}

func logSoftmaxBackward(_, y, gy, gx []float32, n int) {
	for off := 0; off < len(y); off += n {
		var sum float64
		for i := off; i < off+n; i++ {
			sum += float64(gy[i])
		}
		for i := off; i < off+n; i++ {
			gx[i] = float32(float64(gy[i]) - math.Exp(float64(y[i]))*sum)
		}
	}
}

// sparsemaxRow computes Keras 3's sparsemax of one row exactly as
// keras/src/backend/tensorflow/nn.py does, in float32: sort descending,
// support_k = z_k - (cumsum_k - 1)/k > 0, tau = (sum of cumsum over the
// support - 1) / |support|, y = max(x - tau, 0). (Keras sums the cumulative
// sums over the support rather than taking the last one; this reproduces
// Keras's numbers, not the textbook sparsemax.) It returns the sort order,
// the support flags (by sorted position) and |support|.
func sparsemaxRow(row, out []float32) (order []int, support []bool, k float32) {
	n := len(row)
	order = make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
	support = make([]bool, n)
	var cum, cumSafe float32
	for p, i := range order {
		cum += row[i]
		if row[i]-(cum-1)/float32(p+1) > 0 {
			support[p] = true
			cumSafe += cum
			k++
		}
	}
	tau := (cumSafe - 1) / k
	for i, v := range row {
		out[i] = max(v-tau, 0)
	}
	return order, support, k
}

func sparsemaxForward(x, y []float32, n int) {
	for off := 0; off < len(x); off += n {
		sparsemaxRow(x[off:off+n], y[off:off+n])
	}
}

// sparsemaxBackward differentiates sparsemaxRow as TensorFlow does: the
// gradient passes where x - tau >= 0, and d tau/d x_j is the number of
// support positions at or after x_j's sorted position, over |support|.
func sparsemaxBackward(x, _, gy, gx []float32, n int) {
	tmp := make([]float32, n)
	for off := 0; off < len(x); off += n {
		row := x[off : off+n]
		order, support, k := sparsemaxRow(row, tmp)
		tau := float32(0)
		// Recover tau from one output: y = max(x - tau, 0).
		var cum, cumSafe float32
		for p, i := range order {
			cum += row[i]
			if support[p] {
				cumSafe += cum
			}
		}
		tau = (cumSafe - 1) / k
		var gsum float64
		for i, v := range row {
			if v-tau >= 0 {
				gsum += float64(gy[off+i])
			}
		}
		after := 0 // support positions at or after position p
		for p := n - 1; p >= 0; p-- {
			if support[p] {
				after++
			}
			i := order[p]
			g := -gsum * float64(after) / float64(k)
			if row[i]-tau >= 0 {
				g += float64(gy[off+i])
			}
			gx[off+i] = float32(g)
		}
	}
}

// gluForward splits each row in halves a, b and returns a * sigmoid(b).
func gluForward(x, y []float32, n int) {
	h := n / 2
	for r := 0; r*n < len(x); r++ {
		a, b, out := x[r*n:r*n+h], x[r*n+h:(r+1)*n], y[r*h:(r+1)*h]
		for i := range out {
			out[i] = float32(float64(a[i]) * sigmoid(float64(b[i])))
		}
	}
}

func gluBackward(x, _, gy, gx []float32, n int) {
	h := n / 2
	for r := 0; r*n < len(x); r++ {
		a, b, g := x[r*n:r*n+h], x[r*n+h:(r+1)*n], gy[r*h:(r+1)*h]
		for i := range g {
			s := sigmoid(float64(b[i]))
			gx[r*n+i] = float32(float64(g[i]) * s)
			gx[r*n+h+i] = float32(float64(g[i]) * float64(a[i]) * s * (1 - s))
		}
	}
}
