package train

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
)

// FitOptions are the arguments of Keras's model.fit().
type FitOptions struct {
	// Epochs is the index of the last epoch (as in Keras, training runs
	// from InitialEpoch to Epochs); 0 means 1.
	Epochs       int
	InitialEpoch int
	// BatchSize is the number of samples per step; 0 means 32.
	BatchSize int
	// StepsPerEpoch, when positive, limits each epoch to that many steps.
	StepsPerEpoch int
	// ValidationSplit takes this fraction of the samples, from the end,
	// before any shuffling, for validation, as Keras does.
	ValidationSplit float64
	// ValidationX and ValidationY are explicit validation data (they take
	// precedence over ValidationSplit).
	ValidationX, ValidationY []*runtime.Tensor
	// Shuffle reorders the training samples every epoch with a generator
	// seeded by Seed. Keras shuffles by default; kerasrun shuffles only
	// when asked, so that a run is reproducible.
	Shuffle bool
	Seed    uint64
	// SampleWeight weights each training sample (shape (samples,)).
	SampleWeight *runtime.Tensor
	// ClassWeight weights samples by their class (single-output models).
	ClassWeight map[int]float64
	// Callbacks run at the points Keras calls them.
	Callbacks []Callback
	// Verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
	Verbose int
	// Progress receives the verbose output; nil means standard output.
	Progress io.Writer
}

// EvaluateOptions are the arguments of Keras's model.evaluate().
type EvaluateOptions struct {
	// BatchSize is the number of samples per batch; 0 means Keras's
	// default, 32.
	BatchSize int
	// SampleWeight optionally weights each sample (shape (samples,)).
	SampleWeight *runtime.Tensor
	// Verbose is 0 (silent), 1 (Keras's progress bar with the running
	// loss and metrics) or 2 (one line at the end), written to Progress;
	// nothing is written when Progress is nil.
	Verbose  int
	Progress io.Writer
}

// History records the logs of every epoch, as Keras's History callback.
type History struct {
	Epochs []int
	// Logs maps each log name ("loss", "accuracy", "val_loss", ...) to its
	// value per epoch.
	Logs map[string][]float64
}

// Evaluate computes the compiled loss and metrics over x and y, batch by
// batch, and returns them under Keras's names ("loss", "accuracy",
// "<output>_loss", ...), as model.evaluate(x, y, return_dict=True). The
// trackers of Compiled start afresh.
func (t *Trainer) Evaluate(x, y []*runtime.Tensor, opts EvaluateOptions) (map[string]float64, error) {
	if err := t.CheckBatch(x, y); err != nil {
		return nil, err
	}
	n, err := sampleCount(append(append([]*runtime.Tensor(nil), x...), y...))
	if err != nil {
		return nil, err
	}
	return t.EvaluateBatches(n, func(start, end int) ([]*runtime.Tensor, []*runtime.Tensor, *runtime.Tensor, error) {
		var sw *runtime.Tensor
		if opts.SampleWeight != nil {
			sw = SliceBatch([]*runtime.Tensor{opts.SampleWeight}, start, end)[0]
		}
		return SliceBatch(x, start, end), SliceBatch(y, start, end), sw, nil
	}, opts)
}

// EvaluateBatches is Evaluate on n samples that next gives batch by
// batch: the inputs, targets and sample weights (nil for none) of samples
// [start, end), so that a caller may read them as they are needed.
// opts.SampleWeight is not used; next gives the weights.
func (t *Trainer) EvaluateBatches(n int, next func(start, end int) (x, y []*runtime.Tensor, sw *runtime.Tensor, err error), opts EvaluateOptions) (map[string]float64, error) {
	unlock := t.rlock()
	penalty := Penalty(t.Regularizers, nil) // the weights do not change here
	unlock()
	bs := opts.BatchSize
	if bs <= 0 {
		bs = 32
	}
	t.Compiled.Reset()
	steps := (n + bs - 1) / bs
	var bar *Progbar
	if opts.Progress != nil && opts.Verbose > 0 {
		bar = NewProgbar(opts.Progress, steps, opts.Verbose)
	}
	for step, start := 0, 0; start < n; step, start = step+1, start+bs {
		end := min(start+bs, n)
		x, y, sw, err := next(start, end)
		if err != nil {
			return nil, err
		}
		if err := t.testStep(x, y, sw, penalty); err != nil {
			return nil, err
		}
		if bar != nil && opts.Verbose == 1 {
			bar.Update(step+1, t.Compiled.Results(), false)
		}
	}
	res := t.Compiled.Results()
	if bar != nil {
		bar.Update(steps, res, true)
	}
	return res, nil
}

