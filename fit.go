package kerasrun

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/train"
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
	ValidationX, ValidationY []*Tensor
	// Shuffle reorders the training samples every epoch with a generator
	// seeded by Seed. Keras shuffles by default; kerasrun shuffles only
	// when asked, so that a run is reproducible.
	Shuffle bool
	Seed    uint64
	// SampleWeight weights each training sample (shape (samples,)).
	SampleWeight *Tensor
	// ClassWeight weights samples by their class (single-output models).
	ClassWeight map[int]float64
	// Callbacks run at the points Keras calls them.
	Callbacks []Callback
	// Verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
	Verbose int
	// Progress receives the verbose output; nil means standard output.
	Progress io.Writer
}

// History records the logs of every epoch, as Keras's History callback.
type History struct {
	Epochs []int
	// Logs maps each log name ("loss", "accuracy", "val_loss", ...) to its
	// value per epoch.
	Logs map[string][]float64
}

// Fit trains the model on x and y with the compiled loss, metrics and
// optimizer restored from the file, continuing from the optimizer's saved
// state, and returns the per-epoch history.
func (m *Model) Fit(x, y []*Tensor, opts FitOptions) (*History, error) {
	f, err := m.newFitRun(x, y, opts)
	if err != nil {
		return nil, err
	}
	return f.run()
}

// TrainOnBatch runs one training step on one batch and returns the loss
// and metrics of that batch (Keras's train_on_batch with reset_metrics).
func (m *Model) TrainOnBatch(x, y []*Tensor, sampleWeight *Tensor) (map[string]float64, error) {
	st, err := m.newStepper()
	if err != nil {
		return nil, err
	}
	if err := st.trainStep(x, y, sampleWeight); err != nil {
		return nil, err
	}
	return st.compiled.Results(), nil
}

// TestOnBatch computes the loss and metrics of one batch without training
// (Keras's test_on_batch).
func (m *Model) TestOnBatch(x, y []*Tensor, sampleWeight *Tensor) (map[string]float64, error) {
	return m.Evaluate(x, y, EvaluateOptions{BatchSize: math.MaxInt32, SampleWeight: sampleWeight})
}

// stepper runs training steps: forward in training mode, the compiled loss,
// backward, the optimizer update.
type stepper struct {
	m        *Model
	compiled *train.Compiled
	regs     []train.RegularizedWeight
	vars     []*runtime.Variable
	rng      *rand.Rand
	scale    float64 // loss scale of a LossScaleOptimizer, else 1
}

func (m *Model) newStepper() (*stepper, error) {
	c, regs, err := m.compile()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	err = m.ensureOptimizer()
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	vars, _ := m.trainableVariables()
	st := &stepper{m: m, compiled: c, regs: regs, vars: vars, rng: rand.New(rand.NewPCG(1, 2)), scale: 1}
	if lso, ok := m.optimizer.(*train.LossScaleOptimizer); ok {
		st.scale = lso.LossScale()
	}
	return st, nil
}

