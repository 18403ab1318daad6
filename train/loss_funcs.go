package train

import (
	"fmt"
	"math"
)

// aligned is y_true and y_pred brought to one broadcast shape: element i
// of the broadcast reads t[ti(i)] and p[pi(i)].
type aligned struct {
	shape  []int
	ti, pi []int // nil when the shapes already match
}

func (a aligned) t(i int) int {
	if a.ti == nil {
		return i
	}
	return a.ti[i]
}

func (a aligned) p(i int) int {
	if a.pi == nil {
		return i
	}
	return a.pi[i]
}

func align(tShape, pShape []int) (aligned, error) {
	if shapesEqual(tShape, pShape) {
		return aligned{shape: pShape}, nil
	}
	out, err := broadcastShape(tShape, pShape)
	if err != nil {
		return aligned{}, fmt.Errorf("y_true and y_pred: %v", err)
	}
	return aligned{shape: out, ti: broadcastIndex(tShape, out), pi: broadcastIndex(pShape, out)}, nil
}

// sameShape requires y_true and y_pred to have equal shapes, as Keras's
// crossentropy backends do.
func sameShape(tShape, pShape []int) error {
	if !shapesEqual(tShape, pShape) {
		return fmt.Errorf("y_true shape %v and y_pred shape %v must be equal", tShape, pShape)
	}
	return nil
}

// elemFn is an elementwise loss term and its derivative with respect to
// y_pred.
type elemFn func(t, p float64) (v, dp float64)

// elementwiseMean is ops.mean(f(y_true, y_pred), axis=-1).
func elementwiseMean(f elemFn) lossFn {
	return func(yt, yp []float64, ts, ps []int) (*lossValues, error) {
		a, err := align(ts, ps)
		if err != nil {
			return nil, err
		}
		return meanOverAxis(a, -1, func(i int) (float64, float64) {
			return f(yt[a.t(i)], yp[a.p(i)])
		}, len(yp))
	}
}

// meanOverAxis averages per-element terms along axis of the aligned shape.
// term(i) returns the value of element i and its derivative with respect
// to y_pred[a.p(i)].
func meanOverAxis(a aligned, axis int, term func(i int) (float64, float64), nPred int) (*lossValues, error) {
	if len(a.shape) == 0 {
		return nil, fmt.Errorf("cannot reduce a scalar along axis %d", axis)
	}
	ax, err := canonicalAxis(axis, len(a.shape))
	if err != nil {
		return nil, err
	}
	l := layoutFor(a.shape, ax)
	n := runtime_size(a.shape)
	vals := make([]float64, l.rows())
	ds := make([]float64, n)
	for r := 0; r < l.rows(); r++ {
		s := 0.0
		for k := 0; k < l.n; k++ {
			i := l.at(r, k)
			v, d := term(i)
			s += v
			ds[i] = d
		}
		vals[r] = s / float64(l.n)
	}
	return &lossValues{values: vals, shape: dropAxis(a.shape, ax), back: func(dv []float64) []float64 {
		g := make([]float64, nPred)
		for r := 0; r < l.rows(); r++ {
			c := dv[r] / float64(l.n)
			for k := 0; k < l.n; k++ {
				i := l.at(r, k)
				g[a.p(i)] += c * ds[i]
			}
		}
		return g
	}}, nil
}

func runtime_size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func mseElem(t, p float64) (float64, float64) { d := t - p; return d * d, -2 * d }
func maeElem(t, p float64) (float64, float64) { return math.Abs(t - p), -sign(t - p) }

func mapeElem(t, p float64) (float64, float64) {
	den := math.Max(math.Abs(t), epsilon)
	diff := (t - p) / den
	return 100 * math.Abs(diff), -100 * sign(diff) / den
}

func msleElem(t, p float64) (float64, float64) {
	mp := math.Max(p, epsilon)
	a := math.Log(mp+1) - math.Log(math.Max(t, epsilon)+1)
	d := 0.0
	if p >= epsilon { // tf.maximum's gradient goes to x where x >= y
		d = 2 * a / (mp + 1)
	}
	return a * a, d
}

func huberElem(delta float64) elemFn {
	return func(t, p float64) (float64, float64) {
		e := p - t
		if math.Abs(e) <= delta {
			return 0.5 * e * e, e
		}
		return delta*math.Abs(e) - 0.5*delta*delta, delta * sign(e)
	}
}

func logCoshElem(t, p float64) (float64, float64) {
	x := p - t
	return x + softplus(-2*x) - math.Ln2, 1 - 2*sigmoid(-2*x)
}

func poissonElem(t, p float64) (float64, float64) {
	return p - t*math.Log(p+epsilon), 1 - t/(p+epsilon)
}

