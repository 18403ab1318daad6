package train

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Optimizer is a Keras optimizer with Keras 3's update rules and variable
// layout.
type Optimizer interface {
	// Name is the optimizer's Keras name ("adam").
	Name() string
	// Build creates the optimizer variables for the model's trainable
	// variables. paths are the variables' Keras paths
	// ("sequential/dense/kernel"), from which Keras names slots
	// ("sequential_dense_kernel_momentum"); nil uses each Variable's Name.
	Build(vars []*runtime.Variable, paths []string) error
	// Apply performs one optimizer step (Keras's apply_gradients): vars
	// must be the built variables (it builds on first use) and grads their
	// gradients; a nil gradient leaves its variable untouched.
	Apply(vars []*runtime.Variable, grads []*runtime.Tensor) error
	// Variables returns the optimizer variables in the order Keras saves
	// them (optimizer/vars/N of a .keras file): iteration, learning_rate
	// (absent when the rate is a schedule), EMA averages, gradient
	// accumulators, then the slots in the order the Keras optimizer's
	// build() creates them. The iteration variable holds the count as a
	// float32; use Iterations for the exact int64 Keras stores.
	Variables() []*runtime.Variable
	// SetVariables loads values (same order and shapes as Variables), for
	// example from a saved file; iterations is the exact iteration count.
	SetVariables(values []*runtime.Tensor, iterations int64) error
	// Iterations is the optimizer's iteration count as Keras reports it
	// (divided by gradient_accumulation_steps when accumulating).
	Iterations() int64
	// LearningRate is the rate the next step will use.
	LearningRate() float64
	// GetConfig returns the Keras 3 config of the optimizer.
	GetConfig() kerasjson.Config
	// SetLearningRate sets a constant learning rate, as Keras callbacks
	// assign optimizer.learning_rate; it is an error when the rate is a
	// schedule.
	SetLearningRate(lr float64) error
}

// updateRule is one optimizer algorithm: its slots and per-variable step.
type updateRule interface {
	// build creates the slots of every variable through b.
	build(b *baseOptimizer) error
	// beforeStep runs once per optimizer step before the variables are
	// updated (Nadam's u_product).
	beforeStep(b *baseOptimizer)
	// update applies the step to variable i with gradient g.
	update(b *baseOptimizer, i int, g []float64, lr float64)
	// config returns the rule's own arguments for GetConfig.
	config() kerasjson.Config
}

// baseOptimizer mirrors keras.src.optimizers.base_optimizer.BaseOptimizer
// with the TensorFlow backend's behaviour.
type baseOptimizer struct {
	name, className string
	rule            updateRule

	lr                                  float64  // float32 learning rate when sched is nil
	sched                               Schedule // nil for a constant rate
	decay                               float64  // Keras 2 legacy inverse-time decay (0: none)
	wd                                  float64
	hasWD                               bool
	clipnorm, clipvalue, globalClipnorm float64
	useEMA                              bool
	emaMomentum                         float64
	emaOverwrite                        int
	lossScaleFactor                     float64
	accumSteps                          int

	excludeWD     []*regexp.Regexp
	excludeWDVars map[*runtime.Variable]bool

	iterations int64
	built      bool
	vars       []*runtime.Variable
	paths      []string
	index      map[*runtime.Variable]int
	iterVar    *runtime.Variable
	lrVar      *runtime.Variable
	averages   []*runtime.Variable
	accum      []*runtime.Variable
	slots      []*runtime.Variable
	// slotInfo[k] says which model variable (-1: none) and slot name
	// slots[k] belongs to.
	slotInfo []slotRef
}

type slotRef struct {
	varIndex int
	slot     string
}

func (b *baseOptimizer) Name() string { return b.name }

// Iterations returns Keras's optimizer.iterations.
func (b *baseOptimizer) Iterations() int64 {
	if b.accumSteps > 0 {
		return b.iterations / int64(b.accumSteps)
	}
	return b.iterations
}

