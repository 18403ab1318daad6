package train

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// The update rules below transcribe each Keras 3 optimizer's
// update_step (keras/src/optimizers/*.py); values are computed in float64
// and stored as float32, as Keras stores them. Hyperparameters are
// rounded to float32 where Keras casts them to the variable dtype.

func slotData(s []*runtime.Variable, i int) []float32 { return s[i].Value.Data }

// sgd is keras.optimizers.SGD.
type sgd struct {
	momentum float64
	nesterov bool
	m        []*runtime.Variable
}

func (r *sgd) build(b *baseOptimizer) error {
	if r.momentum != 0 {
		r.m = b.addSlots([]string{"momentum"}, nil)[0]
	}
	return nil
}
func (r *sgd) beforeStep(*baseOptimizer) {}
func (r *sgd) update(b *baseOptimizer, i int, g []float64, lr float64) {
	v := b.vars[i].Value.Data
	if r.m == nil {
		for j := range v {
			v[j] = float32(float64(v[j]) - g[j]*lr)
		}
		return
	}
	mom := f32(r.momentum)
	m := slotData(r.m, i)
	for j := range v {
		nm := float32(float64(m[j])*mom - g[j]*lr)
		m[j] = nm
		if r.nesterov {
			v[j] = float32(float64(v[j]) + float64(nm)*mom - g[j]*lr)
		} else {
			v[j] = float32(float64(v[j]) + float64(nm))
		}
	}
}
func (r *sgd) config() kerasjson.Config {
	return kerasjson.Config{"momentum": r.momentum, "nesterov": r.nesterov}
}

// adam is keras.optimizers.Adam (and AdamW, which only differs in its
// default weight decay).
type adam struct {
	beta1, beta2, eps float64
	amsgrad           bool
	m, v, vhat        []*runtime.Variable
}

func (r *adam) build(b *baseOptimizer) error {
	s := b.addSlots([]string{"momentum", "velocity"}, nil)
	r.m, r.v = s[0], s[1]
	if r.amsgrad {
		r.vhat = b.addSlots([]string{"velocity_hat"}, nil)[0]
	}
	return nil
}
func (r *adam) beforeStep(*baseOptimizer) {}
func (r *adam) update(b *baseOptimizer, i int, g []float64, lr float64) {
	step := float64(b.Iterations() + 1)
	b1p := math.Pow(f32(r.beta1), step)
	b2p := math.Pow(f32(r.beta2), step)
	alpha := lr * math.Sqrt(1-b2p) / (1 - b1p)
	x, m, v := b.vars[i].Value.Data, slotData(r.m, i), slotData(r.v, i)
	var vh []float32
	if r.amsgrad {
		vh = slotData(r.vhat, i)
	}
	// Keras's ops, one float32 operation each, as TensorFlow computes them.
	a32, c1, c2, eps := float32(alpha), float32(1-r.beta1), float32(1-r.beta2), float32(r.eps)
	x, m, v = x[:len(x)], m[:len(x)], v[:len(x)]
	g = g[:len(x)]
	for j := range x {
		gj := float32(g[j])
		mj := m[j] + (gj-m[j])*c1
		vj := v[j] + (gj*gj-v[j])*c2
		m[j], v[j] = mj, vj
		if vh != nil {
			vh[j] = max(vh[j], vj)
			vj = vh[j]
		}
		x[j] -= mj * a32 / (float32(math.Sqrt(float64(vj))) + eps)
	}
}
func (r *adam) config() kerasjson.Config {
	return kerasjson.Config{"beta_1": r.beta1, "beta_2": r.beta2, "epsilon": r.eps, "amsgrad": r.amsgrad}
}

// rmsprop is keras.optimizers.RMSprop.
type rmsprop struct {
	rho, momentum, eps float64
	centered           bool
	vel, mom, avg      []*runtime.Variable
}

