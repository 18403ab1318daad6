package train

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
)

// Trainer runs the training and test steps of one compiled model and the
// loops over them (Fit, Evaluate), as Keras's Trainer
// (keras/src/trainers/trainer.py and the TensorFlow backend's train_step
// and test_step). The caller fills it from the model; its zero value is
// not usable.
type Trainer struct {
	// Net is the model's layer graph.
	Net *layers.Model
	// Compiled holds the loss, the metrics and their trackers.
	Compiled *Compiled
	// Regularizers are the weight penalties added to the loss.
	Regularizers []RegularizedWeight
	// Optimizer applies the gradients; a Trainer that only evaluates
	// leaves it nil.
	Optimizer Optimizer
	// Variables are the trainable variables in Keras's order (the order
	// the Optimizer was built with).
	Variables []*runtime.Variable
	// Mu guards the model's weights: a training step holds it for
	// writing, evaluation for reading. nil: no locking.
	Mu *sync.RWMutex
	// Save writes the model to path (the format named by its extension);
	// ModelCheckpoint calls it through Run.Save. The caller injects it so
	// that train never imports the file formats.
	Save func(path string) error
	// State carries the states of stateful=True layers from batch to
	// batch and from call to call, as Keras keeps them in the layers; nil
	// makes those layers refuse to run.
	State *runtime.State

	rng *rand.Rand // dropout and noise in training
}

func (t *Trainer) lock() func() {
	if t.Mu == nil {
		return func() {}
	}
	t.Mu.Lock()
	return t.Mu.Unlock
}

func (t *Trainer) rlock() func() {
	if t.Mu == nil {
		return func() {}
	}
	t.Mu.RLock()
	return t.Mu.RUnlock
}

// TrainStep runs one optimizer step on a batch (Keras's train_step): the
// forward pass in training mode, the compiled loss plus the
// regularization penalty and the layers' own losses, the backward pass,
// the optimizer update, then the updates that are not gradients
// (BatchNormalization's moving statistics). The loss trackers and
// metrics of Compiled take the batch.
func (t *Trainer) TrainStep(x, y []*runtime.Tensor, sampleWeight *runtime.Tensor) error {
	if t.Optimizer == nil {
		panic("train: TrainStep on a Trainer without an optimizer")
	}
	if err := t.CheckBatch(x, y); err != nil {
		return err
	}
	defer t.lock()()
	if t.rng == nil {
		t.rng = rand.New(rand.NewPCG(1, 2))
	}
	// Training needs the weights' gradients only, not the inputs'.
	ctx := &runtime.Context{Training: true, Grad: true, SkipInputGrads: true, Rand: t.rng, Grads: map[*runtime.Variable]*runtime.Tensor{}, State: t.State}
	fw, err := forwardLoss(t.Net, ctx, x)
	if err != nil {
		return err
	}
	// The one place the regularization penalty is computed: its value
	// joins the loss, its gradient the weights' gradients.
	penaltyGrads := map[*runtime.Variable]*runtime.Tensor{}
	penalty := Penalty(t.Regularizers, penaltyGrads)
	_, gradOut, onLogits, err := t.Compiled.StepLogits(y, fw.pred, fw.logits, sampleWeight, penalty+fw.layerLoss)
	if err != nil {
		return err
	}
	if gradOut, err = fw.outputGrads(gradOut, onLogits); err != nil {
		return err
	}
	if fw.back == nil {
		return fmt.Errorf("the model recorded no backward pass")
	}
	if _, err := fw.back(gradOut); err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	for _, r := range t.Regularizers {
		if g := penaltyGrads[r.Variable]; g != nil {
			ctx.AccumulateGrad(r.Variable, g)
			delete(penaltyGrads, r.Variable) // a weight regularized twice holds one summed gradient
		}
	}
	grads := make([]*runtime.Tensor, len(t.Variables))
	for i, v := range t.Variables {
		grads[i] = ctx.Grads[v]
	}
	scaleLoss(t.Optimizer, grads)
	if err := t.Optimizer.Apply(t.Variables, grads); err != nil {
		return fmt.Errorf("optimizer: %w", err)
	}
	for _, u := range ctx.Updates {
		copy(u.Variable.Value.Data, u.Value.Data)
		u.Variable.Touch()
	}
	return nil
}

