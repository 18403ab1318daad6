package train

import (
	"errors"
	"fmt"
	"github.com/kerasrun/kerasrun/runtime"
	"math"
	"os"
	"sort"
	"strings"
)

// ErrStopTraining, returned by a callback's OnEpochEnd or OnBatchEnd, ends
// Fit after the current epoch without an error (Keras's
// model.stop_training = True).
var ErrStopTraining = errors.New("train: stop training")

// Callback is called by Fit at the points Keras calls its callbacks. Embed
// NopCallback to implement only some methods.
type Callback interface {
	OnTrainBegin(r *Run) error
	OnEpochBegin(epoch int) error
	OnBatchEnd(batch int, logs map[string]float64) error
	OnEpochEnd(epoch int, logs map[string]float64) error
	OnTrainEnd() error
}

// NopCallback implements Callback with methods that do nothing.
type NopCallback struct{}

func (NopCallback) OnTrainBegin(*Run) error                  { return nil }
func (NopCallback) OnEpochBegin(int) error                   { return nil }
func (NopCallback) OnBatchEnd(int, map[string]float64) error { return nil }
func (NopCallback) OnEpochEnd(int, map[string]float64) error { return nil }
func (NopCallback) OnTrainEnd() error                        { return nil }

// Run is what a Callback sees of the training run, given to OnTrainBegin:
// what Keras's callbacks reach through self.model and self.params.
type Run struct {
	// Optimizer is the model's optimizer (callbacks read and set its
	// learning rate).
	Optimizer Optimizer
	// Epochs, Steps (per epoch) and Verbose are Keras's callback.params.
	Epochs, Steps, Verbose int
	// Save writes the model to path in the format its extension names, as
	// the caller's Model.Save; nil when the caller gave none.
	Save func(path string) error

	trainer *Trainer
}

// Weights returns a copy of every variable's value in Keras's order
// (model.get_weights()).
func (r *Run) Weights() []*runtime.Tensor {
	defer r.trainer.rlock()()
	var out []*runtime.Tensor
	for _, v := range modelVariables(r.trainer.Net) {
		out = append(out, v.Value.Clone())
	}
	return out
}

// SetWeights sets every variable from values in Keras's order
// (model.set_weights), as Weights returned them.
func (r *Run) SetWeights(values []*runtime.Tensor) error {
	defer r.trainer.lock()()
	vars := modelVariables(r.trainer.Net)
	if len(values) != len(vars) {
		return fmt.Errorf("train: %d weights for %d variables", len(values), len(vars))
	}
	for i, v := range vars {
		if len(values[i].Data) != len(v.Value.Data) {
			return fmt.Errorf("train: weight %d (%s) has %d values, want %d", i, v.Name, len(values[i].Data), len(v.Value.Data))
		}
		copy(v.Value.Data, values[i].Data)
		v.Touch()
	}
	return nil
}

// monitorImproved compares a monitored value with the best so far, in the
// direction Keras infers from the name ("acc"/"auc" maximize).
func monitorImproved(monitor, mode string, current, best, minDelta float64) bool {
	if mode == "" || mode == "auto" {
		mode = "min"
		if strings.Contains(monitor, "acc") || strings.HasSuffix(monitor, "auc") {
			mode = "max"
		}
	}
	if mode == "max" {
		return current-minDelta > best
	}
	return current+minDelta < best
}

func initialBest(monitor, mode string) float64 {
	if monitorImproved(monitor, mode, 1, 0, 0) {
		return math.Inf(-1)
	}
	return math.Inf(1)
}

// EarlyStopping stops training when a monitored log stops improving.
type EarlyStopping struct {
	NopCallback
	Monitor  string // default "val_loss"
	Mode     string // "auto", "min" or "max"
	MinDelta float64
	Patience int
	// RestoreBestWeights sets the weights of the best epoch back when
	// training ends (the weights of the first monitored epoch when none
	// improved on it), as Keras does.
	RestoreBestWeights bool
	// StoppedEpoch is the epoch training stopped after, or -1.
	StoppedEpoch int
	best         float64
	wait         int
	run          *Run
	bestWeights  []*runtime.Tensor
}

// OnTrainBegin resets the state.
func (e *EarlyStopping) OnTrainBegin(r *Run) error {
	if e.Monitor == "" {
		e.Monitor = "val_loss"
	}
	e.best, e.wait, e.StoppedEpoch, e.run, e.bestWeights = initialBest(e.Monitor, e.Mode), 0, -1, r, nil
	return nil
}