func (r *rmsprop) build(b *baseOptimizer) error {
	r.vel = b.addSlots([]string{"velocity"}, nil)[0]
	if r.momentum > 0 {
		r.mom = b.addSlots([]string{"momentum"}, nil)[0]
	}
	if r.centered {
		r.avg = b.addSlots([]string{"average_gradient"}, nil)[0]
	}
	return nil
}
func (r *rmsprop) beforeStep(*baseOptimizer) {}
func (r *rmsprop) update(b *baseOptimizer, i int, g []float64, lr float64) {
	x, vel := b.vars[i].Value.Data, slotData(r.vel, i)
	for j := range x {
		vel[j] = float32(r.rho*float64(vel[j]) + (1-r.rho)*g[j]*g[j])
		var den float64
		if r.centered {
			a := slotData(r.avg, i)
			a[j] = float32(r.rho*float64(a[j]) + (1-r.rho)*g[j])
			den = float64(vel[j]) - float64(a[j])*float64(a[j]) + r.eps
		} else {
			den = float64(vel[j]) + r.eps
		}
		inc := lr * g[j] / math.Sqrt(den)
		if r.momentum > 0 {
			m := slotData(r.mom, i)
			m[j] = float32(r.momentum*float64(m[j]) + inc)
			x[j] = float32(float64(x[j]) - float64(m[j]))
		} else {
			x[j] = float32(float64(x[j]) - inc)
		}
	}
}
func (r *rmsprop) config() kerasjson.Config {
	return kerasjson.Config{"rho": r.rho, "momentum": r.momentum, "epsilon": r.eps, "centered": r.centered}
}

// adagrad is keras.optimizers.Adagrad.
type adagrad struct {
	initial, eps float64
	acc          []*runtime.Variable
}

func (r *adagrad) build(b *baseOptimizer) error {
	r.acc = b.addSlots([]string{"accumulator"}, []float64{r.initial})[0]
	return nil
}
func (r *adagrad) beforeStep(*baseOptimizer) {}
func (r *adagrad) update(b *baseOptimizer, i int, g []float64, lr float64) {
	x, a := b.vars[i].Value.Data, slotData(r.acc, i)
	for j := range x {
		a[j] = float32(float64(a[j]) + g[j]*g[j])
		x[j] = float32(float64(x[j]) - lr*g[j]/math.Sqrt(float64(a[j])+r.eps))
	}
}
func (r *adagrad) config() kerasjson.Config {
	return kerasjson.Config{"initial_accumulator_value": r.initial, "epsilon": r.eps}
}

// adadelta is keras.optimizers.Adadelta.
type adadelta struct {
	rho, eps    float64
	accG, accDx []*runtime.Variable
}

func (r *adadelta) build(b *baseOptimizer) error {
	s := b.addSlots([]string{"accumulated_grad", "accumulated_delta_var"}, nil)
	r.accG, r.accDx = s[0], s[1]
	return nil
}
func (r *adadelta) beforeStep(*baseOptimizer) {}
func (r *adadelta) update(b *baseOptimizer, i int, g []float64, lr float64) {
	x, ag, ad := b.vars[i].Value.Data, slotData(r.accG, i), slotData(r.accDx, i)
	for j := range x {
		ag[j] = float32(r.rho*float64(ag[j]) + (1-r.rho)*g[j]*g[j])
		delta := -math.Sqrt(float64(ad[j])+r.eps) * g[j] / math.Sqrt(float64(ag[j])+r.eps)
		ad[j] = float32(r.rho*float64(ad[j]) + (1-r.rho)*delta*delta)
		x[j] = float32(float64(x[j]) + lr*delta)
	}
}
func (r *adadelta) config() kerasjson.Config {
	return kerasjson.Config{"rho": r.rho, "epsilon": r.eps}
}

// adamax is keras.optimizers.Adamax.
type adamax struct {
	beta1, beta2, eps float64
	m, u              []*runtime.Variable
}

func (r *adamax) build(b *baseOptimizer) error {
	s := b.addSlots([]string{"momentum", "norm"}, nil)
	r.m, r.u = s[0], s[1]
	return nil
}
func (r *adamax) beforeStep(*baseOptimizer) {}
func (r *adamax) update(b *baseOptimizer, i int, g []float64, lr float64) {
	b1p := math.Pow(f32(r.beta1), float64(b.Iterations()+1))
	x, m, u := b.vars[i].Value.Data, slotData(r.m, i), slotData(r.u, i)
	for j := range x {
		m[j] = float32(float64(m[j]) + (g[j]-float64(m[j]))*(1-r.beta1))
		u[j] = float32(math.Max(r.beta2*float64(u[j]), math.Abs(g[j])))
		x[j] = float32(float64(x[j]) - lr*float64(m[j])/((1-b1p)*(float64(u[j])+r.eps)))
	}
}
func (r *adamax) config() kerasjson.Config {
	return kerasjson.Config{"beta_1": r.beta1, "beta_2": r.beta2, "epsilon": r.eps}
}