// trainStep runs one optimizer step on a batch.
func (st *stepper) trainStep(x, y []*Tensor, sw *Tensor) error {
	m := st.m
	if err := m.checkBatch(x, y); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Training needs the weights' gradients only, not the inputs'.
	ctx := &runtime.Context{Training: true, Grad: true, SkipInputGrads: true, Rand: st.rng, Grads: map[*runtime.Variable]*runtime.Tensor{}}
	fw, err := m.forwardLoss(ctx, x)
	if err != nil {
		return err
	}
	penalty := train.Penalty(st.regs, nil)
	_, gradOut, onLogits, err := st.compiled.StepLogits(y, fw.pred, fw.logits, sw, penalty+fw.layerLoss)
	if err != nil {
		return fmt.Errorf("kerasrun: %s: %w", m.info.Path, err)
	}
	if gradOut, err = fw.outputGrads(gradOut, onLogits); err != nil {
		return fmt.Errorf("kerasrun: %s: %w", m.info.Path, err)
	}
	back := fw.back
	if st.scale != 1 {
		for _, g := range gradOut {
			if g != nil {
				for i := range g.Data {
					g.Data[i] *= float32(st.scale)
				}
			}
		}
	}
	if back == nil {
		return fmt.Errorf("kerasrun: %s: the model recorded no backward pass", m.info.Path)
	}
	if _, err := back(gradOut); err != nil {
		return fmt.Errorf("kerasrun: %s: backward: %w", m.info.Path, err)
	}
	if len(st.regs) > 0 {
		scaled := map[*runtime.Variable]*runtime.Tensor{}
		train.Penalty(st.regs, scaled)
		for v, g := range scaled {
			if st.scale != 1 {
				for i := range g.Data {
					g.Data[i] *= float32(st.scale)
				}
			}
			ctx.AccumulateGrad(v, g)
		}
	}
	grads := make([]*runtime.Tensor, len(st.vars))
	for i, v := range st.vars {
		grads[i] = ctx.Grads[v]
	}
	if err := m.optimizer.Apply(st.vars, grads); err != nil {
		return fmt.Errorf("kerasrun: %s: optimizer: %w", m.info.Path, err)
	}
	for _, u := range ctx.Updates {
		copy(u.Variable.Value.Data, u.Value.Data)
		u.Variable.Touch()
	}
	return nil
}

// checkBatch validates the arrays of one step.
func (m *Model) checkBatch(x, y []*Tensor) error {
	if len(x) != len(m.net.InputNames) {
		return fmt.Errorf("kerasrun: %s: model takes %d input(s) %v, got %d", m.info.Path, len(m.net.InputNames), m.net.InputNames, len(x))
	}
	if len(y) != len(m.net.OutputNames) {
		return fmt.Errorf("kerasrun: %s: model has %d output(s) %v, got %d target array(s)", m.info.Path, len(m.net.OutputNames), m.net.OutputNames, len(y))
	}
	for i, t := range append(append([]*Tensor(nil), x...), y...) {
		if t == nil || len(t.Data) != runtime.ShapeSize(t.Shape) || len(t.Shape) == 0 {
			return fmt.Errorf("kerasrun: %s: array %d is empty or its data does not fit its shape", m.info.Path, i)
		}
		if err := checkFinite(t); err != nil {
			return fmt.Errorf("kerasrun: %s: array %d: %w", m.info.Path, i, err)
		}
	}
	return nil
}

// fitRun is one call of Fit.
type fitRun struct {
	m          *Model
	opts       FitOptions
	st         *stepper
	x, y       []*Tensor
	sw         *Tensor
	valX, valY []*Tensor
	n          int
	stop       bool
	progress   io.Writer
	history    *History
}

