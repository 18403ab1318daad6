package train

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
)

// Schedule is a Keras learning-rate schedule: the learning rate at a given
// optimizer iteration.
type Schedule interface {
	Rate(step int64) float64
	// Object returns the schedule's serialized form, as Keras writes it in
	// an optimizer's "learning_rate".
	Object() *kerasjson.Object
}

type schedule struct {
	obj  *kerasjson.Object
	rate func(step float64) float64
}

func (s *schedule) Rate(step int64) float64   { return s.rate(float64(step)) }
func (s *schedule) Object() *kerasjson.Object { return s.obj }

// f32 rounds to float32, where Keras's float32 arithmetic decides a
// discrete outcome (a floor).
func f32(x float64) float64 { return float64(float32(x)) }

// NewSchedule builds a learning-rate schedule from its serialized form:
// ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
// InverseTimeDecay, CosineDecay (with warmup) or CosineDecayRestarts.
func NewSchedule(o *kerasjson.Object) (Schedule, error) {
	if o == nil {
		return nil, fmt.Errorf("train: no schedule given")
	}
	c := o.Config
	var firstErr error
	num := func(key string, def float64, required bool) float64 {
		if required && !c.Has(key) && firstErr == nil {
			firstErr = fmt.Errorf("missing %q", key)
		}
		v, err := c.Float(key, def)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	flag := func(key string) bool {
		v, err := c.Bool(key, false)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	s := &schedule{obj: o}
	switch o.ClassName {
	case "ExponentialDecay":
		lr, steps, rate, stair := num("initial_learning_rate", 0, true), num("decay_steps", 0, true), num("decay_rate", 0, true), flag("staircase")
		if firstErr == nil && steps <= 0 {
			firstErr = fmt.Errorf("decay_steps %v must be > 0", steps)
		}
		s.rate = func(step float64) float64 {
			p := step / steps
			if stair {
				p = math.Floor(f32(p))
			}
			return lr * math.Pow(rate, p)
		}
	case "InverseTimeDecay":
		lr, steps, rate, stair := num("initial_learning_rate", 0, true), num("decay_steps", 0, true), num("decay_rate", 0, true), flag("staircase")
		if firstErr == nil && steps <= 0 {
			firstErr = fmt.Errorf("decay_steps %v must be > 0", steps)
		}
		s.rate = func(step float64) float64 {
			p := step / steps
			if stair {
				p = math.Floor(f32(p))
			}
			return lr / (1 + rate*p)
		}
	case "PolynomialDecay":
		lr, steps := num("initial_learning_rate", 0, true), num("decay_steps", 0, true)
		end, power, cycle := num("end_learning_rate", 0.0001, false), num("power", 1, false), flag("cycle")
		if firstErr == nil && steps <= 0 {
			firstErr = fmt.Errorf("decay_steps %v must be > 0", steps)
		}
		s.rate = func(step float64) float64 {
			ds := steps
			if cycle {
				mult := 1.0
				if step != 0 {
					mult = math.Ceil(f32(step / steps))
				}
				ds *= mult
			} else {
				step = math.Min(step, steps)
			}
			return (lr-end)*math.Pow(1-step/ds, power) + end
		}
	case "CosineDecay":
		lr, steps, alpha := num("initial_learning_rate", 0, true), num("decay_steps", 0, true), num("alpha", 0, false)
		warm := num("warmup_steps", 0, false)
		hasTarget := c.Has("warmup_target")
		target := num("warmup_target", 0, false)
		if firstErr == nil && steps <= 0 {
			firstErr = fmt.Errorf("decay_steps %v must be > 0", steps)
		}
		decay := func(step, from float64) float64 {
			cos := 0.5 * (1 + math.Cos(math.Pi*step/steps))
			return from * ((1-alpha)*cos + alpha)
		}
		s.rate = func(step float64) float64 {
			if !hasTarget {
				return decay(math.Min(step, steps), lr)
			}
			step = math.Min(step, steps+warm)
			if step < warm {
				return (target-lr)*(step/warm) + lr
			}
			return decay(step-warm, target)
		}
	case "CosineDecayRestarts":
		lr, first := num("initial_learning_rate", 0, true), num("first_decay_steps", 0, true)
		tMul, mMul, alpha := num("t_mul", 2, false), num("m_mul", 1, false), num("alpha", 0, false)
		if firstErr == nil && first <= 0 {
			firstErr = fmt.Errorf("first_decay_steps %v must be > 0", first)
		}
		s.rate = func(step float64) float64 {
			frac := step / first
			var restart float64
			if tMul == 1 {
				restart = math.Floor(f32(frac))
				frac -= restart
			} else {
				restart = math.Floor(f32(float64(float32(math.Log(f32(1-frac*(1-tMul))))) / f32(math.Log(tMul))))
				sum := (1 - math.Pow(tMul, restart)) / (1 - tMul)
				frac = (frac - sum) / math.Pow(tMul, restart)
			}
			cos := 0.5 * math.Pow(mMul, restart) * (1 + math.Cos(math.Pi*frac))
			return lr * ((1-alpha)*cos + alpha)
		}
	case "PiecewiseConstantDecay":
		bounds, err := floatsArg(c, "boundaries", nil)
		if err != nil {
			return nil, fmt.Errorf("train: schedule %s: %v", o.ClassName, err)
		}
		values, err := floatsArg(c, "values", nil)
		if err != nil {
			return nil, fmt.Errorf("train: schedule %s: %v", o.ClassName, err)
		}
		if len(bounds) == 0 || len(bounds) != len(values)-1 {
			return nil, fmt.Errorf("train: schedule %s: %d boundaries need %d values, got %d", o.ClassName, len(bounds), len(bounds)+1, len(values))
		}
		s.rate = func(step float64) float64 {
			// Boundaries are cast to the (integer) step's dtype.
			for i, b := range bounds {
				if step <= math.Trunc(b) {
					return values[i]
				}
			}
			return values[len(values)-1]
		}
	default:
		return nil, fmt.Errorf("train: unsupported learning-rate schedule %q", o.ClassName)
	}
	if firstErr != nil {
		return nil, fmt.Errorf("train: schedule %s: %v", o.ClassName, firstErr)
	}
	return s, nil
}