// nadam is keras.optimizers.Nadam; its u_product is an extra scalar
// variable Keras names "variable", created after the slots.
type nadam struct {
	beta1, beta2, eps float64
	m, v              []*runtime.Variable
	uProduct          *runtime.Variable
}

func (r *nadam) build(b *baseOptimizer) error {
	s := b.addSlots([]string{"momentum", "velocity"}, nil)
	r.m, r.v = s[0], s[1]
	r.uProduct = b.addVariable("variable", nil, 1)
	return nil
}
func (r *nadam) beforeStep(b *baseOptimizer) {
	step := float64(b.Iterations() + 1)
	u := float64(r.uProduct.Value.Data[0])
	r.uProduct.Value.Data[0] = float32(u * r.beta1 * (1 - 0.5*math.Pow(0.96, step)))
}
func (r *nadam) update(b *baseOptimizer, i int, g []float64, lr float64) {
	step := float64(b.Iterations() + 1)
	b1, b2 := f32(r.beta1), f32(r.beta2)
	decay := f32(0.96)
	ut := b1 * (1 - 0.5*math.Pow(decay, step))
	ut1 := b1 * (1 - 0.5*math.Pow(decay, step+1))
	up := float64(r.uProduct.Value.Data[0])
	up1 := up * ut1
	b2p := math.Pow(b2, step)
	x, m, v := b.vars[i].Value.Data, slotData(r.m, i), slotData(r.v, i)
	for j := range x {
		m[j] = float32(float64(m[j]) + (g[j]-float64(m[j]))*(1-b1))
		v[j] = float32(float64(v[j]) + (g[j]*g[j]-float64(v[j]))*(1-b2))
		mh := ut1*float64(m[j])/(1-up1) + (1-ut)*g[j]/(1-up)
		vh := float64(v[j]) / (1 - b2p)
		x[j] = float32(float64(x[j]) - mh*lr/(math.Sqrt(vh)+r.eps))
	}
}
func (r *nadam) config() kerasjson.Config {
	return kerasjson.Config{"beta_1": r.beta1, "beta_2": r.beta2, "epsilon": r.eps}
}

// lion is keras.optimizers.Lion.
type lion struct {
	beta1, beta2 float64
	m            []*runtime.Variable
}

func (r *lion) build(b *baseOptimizer) error {
	r.m = b.addSlots([]string{"momentum"}, nil)[0]
	return nil
}
func (r *lion) beforeStep(*baseOptimizer) {}
func (r *lion) update(b *baseOptimizer, i int, g []float64, lr float64) {
	b1, b2 := f32(r.beta1), f32(r.beta2)
	x, m := b.vars[i].Value.Data, slotData(r.m, i)
	for j := range x {
		x[j] = float32(float64(x[j]) - lr*sign(float64(m[j])*b1+g[j]*(1-b1)))
		m[j] = float32(float64(m[j])*b2 + g[j]*(1-b2))
	}
}
func (r *lion) config() kerasjson.Config {
	return kerasjson.Config{"beta_1": r.beta1, "beta_2": r.beta2}
}

// ftrl is keras.optimizers.Ftrl.
type ftrl struct {
	lrPower, initial, l1, l2, l2Shrink, beta float64
	acc, lin                                 []*runtime.Variable
}

func (r *ftrl) build(b *baseOptimizer) error {
	s := b.addSlots([]string{"accumulator", "linear"}, []float64{r.initial, 0})
	r.acc, r.lin = s[0], s[1]
	return nil
}
func (r *ftrl) beforeStep(*baseOptimizer) {}
func (r *ftrl) update(b *baseOptimizer, i int, g []float64, lr float64) {
	l2 := r.l2 + r.beta/(2*lr)
	x, acc, lin := b.vars[i].Value.Data, slotData(r.acc, i), slotData(r.lin, i)
	for j := range x {
		xv := float64(x[j])
		gs := g[j] + 2*r.l2Shrink*xv
		na := float64(acc[j]) + g[j]*g[j]
		pn := math.Pow(na, -r.lrPower)
		lin[j] = float32(float64(lin[j]) + gs - (pn-math.Pow(float64(acc[j]), -r.lrPower))/lr*xv)
		quad := pn/lr + 2*l2
		lc := clip(float64(lin[j]), -r.l1, r.l1)
		x[j] = float32((lc - float64(lin[j])) / quad)
		acc[j] = float32(na)
	}
}
func (r *ftrl) config() kerasjson.Config {
	return kerasjson.Config{"learning_rate_power": r.lrPower, "initial_accumulator_value": r.initial,
		"l1_regularization_strength": r.l1, "l2_regularization_strength": r.l2,
		"l2_shrinkage_regularization_strength": r.l2Shrink, "beta": r.beta}
}

