package kerasrun

import (
	"fmt"

	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
)

// lossForward is a forward pass as the loss sees it. As in Keras's
// TensorFlow backend, where a softmax or sigmoid caches its input on its
// output (_keras_logits) and the crossentropies compute from it, an output
// made by such an activation also carries its logits.
type lossForward struct {
	pred   []*Tensor // the outputs, as Predict returns them
	logits []*Tensor // the logits of softmax/sigmoid outputs, else nil
	acts   []string  // "softmax" or "sigmoid" where logits[i] is set
	// back takes, per output, the gradient with respect to the logits
	// where acts[i] is set, else with respect to the output.
	back runtime.Backward
	// layerLoss is the sum of the losses layers added during the pass
	// (ActivityRegularization), part of Keras's reported loss in training
	// and evaluation alike; the layers' backward passes already hold its
	// gradient.
	layerLoss float64
}

// forwardLoss runs the model for a loss computation (and, with ctx.Grad,
// records its backward pass).
func (m *Model) forwardLoss(ctx *runtime.Context, x []*Tensor) (*lossForward, error) {
	added := len(ctx.Losses)
	raw, acts, back, err := m.net.ForwardLogits(ctx, x)
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", m.info.Path, err)
	}
	fw := &lossForward{pred: make([]*Tensor, len(raw)), logits: make([]*Tensor, len(raw)), acts: acts, back: back}
	for _, l := range ctx.Losses[added:] {
		fw.layerLoss += l
	}
	for i, act := range acts {
		fw.pred[i] = raw[i]
		if act == "" {
			continue
		}
		p, err := layers.ApplyLogitsActivation(act, raw[i])
		if err != nil {
			return nil, fmt.Errorf("kerasrun: %s: output %q: %w", m.info.Path, m.net.OutputNames[i], err)
		}
		fw.pred[i], fw.logits[i] = p, raw[i]
	}
	return fw, nil
}

// outputGrads turns the loss gradients into what back takes: for a
// softmax/sigmoid output whose loss did not use the logits, the gradient
// goes through the activation here.
func (fw *lossForward) outputGrads(grads []*Tensor, onLogits []bool) ([]*Tensor, error) {
	for i, act := range fw.acts {
		if act == "" || onLogits[i] || grads[i] == nil {
			continue
		}
		g, err := layers.LogitsActivationGrad(act, fw.logits[i], fw.pred[i], grads[i])
		if err != nil {
			return nil, err
		}
		grads[i] = g
	}
	return grads, nil
}
