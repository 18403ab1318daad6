package kerasrun

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/train"
)

// The training API is train's (the step, the fit loop, callbacks, the
// progress bar); these aliases keep it under the kerasrun names.
type (
	// FitOptions are the arguments of Keras's model.fit().
	FitOptions = train.FitOptions
	// EvaluateOptions are the arguments of Keras's model.evaluate().
	EvaluateOptions = train.EvaluateOptions
	// History records the logs of every epoch (Keras's History).
	History = train.History
	// Callback is called by Fit at the points Keras calls its callbacks.
	Callback = train.Callback
	// NopCallback implements Callback with methods that do nothing.
	NopCallback = train.NopCallback
	// CallbackFunc adapts a function called at every epoch end.
	CallbackFunc = train.CallbackFunc
	// EarlyStopping stops training when a monitored log stops improving.
	EarlyStopping = train.EarlyStopping
	// ReduceLROnPlateau lowers the learning rate on a plateau.
	ReduceLROnPlateau = train.ReduceLROnPlateau
	// LearningRateScheduler sets the learning rate every epoch.
	LearningRateScheduler = train.LearningRateScheduler
	// TerminateOnNaN stops training on a NaN or infinite loss.
	TerminateOnNaN = train.TerminateOnNaN
	// CSVLogger writes the logs of every epoch to a CSV file.
	CSVLogger = train.CSVLogger
	// ModelCheckpoint saves the model at the end of epochs.
	ModelCheckpoint = train.ModelCheckpoint
)

// ErrStopTraining, returned by a callback's OnEpochEnd or OnBatchEnd, ends
// Fit after the current epoch without an error.
var ErrStopTraining = train.ErrStopTraining

// trainer sets up train's Trainer on the model's compiled loss and
// metrics, with the optimizer when it will train.
func (m *Model) trainer(withOptimizer bool) (*train.Trainer, error) {
	c, regs, err := m.f.Compile()
	if err != nil {
		return nil, err
	}
	t := &train.Trainer{Net: m.net, Compiled: c, Regularizers: regs, Mu: &m.mu,
		Save: func(path string) error { return m.Save(path) }}
	if withOptimizer {
		m.mu.Lock()
		err = m.f.EnsureOptimizer()
		m.mu.Unlock()
		if err != nil {
			return nil, err
		}
		t.Optimizer = m.f.Optimizer
		t.Variables, _ = layers.TrainableVariables(m.net)
	}
	return t, nil
}

// wrapErr names the model's file once in an error from train.
func (m *Model) wrapErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("kerasrun: %s: %w", m.info.Path, err)
}

// Fit trains the model on x and y with the compiled loss, metrics and
// optimizer restored from the file, continuing from the optimizer's saved
// state, and returns the per-epoch history.
func (m *Model) Fit(x, y []*Tensor, opts FitOptions) (*History, error) {
	t, err := m.trainer(true)
	if err != nil {
		return nil, err
	}
	h, err := t.Fit(x, y, opts)
	return h, m.wrapErr(err)
}

// TrainOnBatch runs one training step on one batch and returns the loss
// and metrics of that batch (Keras's train_on_batch with reset_metrics).
func (m *Model) TrainOnBatch(x, y []*Tensor, sampleWeight *Tensor) (map[string]float64, error) {
	t, err := m.trainer(true)
	if err != nil {
		return nil, err
	}
	if err := t.TrainStep(x, y, sampleWeight); err != nil {
		return nil, m.wrapErr(err)
	}
	return t.Compiled.Results(), nil
}

// TestOnBatch computes the loss and metrics of one batch without training
// (Keras's test_on_batch).
func (m *Model) TestOnBatch(x, y []*Tensor, sampleWeight *Tensor) (map[string]float64, error) {
	return m.Evaluate(x, y, EvaluateOptions{BatchSize: math.MaxInt32, SampleWeight: sampleWeight})
}

// Evaluate computes the loss and metrics the model was compiled with
// (restored from the file) over x and y, batch by batch, and returns them
// under Keras's names ("loss", "accuracy", "<output>_loss", ...), as
// model.evaluate(x, y, return_dict=True) does.
func (m *Model) Evaluate(x, y []*Tensor, opts EvaluateOptions) (map[string]float64, error) {
	t, err := m.trainer(false)
	if err != nil {
		return nil, err
	}
	res, err := t.Evaluate(x, y, opts)
	return res, m.wrapErr(err)
}
