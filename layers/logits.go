package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/runtime"
)

// Keras's TensorFlow backend caches the input of every softmax and sigmoid
// on the output tensor (_keras_logits), and its binary, categorical and
// sparse categorical crossentropies compute from those logits when they get
// such a tensor, skipping the probabilities' epsilon clipping. In fit() and
// evaluate() (graph mode) a model output made by a Dense(activation=
// "softmax"), an Activation("sigmoid") and the like therefore trains on
// the logits. This file lets the training code see those logits.

// LogitsLayer is implemented by layers whose output may be a softmax or
// sigmoid of a pre-activation, as Keras's activations compute it.
type LogitsLayer interface {
	Layer
	// LogitsActivation returns "softmax" (over the last axis) or
	// "sigmoid" when the layer's output is that function of a
	// pre-activation, "" otherwise.
	LogitsActivation() string
	// ForwardLogits is Forward without that final activation: it returns
	// the pre-activation, and a Backward taking gradients with respect to
	// it.
	ForwardLogits(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error)
}

func logitsActivationName(a *activation) string {
	if a != nil && (a.name == "softmax" || a.name == "sigmoid") {
		return a.name
	}
	return ""
}

// LogitsActivation returns the Dense layer's activation when it is softmax
// or sigmoid.
func (l *Dense) LogitsActivation() string { return logitsActivationName(l.Activation) }

// ForwardLogits computes the affine map without the activation.
func (l *Dense) ForwardLogits(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return l.forward(ctx, in, activations["linear"])
}

// LogitsActivation returns the layer's activation when it is softmax or
// sigmoid.
func (l *Activation) LogitsActivation() string { return logitsActivationName(l.Activation) }

// ForwardLogits returns the input: the logits of the activation.
func (l *Activation) ForwardLogits(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	if len(in) != 1 {
		return nil, nil, ShapeError(&l.Base, "expects one input, got %d", len(in))
	}
	if !ctx.Grad {
		return []*runtime.Tensor{in[0]}, nil, nil
	}
	return []*runtime.Tensor{in[0]}, func(g []*runtime.Tensor) ([]*runtime.Tensor, error) { return g, nil }, nil
}

// logitsOp runs a LogitsLayer's ForwardLogits in place of its Forward.
type logitsOp struct{ l LogitsLayer }

func (o logitsOp) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return o.l.ForwardLogits(ctx, in)
}

// ForwardLogits runs the model as Forward does, except that each output
// made by a LogitsLayer with a softmax or sigmoid activation, and read by
// no other layer, comes back as its pre-activation: acts[i] names that
// activation ("" for an output returned as it is), and back takes the
// gradient with respect to the pre-activation for those outputs.
// ApplyLogitsActivation turns such an output into what Forward returns.
func (m *Model) ForwardLogits(ctx *runtime.Context, in []*runtime.Tensor) (out []*runtime.Tensor, acts []string, back runtime.Backward, err error) {
	if len(in) != len(m.InputShapes) {
		return nil, nil, nil, fmt.Errorf("model %s takes %d inputs, got %d", m.Name, len(m.InputShapes), len(in))
	}
	for i, x := range in {
		if !shapeCompatible(m.InputShapes[i], x.Shape) {
			return nil, nil, nil, fmt.Errorf("input %q expects shape %s, got %s", m.InputNames[i],
				runtime.FormatShape(m.InputShapes[i]), runtime.FormatShape(x.Shape))
		}
	}
	g := m.graph // shares lastUse; only the copied Nodes slice changes
	g.Nodes = append([]runtime.Node(nil), m.graph.Nodes...)
	acts = make([]string, len(g.Outputs))
	for i, v := range g.Outputs {
		k, act := m.logitsNode(v)
		if act == "" {
			continue
		}
		acts[i] = act
		g.Nodes[k].Op = logitsOp{g.Nodes[k].Op.(LogitsLayer)}
	}
	out, trace, err := g.Run(ctx, in)
	if err != nil {
		return nil, nil, nil, err
	}
	if trace != nil {
		back = trace.Backward
	}
	return out, acts, back, nil
}

// logitsNode returns the node producing graph value v and its logits
// activation, or "" when v is not a softmax/sigmoid output read only as a
// model output (once).
func (m *Model) logitsNode(v int) (int, string) {
	uses := 0
	for _, o := range m.graph.Outputs {
		if o == v {
			uses++
		}
	}
	if uses != 1 {
		return 0, ""
	}
	producer := -1
	for k, n := range m.graph.Nodes {
		for _, r := range n.In {
			if r == v {
				return 0, ""
			}
		}
		for _, w := range n.Out {
			if w == v {
				producer = k
			}
		}
	}
	if producer < 0 || len(m.graph.Nodes[producer].Out) != 1 {
		return 0, ""
	}
	ll, ok := m.graph.Nodes[producer].Op.(LogitsLayer)
	if !ok {
		return 0, ""
	}
	return producer, ll.LogitsActivation()
}

// ApplyLogitsActivation returns act(logits) ("softmax" over the last axis
// or "sigmoid"), computed as the layers compute it.
func ApplyLogitsActivation(act string, logits *runtime.Tensor) (*runtime.Tensor, error) {
	a, ok := activations[act]
	if !ok || logitsActivationName(a) == "" || logits.Rank() == 0 {
		return nil, fmt.Errorf("layers: no logits activation %q for shape %s", act, runtime.FormatShape(logits.Shape))
	}
	n := logits.Shape[logits.Rank()-1]
	return &runtime.Tensor{Shape: copyShape(logits.Shape), Data: a.apply(logits.Data, n)}, nil
}

// LogitsActivationGrad maps the gradient gy with respect to y =
// act(logits) to the gradient with respect to the logits.
func LogitsActivationGrad(act string, logits, y, gy *runtime.Tensor) (*runtime.Tensor, error) {
	a, ok := activations[act]
	if !ok || logitsActivationName(a) == "" || logits.Rank() == 0 || len(y.Data) != len(logits.Data) || len(gy.Data) != len(logits.Data) {
		return nil, fmt.Errorf("layers: no logits activation gradient %q for shape %s", act, runtime.FormatShape(logits.Shape))
	}
	n := logits.Shape[logits.Rank()-1]
	return &runtime.Tensor{Shape: copyShape(logits.Shape), Data: activationGrad(a, logits.Data, y.Data, gy.Data, n)}, nil
}