// scaleLoss is the one place the loss is scaled for a LossScaleOptimizer
// (Keras's optimizer.scale_loss before the gradient; its Apply unscales):
// the gradients of the whole loss (compiled losses, penalties and the
// layers' own losses alike) are multiplied by the scale. Keras's scale is
// a power of two (2^15 at first, then doubled and halved), and
// multiplying by one commutes exactly with every sum and product of the
// backward pass, so this equals differentiating the scaled loss, barring
// overflow in between.
func scaleLoss(opt Optimizer, grads []*runtime.Tensor) {
	lso, ok := opt.(*LossScaleOptimizer)
	if !ok || lso.LossScale() == 1 {
		return
	}
	s := float32(lso.LossScale())
	for i, g := range grads {
		if g == nil {
			continue
		}
		scaled := g.Clone()
		for j := range scaled.Data {
			scaled.Data[j] *= s
		}
		grads[i] = scaled
	}
}

// testStep computes the loss and metrics of one batch in inference mode
// (Keras's test_step); penalty is the regularization penalty of the
// current weights.
func (t *Trainer) testStep(x, y []*runtime.Tensor, sampleWeight *runtime.Tensor, penalty float64) error {
	unlock := t.rlock()
	// Keras evaluates in graph mode, where the crossentropies of a
	// softmax/sigmoid output compute from its logits: so does this.
	fw, err := forwardLoss(t.Net, &runtime.Context{State: t.State}, x)
	unlock()
	if err != nil {
		return err
	}
	_, _, _, err = t.Compiled.StepLogits(y, fw.pred, fw.logits, sampleWeight, penalty+fw.layerLoss)
	return err
}

// CheckBatch validates the arrays of one step against the model: one per
// input and per output, data that fits the shape, finite values.
func (t *Trainer) CheckBatch(x, y []*runtime.Tensor) error {
	n := t.Net
	if len(x) != len(n.InputNames) {
		return fmt.Errorf("model takes %d input(s) %v, got %d", len(n.InputNames), n.InputNames, len(x))
	}
	if len(y) != len(n.OutputNames) {
		return fmt.Errorf("model has %d output(s) %v, got %d target array(s)", len(n.OutputNames), n.OutputNames, len(y))
	}
	for i, a := range append(append([]*runtime.Tensor(nil), x...), y...) {
		if a == nil || len(a.Data) != runtime.ShapeSize(a.Shape) || len(a.Shape) == 0 {
			return fmt.Errorf("array %d is empty or its data does not fit its shape", i)
		}
		if j := runtime.FirstNonFinite(a.Data); j >= 0 {
			return fmt.Errorf("array %d: element %d is %v", i, j, a.Data[j])
		}
	}
	return nil
}

// lossForward is a forward pass as the loss sees it. As in Keras's
// TensorFlow backend, where a softmax or sigmoid caches its input on its
// output (_keras_logits) and the crossentropies compute from it, an output
// made by such an activation also carries its logits.
type lossForward struct {
	pred   []*runtime.Tensor // the outputs, as Predict returns them
	logits []*runtime.Tensor // the logits of softmax/sigmoid outputs, else nil
	acts   []string          // "softmax" or "sigmoid" where logits[i] is set
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
func forwardLoss(net *layers.Model, ctx *runtime.Context, x []*runtime.Tensor) (*lossForward, error) {
	added := len(ctx.Losses)
	raw, acts, back, err := net.ForwardLogits(ctx, x)
	if err != nil {
		return nil, err
	}
	fw := &lossForward{pred: make([]*runtime.Tensor, len(raw)), logits: make([]*runtime.Tensor, len(raw)), acts: acts, back: back}
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
			return nil, fmt.Errorf("output %q: %w", net.OutputNames[i], err)
		}
		fw.pred[i], fw.logits[i] = p, raw[i]
	}
	return fw, nil
}

// outputGrads turns the loss gradients into what back takes: for a
// softmax/sigmoid output whose loss did not use the logits, the gradient
// goes through the activation here.
func (fw *lossForward) outputGrads(grads []*runtime.Tensor, onLogits []bool) ([]*runtime.Tensor, error) {
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