// smoothBinary applies binary label smoothing.
func smoothBinary(t, ls float64) float64 {
	if ls != 0 {
		return t*(1-ls) + 0.5*ls
	}
	return t
}

// bceProb is the backend binary crossentropy on probabilities, with
// Keras's epsilon clipping; the derivative is with respect to the
// unclipped probability.
func bceProb(t, p float64) (float64, float64) {
	c := clip(p, epsilon, oneMinusEps)
	v := -(t*math.Log(c) + (1-t)*math.Log(1-c))
	d := 0.0
	if clipPass(p, epsilon, oneMinusEps) {
		d = -(t/c - (1-t)/(1-c))
	}
	return v, d
}

// bceLogits is tf.nn.sigmoid_cross_entropy_with_logits.
func bceLogits(t, x float64) (float64, float64) {
	return math.Max(x, 0) - x*t + math.Log1p(math.Exp(-math.Abs(x))), sigmoid(x) - t
}

func binaryCrossentropy(fromLogits bool, ls float64, axis int) lossFn {
	return func(yt, yp []float64, ts, ps []int) (*lossValues, error) {
		if err := sameShape(ts, ps); err != nil {
			return nil, err
		}
		a := aligned{shape: ps}
		return meanOverAxis(a, axis, func(i int) (float64, float64) {
			t := smoothBinary(yt[i], ls)
			if fromLogits {
				return bceLogits(t, yp[i])
			}
			return bceProb(t, yp[i])
		}, len(yp))
	}
}

func binaryFocal(f focalParams, fromLogits bool, ls float64, axis int) lossFn {
	return func(yt, yp []float64, ts, ps []int) (*lossValues, error) {
		if err := sameShape(ts, ps); err != nil {
			return nil, err
		}
		a := aligned{shape: ps}
		return meanOverAxis(a, axis, func(i int) (float64, float64) {
			t := smoothBinary(yt[i], ls)
			p := yp[i]
			if fromLogits {
				p = sigmoid(yp[i])
			}
			bce, dbce := bceProb(t, p)
			pt := t*p + (1-t)*(1-p)
			focal := math.Pow(1-pt, f.gamma)
			dfocal := -f.gamma * math.Pow(1-pt, f.gamma-1) * (2*t - 1)
			v := focal * bce
			d := dfocal*bce + focal*dbce
			if f.balance {
				w := t*f.alpha + (1-t)*(1-f.alpha)
				v, d = w*v, w*d
			}
			if fromLogits {
				d *= p * (1 - p)
			}
			return v, d
		}, len(yp))
	}
}

// rowLoss computes a loss over rows along one axis of same-shaped y_true
// and y_pred. row receives the row's true and predicted values and
// returns the row's loss and its gradient with respect to the predicted
// values.
func rowLoss(axis int, row func(t, p []float64) (float64, []float64, error)) lossFn {
	return func(yt, yp []float64, ts, ps []int) (*lossValues, error) {
		if err := sameShape(ts, ps); err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			return nil, fmt.Errorf("y_pred must have rank >= 1")
		}
		ax, err := canonicalAxis(axis, len(ps))
		if err != nil {
			return nil, err
		}
		l := layoutFor(ps, ax)
		vals := make([]float64, l.rows())
		grads := make([]float64, len(yp))
		t, p := make([]float64, l.n), make([]float64, l.n)
		for r := 0; r < l.rows(); r++ {
			for k := 0; k < l.n; k++ {
				t[k], p[k] = yt[l.at(r, k)], yp[l.at(r, k)]
			}
			v, g, err := row(t, p)
			if err != nil {
				return nil, err
			}
			vals[r] = v
			for k := 0; k < l.n; k++ {
				grads[l.at(r, k)] = g[k]
			}
		}
		return &lossValues{values: vals, shape: dropAxis(ps, ax), back: func(dv []float64) []float64 {
			out := make([]float64, len(grads))
			for r := 0; r < l.rows(); r++ {
				for k := 0; k < l.n; k++ {
					i := l.at(r, k)
					out[i] = dv[r] * grads[i]
				}
			}
			return out
		}}, nil
	}
}