// LearningRate returns the learning rate at the current real iteration.
func (b *baseOptimizer) LearningRate() float64 {
	lr := b.lr
	if b.sched != nil {
		lr = float64(float32(b.sched.Rate(b.iterations)))
	}
	if b.decay > 0 {
		lr = lr / (1 + b.decay*float64(b.iterations))
	}
	return lr
}

// SetLearningRate assigns a constant learning rate (stored as float32, as
// Keras's variable holds it).
func (b *baseOptimizer) SetLearningRate(lr float64) error {
	if b.sched != nil {
		return fmt.Errorf("train: optimizer %s: the learning rate is a schedule and cannot be set", b.name)
	}
	b.lr = float64(float32(lr))
	if b.lrVar != nil {
		b.lrVar.Value.Data[0] = float32(lr)
	}
	return nil
}

// ExcludeFromWeightDecay mirrors Keras's exclude_from_weight_decay: the
// given variables, and variables whose Name matches one of the patterns
// (regular expressions searched in the name), get no weight decay. It
// must be called before Build.
func (b *baseOptimizer) ExcludeFromWeightDecay(vars []*runtime.Variable, names []string) error {
	if b.built {
		return fmt.Errorf("train: optimizer %s: ExcludeFromWeightDecay after Build", b.name)
	}
	b.excludeWDVars = map[*runtime.Variable]bool{}
	for _, v := range vars {
		b.excludeWDVars[v] = true
	}
	b.excludeWD = nil
	for _, n := range names {
		re, err := regexp.Compile(n)
		if err != nil {
			return fmt.Errorf("train: optimizer %s: weight decay pattern %q: %v", b.name, n, err)
		}
		b.excludeWD = append(b.excludeWD, re)
	}
	return nil
}

func (b *baseOptimizer) useWeightDecay(v *runtime.Variable) bool {
	if b.excludeWDVars[v] {
		return false
	}
	for _, re := range b.excludeWD {
		if re.MatchString(v.Name) {
			return false
		}
	}
	return true
}

func scalarVar(name string, v float64) *runtime.Variable {
	t := runtime.NewTensor()
	t.Data[0] = float32(v)
	return &runtime.Variable{Name: name, Value: t}
}

// refName is add_variable_from_reference's name: the path with "/" made
// "_", then "_" and the slot name.
func (b *baseOptimizer) refName(i int, slot string) string {
	return strings.ReplaceAll(b.paths[i], "/", "_") + "_" + slot
}

// addSlots mirrors add_optimizer_variables: for each variable, one slot
// per name (interleaved per variable), filled with the initial values.
// It returns slots[name index][variable index].
func (b *baseOptimizer) addSlots(names []string, init []float64) [][]*runtime.Variable {
	out := make([][]*runtime.Variable, len(names))
	for k := range out {
		out[k] = make([]*runtime.Variable, len(b.vars))
	}
	for i, v := range b.vars {
		for k, n := range names {
			t := runtime.NewTensor(v.Value.Shape...)
			if init != nil && init[k] != 0 {
				for j := range t.Data {
					t.Data[j] = float32(init[k])
				}
			}
			s := &runtime.Variable{Name: b.refName(i, n), Value: t}
			out[k][i] = s
			b.slots = append(b.slots, s)
			b.slotInfo = append(b.slotInfo, slotRef{i, n})
		}
	}
	return out
}

// addVariable adds a plain optimizer variable (add_variable).
func (b *baseOptimizer) addVariable(name string, shape []int, init float64) *runtime.Variable {
	t := runtime.NewTensor(shape...)
	for j := range t.Data {
		t.Data[j] = float32(init)
	}
	s := &runtime.Variable{Name: name, Value: t}
	b.slots = append(b.slots, s)
	b.slotInfo = append(b.slotInfo, slotRef{-1, name})
	return s
}