// adafactor is keras.optimizers.Adafactor: factored second moments r and
// c for variables of rank >= 2 (scalars named after the variable for
// rank < 2, unused), then a velocity slot.
type adafactor struct {
	beta2Decay, eps1, eps2, clipThreshold float64
	relativeStep                          bool
	r, c, v                               []*runtime.Variable
}

func (r *adafactor) build(b *baseOptimizer) error {
	for i, x := range b.vars {
		shape := x.Value.Shape
		name := b.vars[i].Name
		if len(shape) < 2 {
			r.r = append(r.r, b.addVariable(name, nil, 0))
			r.c = append(r.c, b.addVariable(name, nil, 0))
		} else {
			cs := append(append([]int(nil), shape[:len(shape)-2]...), shape[len(shape)-1])
			r.r = append(r.r, b.addVariable(name, shape[:len(shape)-1], 0))
			r.c = append(r.c, b.addVariable(name, cs, 0))
		}
		t := runtime.NewTensor(shape...)
		s := &runtime.Variable{Name: b.refName(i, "velocity"), Value: t}
		b.slots = append(b.slots, s)
		b.slotInfo = append(b.slotInfo, slotRef{i, "velocity"})
		r.v = append(r.v, s)
	}
	return nil
}
func (r *adafactor) beforeStep(*baseOptimizer) {}

func rms(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s / float64(len(x)))
}

func (r *adafactor) update(b *baseOptimizer, i int, g []float64, lr float64) {
	step := float64(b.Iterations() + 1)
	if b.sched == nil && r.relativeStep {
		lr = math.Min(lr, 1/math.Sqrt(step))
	}
	x := b.vars[i].Value.Data
	xs := toFloat64(b.vars[i].Value)
	rho := math.Min(lr, 1/math.Sqrt(step))
	alpha := math.Max(f32(r.eps2), rms(xs)) * rho
	reg := make([]float64, len(g))
	for j, v := range g {
		reg[j] = v*v + r.eps1
	}
	beta := 1 - math.Pow(step, r.beta2Decay)
	v := slotData(r.v, i)
	shape := b.vars[i].Value.Shape
	if len(shape) >= 2 {
		cols := shape[len(shape)-1]
		rows := shape[len(shape)-2]
		batch := len(x) / max(1, rows*cols)
		rv, cv := slotData(r.r, i), slotData(r.c, i)
		for bb := 0; bb < batch; bb++ {
			off := bb * rows * cols
			for ri := 0; ri < rows; ri++ {
				s := 0.0
				for ci := 0; ci < cols; ci++ {
					s += reg[off+ri*cols+ci]
				}
				k := bb*rows + ri
				rv[k] = float32(beta*float64(rv[k]) + (1-beta)*s/float64(cols))
			}
			for ci := 0; ci < cols; ci++ {
				s := 0.0
				for ri := 0; ri < rows; ri++ {
					s += reg[off+ri*cols+ci]
				}
				k := bb*cols + ci
				cv[k] = float32(beta*float64(cv[k]) + (1-beta)*s/float64(rows))
			}
			mean := 0.0
			for ri := 0; ri < rows; ri++ {
				mean += float64(rv[bb*rows+ri])
			}
			mean /= float64(rows)
			for ri := 0; ri < rows; ri++ {
				for ci := 0; ci < cols; ci++ {
					v[off+ri*cols+ci] = float32(float64(rv[bb*rows+ri]) / mean * float64(cv[bb*cols+ci]))
				}
			}
		}
	} else {
		for j := range v {
			v[j] = float32(beta*float64(v[j]) + (1-beta)*reg[j])
		}
	}
	u := make([]float64, len(g))
	for j := range u {
		u[j] = g[j] / math.Sqrt(float64(v[j]))
	}
	den := math.Max(1, rms(u)/r.clipThreshold)
	for j := range x {
		x[j] = float32(float64(x[j]) - alpha*u[j]/den)
	}
}
func (r *adafactor) config() kerasjson.Config {
	return kerasjson.Config{"beta_2_decay": r.beta2Decay, "epsilon_1": r.eps1, "epsilon_2": r.eps2,
		"clip_threshold": r.clipThreshold, "relative_step": r.relativeStep}
}

