package layers

import (
	"github.com/kerasrun/kerasrun/runtime"
)

// NormParams holds the parameters that BatchNormalization,
// LayerNormalization and GroupNormalization share (Keras gives them the
// same arguments but no base class): epsilon, center, scale and the gamma
// and beta variables they switch on. The *_initializer arguments are not
// read, as the weights come from the file; train reads the
// gamma/beta regularizers from the config itself.
type NormParams struct {
	Epsilon       float64
	Center, Scale bool
	Gamma, Beta   *runtime.Variable
}

// normParams reads epsilon (default eps), center and scale.
func (r *argReader) normParams(eps float64) NormParams {
	return NormParams{
		Epsilon: r.Float("epsilon", eps),
		Center:  r.Bool("center", true),
		Scale:   r.Bool("scale", true),
	}
}

// normAxesArg reads axis, an integer or a list, by default the last axis
// (LayerNormalization, RMSNormalization, UnitNormalization).
func (r *argReader) normAxesArg() []int {
	return r.Ints("axis", 0, []int{-1})
}

// normAxisArg reads axis as one feature axis (BatchNormalization,
// GroupNormalization); tf-keras writes it as a list of one.
func (r *argReader) normAxisArg() int {
	axes := r.normAxesArg()
	r.check(len(axes) == 1, "axis", "must be one integer, got %v", axes)
	if len(axes) != 1 {
		return -1
	}
	return axes[0]
}

// buildAffine creates gamma (ones) when withGamma and beta (zeros) when
// withBeta, of the given shape, unless either exists already.
func (p *NormParams) buildAffine(shape []int, withGamma, withBeta bool) {
	if p.Gamma != nil || p.Beta != nil {
		return
	}
	if withGamma {
		p.Gamma = filledVariable("gamma", shape, true, 1)
	}
	if withBeta {
		p.Beta = filledVariable("beta", shape, true, 0)
	}
}

// affineWeights returns gamma and beta, those that exist.
func (p *NormParams) affineWeights() []*runtime.Variable {
	return existing(p.Gamma, p.Beta)
}

// filledVariable is a variable of the shape with every value fill.
func filledVariable(name string, shape []int, trainable bool, fill float32) *runtime.Variable {
	t := runtime.NewTensor(shape...)
	if fill != 0 {
		for i := range t.Data {
			t.Data[i] = fill
		}
	}
	return &runtime.Variable{Name: name, Value: t, Trainable: trainable}
}

// existing returns the variables that are not nil, in order.
func existing(vs ...*runtime.Variable) []*runtime.Variable {
	var out []*runtime.Variable
	for _, v := range vs {
		if v != nil {
			out = append(out, v)
		}
	}
	return out
}

// checkBuiltShape checks, in Forward, that each variable has the shape the
// input x gives it.
func checkBuiltShape(b *Base, shape, x []int, vs ...*runtime.Variable) error {
	for _, v := range vs {
		if v != nil && !equalShapes(v.Value.Shape, shape) {
			return ShapeError(b, "built for %s, called on %s", runtime.FormatShape(v.Value.Shape), runtime.FormatShape(x))
		}
	}
	return nil
}