func (b *baseOptimizer) Build(vars []*runtime.Variable, paths []string) error {
	if b.built {
		return fmt.Errorf("train: optimizer %s is already built", b.name)
	}
	if paths != nil && len(paths) != len(vars) {
		return fmt.Errorf("train: optimizer %s: %d paths for %d variables", b.name, len(paths), len(vars))
	}
	b.vars = append([]*runtime.Variable(nil), vars...)
	b.paths = make([]string, len(vars))
	b.index = make(map[*runtime.Variable]int, len(vars))
	for i, v := range vars {
		if v == nil || v.Value == nil {
			return fmt.Errorf("train: optimizer %s: variable %d has no value", b.name, i)
		}
		if _, dup := b.index[v]; dup {
			return fmt.Errorf("train: optimizer %s: variable %q given twice", b.name, v.Name)
		}
		b.index[v] = i
		b.paths[i] = v.Name
		if paths != nil {
			b.paths[i] = paths[i]
		}
	}
	if b.useEMA {
		b.averages = b.addSlots([]string{"average"}, nil)[0]
		// Keras leaves the averages at zero until the first step.
	}
	if b.accumSteps > 0 {
		b.accum = b.addSlots([]string{"gradient_accumulator"}, nil)[0]
	}
	if err := b.rule.build(b); err != nil {
		return err
	}
	b.built = true
	return nil
}

// Variables returns the optimizer's variables; it only reads (Save calls
// it while Predict runs), so the iteration variable is kept up to date
// wherever the count changes.
func (b *baseOptimizer) Variables() []*runtime.Variable {
	out := []*runtime.Variable{b.iterVar}
	if b.lrVar != nil {
		out = append(out, b.lrVar)
	}
	return append(out, b.slots...)
}

func (b *baseOptimizer) SetVariables(values []*runtime.Tensor, iterations int64) error {
	vars := b.Variables()
	if len(values) != len(vars) {
		return fmt.Errorf("train: optimizer %s has %d variables, got %d values", b.name, len(vars), len(values))
	}
	for i, v := range vars {
		if values[i] == nil || !shapesEqual(values[i].Shape, v.Value.Shape) || len(values[i].Data) != len(v.Value.Data) {
			return fmt.Errorf("train: optimizer %s: variable %d (%s) has shape %s, value has %v", b.name, i, v.Name, runtime.FormatShape(v.Value.Shape), values[i])
		}
	}
	for i, v := range vars {
		copy(v.Value.Data, values[i].Data)
	}
	if iterations < 0 {
		return fmt.Errorf("train: optimizer %s: negative iteration count %d", b.name, iterations)
	}
	b.iterations = iterations
	b.iterVar.Value.Data[0] = float32(iterations)
	if b.lrVar != nil {
		b.lr = float64(b.lrVar.Value.Data[0])
	}
	return nil
}

func (b *baseOptimizer) Apply(vars []*runtime.Variable, grads []*runtime.Tensor) error {
	// Caches of packed weights rebuild after the step changed the values.
	defer touchAll(vars)
	return b.applyStep(vars, grads)
}

// touchAll records that the variables' values changed.
func touchAll(vars []*runtime.Variable) {
	for _, v := range vars {
		v.Touch()
	}
}