// Fit trains on x and y (Keras's model.fit) and returns the per-epoch
// history, also when a later error ends it early.
func (t *Trainer) Fit(x, y []*runtime.Tensor, opts FitOptions) (*History, error) {
	f, err := t.newFitRun(x, y, opts)
	if err != nil {
		return nil, err
	}
	return f.run()
}

// fitRun is one call of Fit.
type fitRun struct {
	t          *Trainer
	opts       FitOptions
	x, y       []*runtime.Tensor
	sw         *runtime.Tensor
	valX, valY []*runtime.Tensor
	n          int
	stop       bool
	progress   io.Writer
	history    *History
}

func (t *Trainer) newFitRun(x, y []*runtime.Tensor, opts FitOptions) (*fitRun, error) {
	if opts.Epochs <= 0 {
		opts.Epochs = 1
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 32
	}
	if opts.InitialEpoch < 0 || opts.InitialEpoch >= opts.Epochs {
		return nil, fmt.Errorf("fit: initial epoch %d is not below epochs %d", opts.InitialEpoch, opts.Epochs)
	}
	if opts.ValidationSplit < 0 || opts.ValidationSplit >= 1 {
		return nil, fmt.Errorf("fit: validation_split must be in [0, 1), got %v", opts.ValidationSplit)
	}
	if err := t.CheckBatch(x, y); err != nil {
		return nil, err
	}
	n, err := sampleCount(append(append([]*runtime.Tensor(nil), x...), y...))
	if err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	f := &fitRun{t: t, opts: opts, x: x, y: y, sw: opts.SampleWeight, n: n, progress: opts.Progress,
		history: &History{Logs: map[string][]float64{}}}
	if f.progress == nil {
		f.progress = os.Stdout
	}
	if opts.ClassWeight != nil {
		if f.sw, err = classWeights(y, opts.ClassWeight, f.sw); err != nil {
			return nil, fmt.Errorf("fit: %w", err)
		}
	}
	switch {
	case opts.ValidationX != nil:
		f.valX, f.valY = opts.ValidationX, opts.ValidationY
	case opts.ValidationSplit > 0:
		// Keras: split_at = int(n * (1 - validation_split)).
		split := int(float64(n) * (1 - opts.ValidationSplit))
		if split <= 0 || split >= n {
			return nil, fmt.Errorf("fit: validation_split %v leaves no training or no validation samples of %d", opts.ValidationSplit, n)
		}
		f.valX, f.valY = SliceBatch(x, split, n), SliceBatch(y, split, n)
		f.x, f.y = SliceBatch(x, 0, split), SliceBatch(y, 0, split)
		if f.sw != nil {
			f.sw = SliceBatch([]*runtime.Tensor{f.sw}, 0, split)[0]
		}
		f.n = split
	}
	return f, nil
}

// classWeights turns class_weight into per-sample weights from the
// (single) target: class index by argmax for one-hot targets, by value for
// sparse ones.
func classWeights(y []*runtime.Tensor, cw map[int]float64, sw *runtime.Tensor) (*runtime.Tensor, error) {
	if len(y) != 1 {
		return nil, fmt.Errorf("class_weight needs a single-output model")
	}
	t := y[0]
	n := t.Shape[0]
	row := runtime.ShapeSize(t.Shape[1:])
	out := runtime.NewTensor(n)
	for i := 0; i < n; i++ {
		r := t.Data[i*row : (i+1)*row]
		class := int(r[0])
		if row > 1 {
			class = 0
			for j, v := range r {
				if v > r[class] {
					class = j
				}
			}
		}
		w, ok := cw[class]
		if !ok {
			w = 1
		}
		out.Data[i] = float32(w)
		if sw != nil {
			out.Data[i] *= sw.Data[i]
		}
	}
	return out, nil
}

