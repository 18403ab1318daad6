package train

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// LossScaleOptimizer is Keras's dynamic loss scaling wrapper. The trainer
// multiplies the loss by LossScale before differentiating and hands the
// scaled gradients to Apply, which unscales them, skips the step when any
// is not finite (halving the scale), and doubles the scale after
// dynamic_growth_steps finite steps.
type LossScaleOptimizer struct {
	name         string
	inner        Optimizer
	initialScale float64
	growthSteps  int64
	built        bool
	// own variables: iteration and learning_rate (Keras creates them but
	// never advances them), step_counter, dynamic_scale.
	iterVar, lrVar, counter, scale *runtime.Variable
}

func newLossScaleOptimizer(c kerasjson.Config) (Optimizer, error) {
	innerObj, err := c.Object("inner_optimizer")
	if err != nil || innerObj == nil {
		return nil, fmt.Errorf("train: LossScaleOptimizer: missing inner_optimizer (%v)", err)
	}
	if dyn, err := c.Bool("dynamic", true); err != nil || !dyn {
		return nil, fmt.Errorf("train: LossScaleOptimizer: dynamic=false is not supported (Keras 3 refuses it too)")
	}
	for k := range c {
		switch k {
		case "name", "inner_optimizer", "initial_scale", "dynamic_growth_steps", "dynamic":
		default:
			return nil, fmt.Errorf("train: LossScaleOptimizer: unsupported argument %s", k)
		}
	}
	inner, err := NewOptimizer(innerObj)
	if err != nil {
		return nil, err
	}
	o := &LossScaleOptimizer{inner: inner}
	if o.name, err = c.String("name", "loss_scale_optimizer"); err != nil {
		return nil, err
	}
	if o.initialScale, err = c.Float("initial_scale", 32768); err != nil {
		return nil, err
	}
	g, err := c.Int("dynamic_growth_steps", 2000)
	if err != nil || g < 1 {
		return nil, fmt.Errorf("train: LossScaleOptimizer: dynamic_growth_steps %d: %v", g, err)
	}
	o.growthSteps = int64(g)
	o.iterVar = scalarVar("iteration", 0)
	o.lrVar = scalarVar("learning_rate", 0)
	return o, nil
}

// Name returns the wrapper's name.
func (o *LossScaleOptimizer) Name() string { return o.name }

// Inner returns the wrapped optimizer.
func (o *LossScaleOptimizer) Inner() Optimizer { return o.inner }

// LossScale returns the factor the loss must be multiplied by.
func (o *LossScaleOptimizer) LossScale() float64 {
	if !o.built {
		return o.initialScale
	}
	return float64(o.scale.Value.Data[0])
}

// Build creates step_counter and dynamic_scale, then builds the inner
// optimizer.
func (o *LossScaleOptimizer) Build(vars []*runtime.Variable, paths []string) error {
	if o.built {
		return fmt.Errorf("train: optimizer %s is already built", o.name)
	}
	o.counter = scalarVar("step_counter", 0)
	o.scale = scalarVar("dynamic_scale", o.initialScale)
	if err := o.inner.Build(vars, paths); err != nil {
		return err
	}
	o.built = true
	return nil
}

// Apply unscales the gradients and applies them with the inner optimizer
// when all are finite; otherwise it halves the scale and skips the step.
func (o *LossScaleOptimizer) Apply(vars []*runtime.Variable, grads []*runtime.Tensor) error {
	if !o.built {
		if err := o.Build(vars, nil); err != nil {
			return err
		}
	}
	finite := true
	for _, g := range grads {
		if g == nil {
			continue
		}
		for _, v := range g.Data {
			if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
				finite = false
			}
		}
	}
	if !finite {
		o.counter.Value.Data[0] = 0
		o.scale.Value.Data[0] *= 0.5
		return nil
	}
	s := o.scale.Value.Data[0]
	un := make([]*runtime.Tensor, len(grads))
	for i, g := range grads {
		if g == nil {
			continue
		}
		u := g.Clone()
		for j := range u.Data {
			u.Data[j] /= s
		}
		un[i] = u
	}
	if err := o.inner.Apply(vars, un); err != nil {
		return err
	}
	if int64(o.counter.Value.Data[0]) == o.growthSteps-1 {
		o.counter.Value.Data[0] = 0
		o.scale.Value.Data[0] *= 2
	} else {
		o.counter.Value.Data[0]++
	}
	return nil
}

// Variables returns the wrapper's variables, then the inner optimizer's.
func (o *LossScaleOptimizer) Variables() []*runtime.Variable {
	out := []*runtime.Variable{o.iterVar, o.lrVar}
	if o.built {
		out = append(out, o.counter, o.scale)
	}
	return append(out, o.inner.Variables()...)
}

// SetVariables loads the wrapper's four variables and the inner
// optimizer's; iterations is the inner optimizer's count.
func (o *LossScaleOptimizer) SetVariables(values []*runtime.Tensor, iterations int64) error {
	if !o.built {
		return fmt.Errorf("train: optimizer %s: SetVariables before Build", o.name)
	}
	if len(values) < 4 {
		return fmt.Errorf("train: optimizer %s: %d values, want at least 4", o.name, len(values))
	}
	own := []*runtime.Variable{o.iterVar, o.lrVar, o.counter, o.scale}
	for i, v := range own {
		if values[i] == nil || len(values[i].Data) != 1 {
			return fmt.Errorf("train: optimizer %s: variable %s must be a scalar", o.name, v.Name)
		}
	}
	if err := o.inner.SetVariables(values[4:], iterations); err != nil {
		return err
	}
	for i, v := range own {
		v.Value.Data[0] = values[i].Data[0]
	}
	return nil
}

// Iterations returns the inner optimizer's iteration count.
func (o *LossScaleOptimizer) Iterations() int64 { return o.inner.Iterations() }

// LearningRate returns the inner optimizer's learning rate.
func (o *LossScaleOptimizer) LearningRate() float64 { return o.inner.LearningRate() }

// SetLearningRate sets the inner optimizer's learning rate.
func (o *LossScaleOptimizer) SetLearningRate(lr float64) error { return o.inner.SetLearningRate(lr) }

// GetConfig returns the Keras 3 config with the inner optimizer nested.
func (o *LossScaleOptimizer) GetConfig() kerasjson.Config {
	return kerasjson.Config{
		"name":                 o.name,
		"inner_optimizer":      map[string]any{"module": "keras.optimizers", "class_name": innerClass(o.inner), "config": map[string]any(o.inner.GetConfig()), "registered_name": nil},
		"initial_scale":        o.initialScale,
		"dynamic_growth_steps": o.growthSteps,
	}
}

func innerClass(o Optimizer) string {
	if b, ok := o.(*baseOptimizer); ok {
		return b.className
	}
	return "LossScaleOptimizer"
}