func (b *baseOptimizer) applyStep(vars []*runtime.Variable, grads []*runtime.Tensor) error {
	if len(vars) != len(grads) {
		return fmt.Errorf("train: optimizer %s: %d variables but %d gradients", b.name, len(vars), len(grads))
	}
	if !b.built {
		if err := b.Build(vars, nil); err != nil {
			return err
		}
	}
	idx := make([]int, 0, len(vars))
	gs := make([][]float64, 0, len(vars))
	for k, v := range vars {
		i, ok := b.index[v]
		if !ok {
			return fmt.Errorf("train: optimizer %s: unknown variable %q (not among the variables it was built with)", b.name, v.Name)
		}
		g := grads[k]
		if g == nil {
			continue
		}
		if len(g.Data) != len(v.Value.Data) {
			return fmt.Errorf("train: optimizer %s: gradient of %q has %d values, variable has %d", b.name, b.paths[i], len(g.Data), len(v.Value.Data))
		}
		idx = append(idx, i)
		gs = append(gs, toFloat64(g))
	}
	if len(idx) == 0 {
		return fmt.Errorf("train: optimizer %s: no gradients provided for any variable", b.name)
	}
	if b.lossScaleFactor != 0 {
		for _, g := range gs {
			for j := range g {
				g[j] /= b.lossScaleFactor
			}
		}
	}
	if b.accumSteps > 0 {
		if (b.iterations+1)%int64(b.accumSteps) == 0 {
			for k, i := range idx {
				acc := b.accum[i].Value.Data
				for j := range gs[k] {
					gs[k][j] = (gs[k][j] + float64(acc[j])) / float64(b.accumSteps)
				}
			}
			b.step(idx, gs)
			for _, a := range b.accum {
				clear(a.Value.Data)
			}
		} else {
			for k, i := range idx {
				acc := b.accum[i].Value.Data
				for j, g := range gs[k] {
					acc[j] = float32(float64(acc[j]) + g)
				}
			}
		}
	} else {
		b.step(idx, gs)
	}
	if b.useEMA {
		b.updateEMA()
	}
	b.iterations++
	b.iterVar.Value.Data[0] = float32(b.iterations)
	return nil
}

// step clips, applies weight decay, then the update rule.
func (b *baseOptimizer) step(idx []int, gs [][]float64) {
	b.clip(gs)
	lr := float64(float32(b.LearningRate()))
	if b.hasWD {
		wd := float64(float32(b.wd))
		for _, i := range idx {
			v := b.vars[i]
			if !b.useWeightDecay(v) {
				continue
			}
			for j, x := range v.Value.Data {
				v.Value.Data[j] = float32(float64(x) - float64(x)*wd*lr)
			}
		}
	}
	b.rule.beforeStep(b)
	for k, i := range idx {
		b.rule.update(b, i, gs[k], lr)
	}
}

// clip mirrors _clip_gradients (tf.clip_by_norm for clipnorm).
func (b *baseOptimizer) clip(gs [][]float64) {
	switch {
	case b.clipnorm > 0:
		for _, g := range gs {
			s := 0.0
			for _, x := range g {
				s += x * x
			}
			norm := math.Sqrt(s)
			den := math.Max(norm, b.clipnorm)
			for j := range g {
				g[j] = g[j] * b.clipnorm / den
			}
		}
	case b.globalClipnorm > 0:
		s := 0.0
		for _, g := range gs {
			for _, x := range g {
				s += x * x
			}
		}
		norm := math.Sqrt(s)
		scale := b.globalClipnorm * math.Min(1/norm, 1/b.globalClipnorm)
		if math.IsInf(norm, 0) || math.IsNaN(norm) {
			scale = math.NaN() // scale + (norm - norm), as Keras
		}
		for _, g := range gs {
			for j := range g {
				g[j] *= scale
			}
		}
	case b.clipvalue > 0:
		for _, g := range gs {
			for j := range g {
				g[j] = clip(g[j], -b.clipvalue, b.clipvalue)
			}
		}
	}
}

// updateEMA mirrors _update_model_variables_moving_average and the
// periodic overwrite of the model variables by their averages.
func (b *baseOptimizer) updateEMA() {
	it := b.Iterations()
	m := 0.0
	if it != 0 {
		m = float64(float32(b.emaMomentum))
	}
	for i, v := range b.vars {
		avg := b.averages[i].Value.Data
		for j, x := range v.Value.Data {
			avg[j] = float32(m*float64(avg[j]) + (1-m)*float64(x))
		}
	}
	if b.emaOverwrite > 0 && (it+1)%int64(b.emaOverwrite) == 0 {
		for i, v := range b.vars {
			copy(v.Value.Data, b.averages[i].Value.Data)
		}
	}
}

