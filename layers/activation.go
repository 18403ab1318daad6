package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Activation is keras.layers.Activation: applies an activation function
// (softmax, log_softmax, sparsemax and glu over the last axis).
type Activation struct {
	Base
	Activation *activation
}

func init() { Register("Activation", newActivation, Supports{Inference: true, Training: true}) }

func newActivation(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	o, err := spec.Config.Object("activation")
	if err != nil {
		return nil, err
	}
	a, err := lookupActivation(o)
	if err != nil {
		return nil, err
	}
	return &Activation{Base: b, Activation: a}, nil
}

// Build returns the input shape.
func (l *Activation) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	return activationShape(&l.Base, l.Activation, s)
}

// activationShape returns the output shape of a applied to shape s.
func activationShape(b *Base, a *activation, s []int) ([][]int, error) {
	out := copyShape(s)
	if len(out) > 0 {
		if err := a.checkAxis(out[len(out)-1]); err != nil {
			return nil, ShapeError(b, "%v", err)
		}
		if out[len(out)-1] >= 0 {
			out[len(out)-1] = a.outDim(out[len(out)-1])
		}
	}
	return [][]int{out}, nil
}

// Weights returns none.
func (l *Activation) Weights() []*runtime.Variable { return nil }

// Forward applies the activation.
func (l *Activation) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	if x := in[0]; x.Rank() > 0 {
		if err := l.Activation.checkAxis(x.Shape[x.Rank()-1]); err != nil {
			return nil, nil, ShapeError(&l.Base, "%v", err)
		}
	}
	return activate(ctx, l.Activation, in[0])
}

// activate applies a to x, returning the backward function when ctx.Grad.
func activate(ctx *runtime.Context, a *activation, x *runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	axis := 1
	if x.Rank() > 0 {
		axis = x.Shape[x.Rank()-1]
	}
	shape := copyShape(x.Shape)
	if len(shape) > 0 {
		shape[len(shape)-1] = a.outDim(axis)
	}
	y := &runtime.Tensor{Shape: shape, Data: a.apply(x.Data, axis)}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: activationGrad(a, x.Data, y.Data, gout[0].Data, axis)}}, nil
	}, nil
}