// OnEpochEnd checks the monitored value.
func (e *EarlyStopping) OnEpochEnd(epoch int, logs map[string]float64) error {
	v, ok := logs[e.Monitor]
	if !ok {
		return nil // Keras warns and goes on
	}
	improved := monitorImproved(e.Monitor, e.Mode, v, e.best, math.Abs(e.MinDelta))
	if e.RestoreBestWeights && (improved || e.bestWeights == nil) {
		e.bestWeights = e.run.Weights()
	}
	if improved {
		e.best, e.wait = v, 0
		return nil
	}
	e.wait++
	if e.wait >= e.Patience {
		e.StoppedEpoch = epoch
		return ErrStopTraining
	}
	return nil
}

// OnTrainEnd restores the best weights when asked.
func (e *EarlyStopping) OnTrainEnd() error {
	if e.RestoreBestWeights && e.bestWeights != nil {
		return e.run.SetWeights(e.bestWeights)
	}
	return nil
}

// ReduceLROnPlateau lowers the learning rate when a monitored log stops
// improving.
type ReduceLROnPlateau struct {
	NopCallback
	Monitor  string  // default "val_loss"
	Mode     string  // "auto", "min", "max"
	Factor   float64 // default 0.1
	Patience int     // default 10
	MinDelta float64 // default 1e-4
	Cooldown int
	MinLR    float64
	opt      Optimizer
	best     float64
	wait     int
	cooldown int
}

// OnTrainBegin resets the state.
func (r *ReduceLROnPlateau) OnTrainBegin(run *Run) error {
	if r.Monitor == "" {
		r.Monitor = "val_loss"
	}
	if r.Factor == 0 {
		r.Factor = 0.1
	}
	if r.Factor >= 1 {
		return fmt.Errorf("train: ReduceLROnPlateau: factor must be below 1, got %v", r.Factor)
	}
	if r.Patience == 0 {
		r.Patience = 10
	}
	if r.MinDelta == 0 {
		r.MinDelta = 1e-4
	}
	r.opt, r.best, r.wait, r.cooldown = run.Optimizer, initialBest(r.Monitor, r.Mode), 0, 0
	return nil
}

// OnEpochEnd lowers the rate after Patience epochs without improvement.
func (r *ReduceLROnPlateau) OnEpochEnd(epoch int, logs map[string]float64) error {
	opt := r.opt
	logs["learning_rate"] = opt.LearningRate()
	v, ok := logs[r.Monitor]
	if !ok {
		return nil
	}
	if r.cooldown > 0 {
		r.cooldown--
		r.wait = 0
	}
	if monitorImproved(r.Monitor, r.Mode, v, r.best, r.MinDelta) {
		r.best, r.wait = v, 0
		return nil
	}
	if r.cooldown > 0 {
		return nil
	}
	r.wait++
	if r.wait >= r.Patience {
		old := opt.LearningRate()
		if old > r.MinLR {
			if err := opt.SetLearningRate(math.Max(old*r.Factor, r.MinLR)); err != nil {
				return err
			}
			r.cooldown, r.wait = r.Cooldown, 0
		}
	}
	return nil
}

// LearningRateScheduler sets the learning rate at the start of every
// epoch from Schedule(epoch, current rate).
type LearningRateScheduler struct {
	NopCallback
	Schedule func(epoch int, lr float64) float64
	opt      Optimizer
}

// OnTrainBegin remembers the optimizer.
func (s *LearningRateScheduler) OnTrainBegin(r *Run) error { s.opt = r.Optimizer; return nil }

// OnEpochBegin sets the rate.
func (s *LearningRateScheduler) OnEpochBegin(epoch int) error {
	return s.opt.SetLearningRate(s.Schedule(epoch, s.opt.LearningRate()))
}

// TerminateOnNaN stops training when a batch's loss is NaN or infinite.
type TerminateOnNaN struct{ NopCallback }

// OnBatchEnd checks the loss.
func (TerminateOnNaN) OnBatchEnd(batch int, logs map[string]float64) error {
	if l, ok := logs["loss"]; ok && (math.IsNaN(l) || math.IsInf(l, 0)) {
		return ErrStopTraining
	}
	return nil
}

// CSVLogger writes one line per epoch: epoch, then the logs in sorted
// order, as Keras's CSVLogger does.
type CSVLogger struct {
	NopCallback
	Path   string
	Append bool
	f      *os.File
	keys   []string
}