// FinalizeVariableValues mirrors finalize_variable_values: with use_ema
// it overwrites the model variables with their moving averages (Keras's
// fit does this after the last epoch).
func (b *baseOptimizer) FinalizeVariableValues() {
	if !b.useEMA || !b.built {
		return
	}
	for i, v := range b.vars {
		copy(v.Value.Data, b.averages[i].Value.Data)
	}
	touchAll(b.vars)
}

func (b *baseOptimizer) GetConfig() kerasjson.Config {
	c := kerasjson.Config{
		"name":                        b.name,
		"weight_decay":                nil,
		"clipnorm":                    nil,
		"global_clipnorm":             nil,
		"clipvalue":                   nil,
		"use_ema":                     b.useEMA,
		"ema_momentum":                b.emaMomentum,
		"ema_overwrite_frequency":     nil,
		"loss_scale_factor":           nil,
		"gradient_accumulation_steps": nil,
	}
	if b.sched != nil {
		o := b.sched.Object()
		c["learning_rate"] = map[string]any{"module": "keras.optimizers.schedules", "class_name": o.ClassName, "config": map[string]any(o.Config), "registered_name": nil}
	} else {
		c["learning_rate"] = b.lr
	}
	if b.hasWD {
		c["weight_decay"] = b.wd
	}
	for k, v := range map[string]float64{"clipnorm": b.clipnorm, "global_clipnorm": b.globalClipnorm, "clipvalue": b.clipvalue, "loss_scale_factor": b.lossScaleFactor} {
		if v != 0 {
			c[k] = v
		}
	}
	if b.emaOverwrite > 0 {
		c["ema_overwrite_frequency"] = b.emaOverwrite
	}
	if b.accumSteps > 0 {
		c["gradient_accumulation_steps"] = b.accumSteps
	}
	for k, v := range b.rule.config() {
		c[k] = v
	}
	return c
}

// optimizerClass is a Keras optimizer class: its default learning rate
// and Keras-3 snake_case name, the arguments its own rule takes, and a
// constructor.
type optimizerClass struct {
	defaultName string
	defaultLR   float64
	args        []string
	make        func(a *optArgs) (updateRule, error)
}

// optArgs reads an optimizer's own arguments from its config, recording
// the first error.
type optArgs struct {
	c   kerasjson.Config
	err error
}

func (a *optArgs) float(key string, def float64) float64 {
	v, err := a.c.Float(key, def)
	if err != nil && a.err == nil {
		a.err = err
	}
	return v
}

func (a *optArgs) bool(key string, def bool) bool {
	v, err := a.c.Bool(key, def)
	if err != nil && a.err == nil {
		a.err = err
	}
	return v
}

// baseArgs are BaseOptimizer's keyword arguments.
var baseArgs = []string{"name", "learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps"}

// keras2Ignored are Keras 2 arguments that do not change the update.
var keras2Ignored = map[string]bool{"jit_compile": true, "is_legacy_optimizer": true, "mesh": true}