func (f *fitRun) run() (*History, error) {
	t := f.t
	steps := (f.n + f.opts.BatchSize - 1) / f.opts.BatchSize
	if f.opts.StepsPerEpoch > 0 {
		steps = min(steps, f.opts.StepsPerEpoch)
	}
	r := &Run{Optimizer: t.Optimizer, Epochs: f.opts.Epochs, Steps: steps, Verbose: f.opts.Verbose, Save: t.Save, trainer: t}
	for _, cb := range f.opts.Callbacks {
		if err := cb.OnTrainBegin(r); err != nil {
			return f.history, err
		}
	}
	order := make([]int, f.n)
	for i := range order {
		order[i] = i
	}
	shuffler := rand.New(rand.NewPCG(f.opts.Seed, 0x6b657261737275))
	for epoch := f.opts.InitialEpoch; epoch < f.opts.Epochs && !f.stop; epoch++ {
		for _, cb := range f.opts.Callbacks {
			if err := cb.OnEpochBegin(epoch); err != nil {
				return f.history, err
			}
		}
		if f.opts.Shuffle {
			shuffler.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		t.Compiled.Reset()
		if f.opts.Verbose > 0 && f.opts.Epochs > 1 {
			fmt.Fprintf(f.progress, "Epoch %d/%d\n", epoch+1, f.opts.Epochs)
		}
		bar := NewProgbar(f.progress, steps, f.opts.Verbose)
		for step := 0; step < steps; step++ {
			lo, hi := step*f.opts.BatchSize, min((step+1)*f.opts.BatchSize, f.n)
			xb, yb, swb := f.batch(order[lo:hi])
			if err := t.TrainStep(xb, yb, swb); err != nil {
				return f.history, err
			}
			logs := t.Compiled.Results()
			if f.opts.Verbose == 1 {
				bar.Update(step+1, logs, false)
			}
			for _, cb := range f.opts.Callbacks {
				if err := cb.OnBatchEnd(step, logs); err != nil {
					if err != ErrStopTraining {
						return f.history, err
					}
					f.stop = true
				}
			}
			if f.stop {
				break
			}
		}
		logs := t.Compiled.Results()
		if f.valX != nil {
			// Keras's fit evaluates with the same compiled metrics, reset.
			val, err := t.Evaluate(f.valX, f.valY, EvaluateOptions{BatchSize: f.opts.BatchSize})
			if err != nil {
				return f.history, err
			}
			for k, v := range val {
				logs["val_"+k] = v
			}
		}
		if f.opts.Verbose > 0 {
			bar.Update(steps, logs, true)
		}
		f.history.Epochs = append(f.history.Epochs, epoch)
		for k, v := range logs {
			f.history.Logs[k] = append(f.history.Logs[k], v)
		}
		for _, cb := range f.opts.Callbacks {
			if err := cb.OnEpochEnd(epoch, logs); err != nil {
				if err == ErrStopTraining {
					f.stop = true
					continue
				}
				return f.history, err
			}
		}
	}
	// Keras's fit ends with finalize_variable_values: an optimizer with
	// use_ema copies the moving averages into the weights.
	if fin, ok := t.Optimizer.(interface{ FinalizeVariableValues() }); ok {
		unlock := t.lock()
		fin.FinalizeVariableValues()
		unlock()
	}
	for _, cb := range f.opts.Callbacks {
		if err := cb.OnTrainEnd(); err != nil {
			return f.history, err
		}
	}
	return f.history, nil
}

// batch gathers the samples at idx.
func (f *fitRun) batch(idx []int) (x, y []*runtime.Tensor, sw *runtime.Tensor) {
	gather := func(ts []*runtime.Tensor) []*runtime.Tensor {
		out := make([]*runtime.Tensor, len(ts))
		for i, t := range ts {
			row := runtime.ShapeSize(t.Shape[1:])
			g := &runtime.Tensor{Shape: append([]int{len(idx)}, t.Shape[1:]...), Data: make([]float32, len(idx)*row)}
			for j, s := range idx {
				copy(g.Data[j*row:(j+1)*row], t.Data[s*row:(s+1)*row])
			}
			out[i] = g
		}
		return out
	}
	x, y = gather(f.x), gather(f.y)
	if f.sw != nil {
		sw = gather([]*runtime.Tensor{f.sw})[0]
	}
	return x, y, sw
}

// sampleCount checks that every array has the same first dimension.
func sampleCount(ts []*runtime.Tensor) (int, error) {
	n := -1
	for i, t := range ts {
		if t == nil || len(t.Shape) == 0 {
			return 0, fmt.Errorf("array %d has no batch dimension", i)
		}
		if n >= 0 && t.Shape[0] != n {
			return 0, fmt.Errorf("arrays have different numbers of samples (%d and %d)", n, t.Shape[0])
		}
		n = t.Shape[0]
	}
	return n, nil
}

// SliceBatch returns rows [start, end) of each tensor, sharing data.
func SliceBatch(ts []*runtime.Tensor, start, end int) []*runtime.Tensor {
	out := make([]*runtime.Tensor, len(ts))
	for i, t := range ts {
		row := runtime.ShapeSize(t.Shape[1:])
		shape := append([]int{end - start}, t.Shape[1:]...)
		out[i] = &runtime.Tensor{Shape: shape, Data: t.Data[start*row : end*row]}
	}
	return out
}

// modelVariables lists every variable of the model in Keras's order
// (model.variables).
func modelVariables(net *layers.Model) []*runtime.Variable {
	var out []*runtime.Variable
	for _, v := range layers.WalkVariables(net) {
		out = append(out, v.V)
	}
	return out
}