func (m *Model) newFitRun(x, y []*Tensor, opts FitOptions) (*fitRun, error) {
	if opts.Epochs <= 0 {
		opts.Epochs = 1
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 32
	}
	if opts.InitialEpoch < 0 || opts.InitialEpoch >= opts.Epochs {
		return nil, fmt.Errorf("kerasrun: fit: initial epoch %d is not below epochs %d", opts.InitialEpoch, opts.Epochs)
	}
	if opts.ValidationSplit < 0 || opts.ValidationSplit >= 1 {
		return nil, fmt.Errorf("kerasrun: fit: validation_split must be in [0, 1), got %v", opts.ValidationSplit)
	}
	if err := m.checkBatch(x, y); err != nil {
		return nil, err
	}
	n, err := sampleCount(append(append([]*Tensor(nil), x...), y...))
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: fit: %w", m.info.Path, err)
	}
	st, err := m.newStepper()
	if err != nil {
		return nil, err
	}
	f := &fitRun{m: m, opts: opts, st: st, x: x, y: y, sw: opts.SampleWeight, n: n, progress: opts.Progress,
		history: &History{Logs: map[string][]float64{}}}
	if f.progress == nil {
		f.progress = os.Stdout
	}
	if opts.ClassWeight != nil {
		if f.sw, err = classWeights(y, opts.ClassWeight, f.sw); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: fit: %w", m.info.Path, err)
		}
	}
	switch {
	case opts.ValidationX != nil:
		f.valX, f.valY = opts.ValidationX, opts.ValidationY
	case opts.ValidationSplit > 0:
		// Keras: split_at = int(n * (1 - validation_split)).
		split := int(float64(n) * (1 - opts.ValidationSplit))
		if split <= 0 || split >= n {
			return nil, fmt.Errorf("kerasrun: %s: fit: validation_split %v leaves no training or no validation samples of %d", m.info.Path, opts.ValidationSplit, n)
		}
		f.valX, f.valY = sliceBatch(x, split, n), sliceBatch(y, split, n)
		f.x, f.y = sliceBatch(x, 0, split), sliceBatch(y, 0, split)
		if f.sw != nil {
			f.sw = sliceBatch([]*Tensor{f.sw}, 0, split)[0]
		}
		f.n = split
	}
	return f, nil
}

// classWeights turns class_weight into per-sample weights from the
// (single) target: class index by argmax for one-hot targets, by value for
// sparse ones.
func classWeights(y []*Tensor, cw map[int]float64, sw *Tensor) (*Tensor, error) {
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
	for _, cb := range f.opts.Callbacks {
		if err := cb.OnTrainBegin(f.m); err != nil {
			return f.history, err
		}
	}
	steps := (f.n + f.opts.BatchSize - 1) / f.opts.BatchSize
	if f.opts.StepsPerEpoch > 0 {
		steps = min(steps, f.opts.StepsPerEpoch)
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
		f.st.compiled.Reset()
		if f.opts.Verbose > 0 && f.opts.Epochs > 1 {
			fmt.Fprintf(f.progress, "Epoch %d/%d\n", epoch+1, f.opts.Epochs)
		}
		bar := train.NewProgbar(f.progress, steps, f.opts.Verbose)
		for step := 0; step < steps; step++ {
			lo, hi := step*f.opts.BatchSize, min((step+1)*f.opts.BatchSize, f.n)
			xb, yb, swb := f.batch(order[lo:hi])
			if err := f.st.trainStep(xb, yb, swb); err != nil {
				return f.history, err
			}
			logs := f.st.compiled.Results()
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
		logs := f.st.compiled.Results()
		if f.valX != nil {
			val, err := f.m.Evaluate(f.valX, f.valY, EvaluateOptions{BatchSize: f.opts.BatchSize})
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
	if fin, ok := f.m.optimizer.(interface{ FinalizeVariableValues() }); ok {
		f.m.mu.Lock()
		fin.FinalizeVariableValues()
		f.m.mu.Unlock()
	}
	for _, cb := range f.opts.Callbacks {
		if err := cb.OnTrainEnd(); err != nil {
			return f.history, err
		}
	}
	return f.history, nil
}

// batch gathers the samples at idx (contiguous runs share data).
func (f *fitRun) batch(idx []int) (x, y []*Tensor, sw *Tensor) {
	gather := func(ts []*Tensor) []*Tensor {
		out := make([]*Tensor, len(ts))
		for i, t := range ts {
			row := runtime.ShapeSize(t.Shape[1:])
			g := &Tensor{Shape: append([]int{len(idx)}, t.Shape[1:]...), Data: make([]float32, len(idx)*row)}
			for j, s := range idx {
				copy(g.Data[j*row:(j+1)*row], t.Data[s*row:(s+1)*row])
			}
			out[i] = g
		}
		return out
	}
	x, y = gather(f.x), gather(f.y)
	if f.sw != nil {
		sw = gather([]*Tensor{f.sw})[0]
	}
	return x, y, sw
}