// NewOptimizer builds an optimizer from its serialized form: a Keras 3
// config, a Keras 2 one (tf.keras "Custom>Adam", "lr" for the learning
// rate, and "decay", applied with Keras 2's legacy semantics
// lr / (1 + decay * iterations)), or a bare name ("adam"). A
// LossScaleOptimizer wraps its inner optimizer. Arguments it does not
// know are an error, as in Keras.
func NewOptimizer(o *kerasjson.Object) (Optimizer, error) {
	if o == nil {
		return nil, fmt.Errorf("train: no optimizer given")
	}
	class := strings.TrimPrefix(o.ClassName, "Custom>")
	if class == "LossScaleOptimizer" || class == "LossScaleOptimizerV3" || class == "LossScaleOptimizerV1" {
		return newLossScaleOptimizer(o.Config)
	}
	if c, ok := optimizerAliases[class]; ok {
		class = c
	}
	spec, ok := optimizerClasses[class]
	if !ok {
		return nil, fmt.Errorf("train: unsupported optimizer %q", o.ClassName)
	}
	c := kerasjson.Config{}
	for k, v := range o.Config {
		c[k] = v
	}
	if c.Has("lr") && !c.Has("learning_rate") {
		c["learning_rate"] = c["lr"]
	}
	delete(c, "lr")
	if class == "AdamW" && !c.Has("weight_decay") {
		c["weight_decay"] = 0.004
	}
	known := map[string]bool{"decay": true}
	for _, k := range baseArgs {
		known[k] = true
	}
	for _, k := range spec.args {
		known[k] = true
	}
	var unknown []string
	for k := range c {
		if !known[k] && !keras2Ignored[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("train: optimizer %s: unsupported arguments %s", o.ClassName, strings.Join(unknown, ", "))
	}
	b, err := newBase(class, spec, c)
	if err != nil {
		return nil, fmt.Errorf("train: optimizer %s: %v", o.ClassName, err)
	}
	return b, nil
}

func newBase(class string, spec optimizerClass, c kerasjson.Config) (*baseOptimizer, error) {
	a := &optArgs{c: c}
	name, err := c.String("name", spec.defaultName)
	if err != nil {
		return nil, err
	}
	b := &baseOptimizer{name: name, className: class}
	if lrObj, isObj := c["learning_rate"].(map[string]any); isObj {
		o, err := kerasjson.DecodeObject(lrObj)
		if err != nil {
			return nil, fmt.Errorf("learning_rate: %v", err)
		}
		if b.sched, err = NewSchedule(o); err != nil {
			return nil, err
		}
	} else {
		b.lr = float64(float32(a.float("learning_rate", spec.defaultLR)))
		b.lrVar = scalarVar("learning_rate", b.lr)
	}
	b.iterVar = scalarVar("iteration", 0)
	b.decay = a.float("decay", 0)
	if b.decay < 0 {
		return nil, fmt.Errorf("decay %v must be >= 0", b.decay)
	}
	if c.Has("weight_decay") {
		b.hasWD, b.wd = true, a.float("weight_decay", 0)
	}
	b.clipnorm = a.float("clipnorm", 0)
	b.clipvalue = a.float("clipvalue", 0)
	b.globalClipnorm = a.float("global_clipnorm", 0)
	set := 0
	for _, k := range []string{"clipnorm", "clipvalue", "global_clipnorm"} {
		if c.Has(k) {
			set++
		}
	}
	if set > 1 {
		return nil, fmt.Errorf("only one of clipnorm, clipvalue and global_clipnorm can be set")
	}
	b.useEMA = a.bool("use_ema", false)
	b.emaMomentum = a.float("ema_momentum", 0.99)
	if b.useEMA && (b.emaMomentum < 0 || b.emaMomentum > 1) {
		return nil, fmt.Errorf("ema_momentum %v must be in [0, 1]", b.emaMomentum)
	}
	if f := a.float("ema_overwrite_frequency", 0); b.useEMA && f > 0 {
		b.emaOverwrite = int(f)
	}
	b.lossScaleFactor = a.float("loss_scale_factor", 0)
	if s := a.float("gradient_accumulation_steps", 0); s != 0 {
		if s < 2 || s != math.Trunc(s) {
			return nil, fmt.Errorf("gradient_accumulation_steps %v must be an integer >= 2", s)
		}
		b.accumSteps = int(s)
	}
	if a.err != nil {
		return nil, a.err
	}
	b.rule, err = spec.make(a)
	if err != nil {
		return nil, err
	}
	if a.err != nil {
		return nil, a.err
	}
	return b, nil
}

// optimizerAliases maps the string identifiers Keras accepts to classes.
var optimizerAliases = map[string]string{
	"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
	"adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "lion": "Lion", "ftrl": "Ftrl",
	"adafactor": "Adafactor",
}