func adamClass(name string) optimizerClass {
	return optimizerClass{name, 0.001, []string{"beta_1", "beta_2", "epsilon", "amsgrad"}, func(a *optArgs) (updateRule, error) {
		return &adam{beta1: a.float("beta_1", 0.9), beta2: a.float("beta_2", 0.999), eps: a.float("epsilon", 1e-7), amsgrad: a.bool("amsgrad", false)}, nil
	}}
}

// optimizerClasses lists the supported Keras optimizers.
var optimizerClasses = map[string]optimizerClass{
	"SGD": {"sgd", 0.01, []string{"momentum", "nesterov"}, func(a *optArgs) (updateRule, error) {
		m := a.float("momentum", 0)
		if m < 0 || m > 1 {
			return nil, fmt.Errorf("momentum %v must be in [0, 1]", m)
		}
		return &sgd{momentum: m, nesterov: a.bool("nesterov", false)}, nil
	}},
	"Adam":  adamClass("adam"),
	"AdamW": adamClass("adam_w"),
	"RMSprop": {"rm_sprop", 0.001, []string{"rho", "momentum", "epsilon", "centered"}, func(a *optArgs) (updateRule, error) {
		return &rmsprop{rho: a.float("rho", 0.9), momentum: a.float("momentum", 0), eps: a.float("epsilon", 1e-7), centered: a.bool("centered", false)}, nil
	}},
	"Adagrad": {"adagrad", 0.001, []string{"initial_accumulator_value", "epsilon"}, func(a *optArgs) (updateRule, error) {
		return &adagrad{initial: a.float("initial_accumulator_value", 0.1), eps: a.float("epsilon", 1e-7)}, nil
	}},
	"Adadelta": {"adadelta", 0.001, []string{"rho", "epsilon"}, func(a *optArgs) (updateRule, error) {
		return &adadelta{rho: a.float("rho", 0.95), eps: a.float("epsilon", 1e-7)}, nil
	}},
	"Adamax": {"adamax", 0.001, []string{"beta_1", "beta_2", "epsilon"}, func(a *optArgs) (updateRule, error) {
		return &adamax{beta1: a.float("beta_1", 0.9), beta2: a.float("beta_2", 0.999), eps: a.float("epsilon", 1e-7)}, nil
	}},
	"Nadam": {"nadam", 0.001, []string{"beta_1", "beta_2", "epsilon"}, func(a *optArgs) (updateRule, error) {
		return &nadam{beta1: a.float("beta_1", 0.9), beta2: a.float("beta_2", 0.999), eps: a.float("epsilon", 1e-7)}, nil
	}},
	"Lion": {"lion", 0.001, []string{"beta_1", "beta_2"}, func(a *optArgs) (updateRule, error) {
		r := &lion{beta1: a.float("beta_1", 0.9), beta2: a.float("beta_2", 0.99)}
		if r.beta1 <= 0 || r.beta1 > 1 {
			return nil, fmt.Errorf("beta_1 %v must be in (0, 1]", r.beta1)
		}
		return r, nil
	}},
	"Ftrl": {"ftrl", 0.001, []string{"learning_rate_power", "initial_accumulator_value", "l1_regularization_strength", "l2_regularization_strength", "l2_shrinkage_regularization_strength", "beta"}, func(a *optArgs) (updateRule, error) {
		r := &ftrl{lrPower: a.float("learning_rate_power", -0.5), initial: a.float("initial_accumulator_value", 0.1),
			l1: a.float("l1_regularization_strength", 0), l2: a.float("l2_regularization_strength", 0),
			l2Shrink: a.float("l2_shrinkage_regularization_strength", 0), beta: a.float("beta", 0)}
		if r.initial < 0 || r.lrPower > 0 || r.l1 < 0 || r.l2 < 0 || r.l2Shrink < 0 {
			return nil, fmt.Errorf("invalid Ftrl arguments (negative strength or accumulator, or positive learning_rate_power)")
		}
		return r, nil
	}},
	"Adafactor": {"adafactor", 0.001, []string{"beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold", "relative_step"}, func(a *optArgs) (updateRule, error) {
		return &adafactor{beta2Decay: a.float("beta_2_decay", -0.8), eps1: a.float("epsilon_1", 1e-30), eps2: a.float("epsilon_2", 1e-3),
			clipThreshold: a.float("clip_threshold", 1), relativeStep: a.bool("relative_step", true)}, nil
	}},
}