// OnTrainBegin opens the file.
func (c *CSVLogger) OnTrainBegin(*Run) error {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if c.Append {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(c.Path, flags, 0o644)
	if err != nil {
		return err
	}
	c.f, c.keys = f, nil
	return nil
}

// OnEpochEnd writes a row (and the header first).
func (c *CSVLogger) OnEpochEnd(epoch int, logs map[string]float64) error {
	if c.keys == nil {
		c.keys = sortedKeys(logs)
		if _, err := fmt.Fprintf(c.f, "epoch,%s\n", strings.Join(c.keys, ",")); err != nil {
			return err
		}
	}
	row := []string{fmt.Sprint(epoch)}
	for _, k := range c.keys {
		row = append(row, fmt.Sprint(logs[k]))
	}
	_, err := fmt.Fprintln(c.f, strings.Join(row, ","))
	return err
}

// OnTrainEnd closes the file.
func (c *CSVLogger) OnTrainEnd() error { return c.f.Close() }

func sortedKeys(logs map[string]float64) []string {
	keys := make([]string, 0, len(logs))
	for k := range logs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ModelCheckpoint saves the model at the end of every epoch (or only when
// the monitored log improves), as Keras's ModelCheckpoint with
// save_freq="epoch". Path may hold Keras's placeholders: "{epoch}",
// "{epoch:02d}" (1-based, as Keras numbers epochs in file names) and any
// log, "{val_loss:.2f}". The extension picks the format as kerasrun's
// Model.Save does (.keras, .h5, .weights.h5).
type ModelCheckpoint struct {
	NopCallback
	Path    string
	Monitor string // default "val_loss"
	Mode    string // "auto", "min" or "max"
	// SaveBestOnly saves only when the monitored value improves on the best
	// so far (or on InitialValueThreshold, when set).
	SaveBestOnly          bool
	InitialValueThreshold *float64
	// Saved lists the files written, in order.
	Saved []string
	save  func(string) error
	best  float64
}

// OnTrainBegin remembers how to save.
func (c *ModelCheckpoint) OnTrainBegin(r *Run) error {
	if c.Path == "" {
		return fmt.Errorf("train: ModelCheckpoint: no path")
	}
	if r.Save == nil {
		return fmt.Errorf("train: ModelCheckpoint: the run has no way to save the model")
	}
	if c.Monitor == "" {
		c.Monitor = "val_loss"
	}
	c.save = r.Save
	c.best = initialBest(c.Monitor, c.Mode)
	if c.InitialValueThreshold != nil {
		c.best = *c.InitialValueThreshold
	}
	return nil
}

// OnEpochEnd saves the model.
func (c *ModelCheckpoint) OnEpochEnd(epoch int, logs map[string]float64) error {
	if c.SaveBestOnly {
		v, ok := logs[c.Monitor]
		if !ok || !monitorImproved(c.Monitor, c.Mode, v, c.best, 0) {
			return nil // Keras warns when the monitor is missing and skips
		}
		c.best = v
	}
	path, err := checkpointPath(c.Path, epoch+1, logs)
	if err != nil {
		return err
	}
	if err := c.save(path); err != nil {
		return fmt.Errorf("train: ModelCheckpoint: %w", err)
	}
	c.Saved = append(c.Saved, path)
	return nil
}

// checkpointPath fills Keras's filepath placeholders ({epoch:02d},
// {val_loss:.2f}, ...), a subset of Python's format specs: [0][width]d
// and [.precision]f/e, or none.
func checkpointPath(pattern string, epoch int, logs map[string]float64) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			b.WriteString(pattern)
			return b.String(), nil
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("train: ModelCheckpoint: unclosed '{' in %q", pattern)
		}
		b.WriteString(pattern[:i])
		field := pattern[i+1 : i+j]
		pattern = pattern[i+j+1:]
		name, spec, _ := strings.Cut(field, ":")
		var v float64
		if name == "epoch" {
			v = float64(epoch)
		} else if lv, ok := logs[name]; ok {
			v = lv
		} else {
			return "", fmt.Errorf("train: ModelCheckpoint: %q names no log (have %v)", name, sortedKeys(logs))
		}
		verb := "v"
		if spec != "" {
			verb = spec[len(spec)-1:]
			spec = spec[:len(spec)-1]
		}
		switch verb {
		case "d":
			fmt.Fprintf(&b, "%"+spec+"d", int64(v))
		case "f", "e":
			fmt.Fprintf(&b, "%"+spec+verb, v)
		case "v":
			if name == "epoch" {
				fmt.Fprint(&b, int64(v))
			} else {
				fmt.Fprint(&b, v)
			}
		default:
			return "", fmt.Errorf("train: ModelCheckpoint: format %q of %q is not supported", field, name)
		}
	}
}

// CallbackFunc adapts a function called at every epoch end to Callback.
type CallbackFunc func(epoch int, logs map[string]float64) error

func (f CallbackFunc) OnTrainBegin(*Run) error                  { return nil }
func (f CallbackFunc) OnEpochBegin(int) error                   { return nil }
func (f CallbackFunc) OnBatchEnd(int, map[string]float64) error { return nil }
func (f CallbackFunc) OnTrainEnd() error                        { return nil }

// OnEpochEnd calls f.
func (f CallbackFunc) OnEpochEnd(epoch int, logs map[string]float64) error { return f(epoch, logs) }