// softmax returns the softmax of x.
func softmax(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	out := make([]float64, len(x))
	s := 0.0
	for i, v := range x {
		out[i] = math.Exp(v - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func logSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

func smoothCategorical(t []float64, ls float64) []float64 {
	if ls == 0 {
		return t
	}
	out := make([]float64, len(t))
	n := float64(len(t))
	for i, v := range t {
		out[i] = v*(1-ls) + ls/n
	}
	return out
}

// normalizedProbs is Keras's y_pred / sum(y_pred) followed by the epsilon
// clip; back maps a gradient with respect to the clipped values to one
// with respect to y_pred.
func normalizedProbs(p []float64) (c []float64, back func(gc []float64) []float64) {
	s := 0.0
	for _, v := range p {
		s += v
	}
	q := make([]float64, len(p))
	c = make([]float64, len(p))
	for i, v := range p {
		q[i] = v / s
		c[i] = clip(q[i], epsilon, oneMinusEps)
	}
	return c, func(gc []float64) []float64 {
		gq := make([]float64, len(p))
		dot := 0.0
		for i := range gq {
			if clipPass(q[i], epsilon, oneMinusEps) {
				gq[i] = gc[i]
			}
			dot += gq[i] * q[i]
		}
		g := make([]float64, len(p))
		for i := range g {
			g[i] = (gq[i] - dot) / s
		}
		return g
	}
}

func categoricalCrossentropy(fromLogits bool, ls float64, axis int) lossFn {
	return rowLoss(axis, func(t, p []float64) (float64, []float64, error) {
		t = smoothCategorical(t, ls)
		if fromLogits {
			sm := softmax(p)
			lse := logSumExp(p)
			v, st := 0.0, 0.0
			for k := range t {
				v += t[k] * (lse - p[k])
				st += t[k]
			}
			g := make([]float64, len(p))
			for k := range g {
				g[k] = sm[k]*st - t[k]
			}
			return v, g, nil
		}
		c, back := normalizedProbs(p)
		v := 0.0
		gc := make([]float64, len(p))
		for k := range t {
			v -= t[k] * math.Log(c[k])
			gc[k] = -t[k] / c[k]
		}
		return v, back(gc), nil
	})
}

func categoricalFocal(f focalParams, fromLogits bool, ls float64, axis int) lossFn {
	return rowLoss(axis, func(t, p []float64) (float64, []float64, error) {
		t = smoothCategorical(t, ls)
		probs := p
		if fromLogits {
			probs = softmax(p)
		}
		c, back := normalizedProbs(probs)
		v := 0.0
		gc := make([]float64, len(p))
		for k := range t {
			cce := -t[k] * math.Log(c[k])
			mod := math.Pow(1-c[k], f.gamma)
			v += f.alpha * mod * cce
			gc[k] = f.alpha * (-f.gamma*math.Pow(1-c[k], f.gamma-1)*cce + mod*(-t[k]/c[k]))
		}
		g := back(gc)
		if fromLogits {
			dot := 0.0
			for k := range g {
				dot += g[k] * probs[k]
			}
			for k := range g {
				g[k] = probs[k] * (g[k] - dot)
			}
		}
		return v, g, nil
	})
}

func klDivergence(yt, yp []float64, ts, ps []int) (*lossValues, error) {
	a, err := align(ts, ps)
	if err != nil {
		return nil, err
	}
	// ops.sum(y_true * log(y_true / y_pred), axis=-1) is a mean times n.
	lv, err := meanOverAxis(a, -1, func(i int) (float64, float64) {
		t := clip(yt[a.t(i)], epsilon, 1)
		p := yp[a.p(i)]
		c := clip(p, epsilon, 1)
		d := 0.0
		if clipPass(p, epsilon, 1) {
			d = -t / c
		}
		return t * math.Log(t/c), d
	}, len(yp))
	if err != nil {
		return nil, err
	}
	return scaleByAxisLen(lv, a.shape[len(a.shape)-1]), nil
}

// scaleByAxisLen turns a mean over the last axis into a sum.
func scaleByAxisLen(lv *lossValues, n int) *lossValues {
	for i := range lv.values {
		lv.values[i] *= float64(n)
	}
	back := lv.back
	lv.back = func(dv []float64) []float64 {
		s := make([]float64, len(dv))
		for i, v := range dv {
			s[i] = v * float64(n)
		}
		return back(s)
	}
	return lv
}

// hingeLoss is hinge / squared_hinge: labels that are all 0 or 1 become
// -1 or 1 first (convert_binary_labels_to_hinge, over the whole batch).
func hingeLoss(squared bool) lossFn {
	return func(yt, yp []float64, ts, ps []int) (*lossValues, error) {
		a, err := align(ts, ps)
		if err != nil {
			return nil, err
		}
		binary := true
		for _, t := range yt {
			if t != 0 && t != 1 {
				binary = false
				break
			}
		}
		return meanOverAxis(a, -1, func(i int) (float64, float64) {
			t := yt[a.t(i)]
			if binary {
				t = 2*t - 1
			}
			m := 1 - t*yp[a.p(i)]
			if m < 0 {
				return 0, 0
			}
			if squared {
				return m * m, -2 * m * t
			}
			return m, -t
		}, len(yp))
	}
}

func categoricalHinge(yt, yp []float64, ts, ps []int) (*lossValues, error) {
	return rowLoss(-1, func(t, p []float64) (float64, []float64, error) {
		pos, neg, arg := 0.0, math.Inf(-1), 0
		for k := range t {
			pos += t[k] * p[k]
			if v := (1 - t[k]) * p[k]; v > neg {
				neg, arg = v, k
			}
		}
		g := make([]float64, len(p))
		v := neg - pos + 1
		if v < 0 {
			return 0, g, nil
		}
		for k := range g {
			g[k] = -t[k]
		}
		g[arg] += 1 - t[arg]
		return v, g, nil
	})(yt, yp, ts, ps)
}

// l2Normalize is Keras's normalize: x * min(rsqrt(sum(x^2)), 1/epsilon).
// back maps a gradient with respect to the normalized vector to x.
func l2Normalize(x []float64) ([]float64, func([]float64) []float64) {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	r := 1 / math.Sqrt(s)
	clamped := false
	if r >= 1/epsilon { // tf.minimum's gradient goes to x where x <= y
		clamped = r > 1/epsilon
		if clamped {
			r = 1 / epsilon
		}
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * r
	}
	return out, func(g []float64) []float64 {
		gx := make([]float64, len(x))
		dot := 0.0
		for i := range x {
			dot += g[i] * x[i]
		}
		for i := range x {
			gx[i] = g[i] * r
			if !clamped {
				gx[i] -= dot * r * r * r * x[i]
			}
		}
		return gx
	}
}

// cosineSimilarityLoss is sign * sum(l2n(y_true) * l2n(y_pred), axis):
// sign -1 for the loss, +1 for the metric.
func cosineSimilarityLoss(axis int, sgn float64) lossFn {
	return func(yt, yp []float64, ts, ps []int) (*lossValues, error) {
		return rowLoss(axis, func(t, p []float64) (float64, []float64, error) {
			nt, _ := l2Normalize(t)
			np, back := l2Normalize(p)
			v := 0.0
			for k := range nt {
				v += nt[k] * np[k]
			}
			g := make([]float64, len(nt))
			for k := range g {
				g[k] = sgn * nt[k]
			}
			return sgn * v, back(g), nil
		})(yt, yp, ts, ps)
	}
}

// overlapLoss is Dice (tversky=false) or Tversky over the given axes (nil:
// all axes, giving a scalar).
func overlapLoss(axes []int, tversky bool, alpha, beta float64) lossFn {
	return func(yt, yp []float64, ts, ps []int) (*lossValues, error) {
		if err := sameShape(ts, ps); err != nil {
			return nil, err
		}
		reduce := make([]bool, len(ps))
		if axes == nil {
			for i := range reduce {
				reduce[i] = true
			}
		}
		for _, ax := range axes {
			a, err := canonicalAxis(ax, len(ps))
			if err != nil {
				return nil, err
			}
			reduce[a] = true
		}
		var outShape []int
		for i, d := range ps {
			if !reduce[i] {
				outShape = append(outShape, d)
			}
		}
		// group[i] is the output position element i reduces into.
		group := make([]int, len(yp))
		coord := make([]int, len(ps))
		for f := range group {
			g := 0
			for d := range ps {
				if !reduce[d] {
					g = g*ps[d] + coord[d]
				}
			}
			group[f] = g
			for d := len(ps) - 1; d >= 0; d-- {
				coord[d]++
				if coord[d] < ps[d] {
					break
				}
				coord[d] = 0
			}
		}
		n := runtime_size(outShape)
		inter, st, sp, fp, fn := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for i, g := range group {
			t, p := yt[i], yp[i]
			inter[g] += t * p
			st[g] += t
			sp[g] += p
			fp[g] += (1 - p) * t
			fn[g] += p * (1 - t)
		}
		vals := make([]float64, n)
		den := make([]float64, n)
		for g := range vals {
			if tversky {
				den[g] = inter[g] + fp[g]*alpha + fn[g]*beta + epsilon
				vals[g] = 1 - inter[g]/den[g]
			} else {
				den[g] = st[g] + sp[g] + epsilon
				vals[g] = 1 - 2*inter[g]/den[g]
			}
		}
		return &lossValues{values: vals, shape: outShape, back: func(dv []float64) []float64 {
			out := make([]float64, len(yp))
			for i, g := range group {
				t, D, I := yt[i], den[g], inter[g]
				var d float64
				if tversky {
					dD := t - alpha*t + beta*(1-t)
					d = -(t*D - I*dD) / (D * D)
				} else {
					d = -(2*t*D - 2*I) / (D * D)
				}
				out[i] = dv[g] * d
			}
			return out
		}}, nil
	}
}
