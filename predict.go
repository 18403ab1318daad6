package kerasrun

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/kerasrun/kerasrun/internal/npy"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/train"
)

// PredictOptions are the arguments of Keras's model.predict().
type PredictOptions struct {
	// BatchSize is the number of samples per batch; 0 means Keras's
	// default, 32, or the model's fixed batch size when its inputs declare
	// one.
	BatchSize int
	// Verbose is 0 (silent), 1 (Keras's progress bar) or 2 (one line at
	// the end), written to Progress; nothing is written when Progress is
	// nil.
	Verbose  int
	Progress io.Writer
	// OnBatch, when set, is called after each batch with the samples it
	// held.
	OnBatch func(samples int)
}

// An InputSource yields one model input batch by batch for
// PredictSources: a tensor in memory (TensorSource) or a .npy file read
// as it goes (OpenNPYRows).
type InputSource interface {
	// Shape is the whole input's shape, samples first.
	Shape() []int
	// Next returns the next n samples (fewer at the end).
	Next(n int) (*Tensor, error)
}

// TensorSource serves t's samples in order, without copying them.
func TensorSource(t *Tensor) InputSource { return &tensorSource{t: t} }

type tensorSource struct {
	t    *Tensor
	next int
}

func (s *tensorSource) Shape() []int { return s.t.Shape }

func (s *tensorSource) Next(n int) (*Tensor, error) {
	if len(s.t.Shape) == 0 || len(s.t.Data) != runtime.ShapeSize(s.t.Shape) {
		return nil, fmt.Errorf("tensor of shape %v holds %d values", s.t.Shape, len(s.t.Data))
	}
	n = max(min(n, s.t.Shape[0]-s.next), 0)
	row := 1
	for _, d := range s.t.Shape[1:] {
		row *= d
	}
	x := &Tensor{Shape: append([]int{n}, s.t.Shape[1:]...), Data: s.t.Data[s.next*row : (s.next+n)*row]}
	s.next += n
	return x, nil
}

// NPYRows reads a .npy file's samples a batch at a time (an InputSource),
// so a large input is never in memory whole.
type NPYRows struct {
	r    *npy.RowReader
	path string
}

// OpenNPYRows opens a .npy file for reading batch by batch; Close it.
func OpenNPYRows(path string) (*NPYRows, error) {
	r, err := npy.OpenRows(path)
	if err != nil {
		return nil, err
	}
	return &NPYRows{r: r, path: path}, nil
}

// Shape is the whole array's shape.
func (s *NPYRows) Shape() []int { return s.r.Shape() }

// Next reads the next n samples.
func (s *NPYRows) Next(n int) (*Tensor, error) {
	data, got, err := s.r.ReadRows(n)
	if err != nil {
		return nil, err
	}
	return &Tensor{Shape: append([]int{got}, s.r.Shape()[1:]...), Data: data}, nil
}

// Close closes the file.
func (s *NPYRows) Close() error { return s.r.Close() }

// PredictContext is Predict, refused when ctx is already done; a batch
// that has started runs to its end.
func (m *Model) PredictContext(ctx context.Context, inputs ...*Tensor) ([]*Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kerasrun: %s: predict: %w", m.info.Path, err)
	}
	return m.Predict(inputs...)
}

// PredictBatches runs the model on inputs split into batches of
// opts.BatchSize samples, the last one shorter, and concatenates the
// outputs along the samples, as Keras's model.predict(x, batch_size=...)
// does. Stateful layers carry their states from batch to batch. ctx is
// checked between batches.
func (m *Model) PredictBatches(ctx context.Context, inputs []*Tensor, opts PredictOptions) ([]*Tensor, error) {
	srcs := make([]InputSource, len(inputs))
	for i, x := range inputs {
		if x == nil {
			return nil, fmt.Errorf("kerasrun: %s: input %d is nil", m.info.Path, i)
		}
		srcs[i] = TensorSource(x)
	}
	return m.PredictSources(ctx, srcs, opts)
}

// PredictSources is PredictBatches on inputs read batch by batch from
// srcs (one per model input, in the model's order): only one batch of
// the inputs is in memory at a time.
func (m *Model) PredictSources(ctx context.Context, srcs []InputSource, opts PredictOptions) ([]*Tensor, error) {
	n, err := m.checkSources(srcs)
	if err != nil {
		return nil, err
	}
	bs := opts.BatchSize
	if bs <= 0 {
		bs = 32
		if fb := m.net.FixedBatch(); fb > 0 {
			bs = fb
		}
	}
	steps := (n + bs - 1) / bs
	var bar *train.Progbar
	if opts.Progress != nil && opts.Verbose > 0 {
		bar = train.NewProgbar(opts.Progress, steps, opts.Verbose)
	}
	st := &runtime.State{}
	var outs []*Tensor
	for step, start := 0, 0; start < n; step, start = step+1, start+bs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: predict: stopped before samples %d to %d of %d: %w", m.info.Path, start, min(start+bs, n), n, err)
		}
		want := min(bs, n-start)
		chunk := make([]*Tensor, len(srcs))
		for i, s := range srcs {
			x, err := s.Next(want)
			if err != nil {
				return nil, fmt.Errorf("kerasrun: %s: input %q, samples %d to %d: %w", m.info.Path, m.net.InputNames[i], start, start+want, err)
			}
			if len(x.Shape) == 0 || x.Shape[0] != want {
				return nil, fmt.Errorf("kerasrun: %s: input %q gave %v for samples %d to %d", m.info.Path, m.net.InputNames[i], x.Shape, start, start+want)
			}
			chunk[i] = x
		}
		ys, err := m.predict(st, chunk)
		if err != nil {
			return nil, fmt.Errorf("%w (samples %d to %d of %d)", err, start, start+want, n)
		}
		if outs == nil {
			outs = make([]*Tensor, len(ys))
			for j, y := range ys {
				outs[j] = &Tensor{Shape: append([]int{n}, y.Shape[1:]...), Data: make([]float32, 0, n*(len(y.Data)/max(want, 1)))}
			}
		}
		for j, y := range ys {
			if len(y.Shape) == 0 || y.Shape[0] != want || !slices.Equal(y.Shape[1:], outs[j].Shape[1:]) {
				return nil, fmt.Errorf("kerasrun: %s: output %q has shape %s for a batch of %d: its batches cannot be concatenated", m.info.Path, m.net.OutputNames[j], runtime.FormatShape(y.Shape), want)
			}
			outs[j].Data = append(outs[j].Data, y.Data...)
		}
		if opts.OnBatch != nil {
			opts.OnBatch(want)
		}
		if bar != nil && opts.Verbose == 1 {
			bar.Update(step+1, nil, false)
		}
	}
	if bar != nil {
		bar.Update(steps, nil, true)
	}
	return outs, nil
}

// checkSources checks srcs against the model's inputs before anything is
// read: their number, one sample count, each sample's shape.
func (m *Model) checkSources(srcs []InputSource) (int, error) {
	names := m.net.InputNames
	if len(srcs) != len(names) {
		return 0, fmt.Errorf("kerasrun: %s: model takes %d input(s) (%s), got %d", m.info.Path, len(names), quoteAll(names), len(srcs))
	}
	n := -1
	for i, s := range srcs {
		shape := s.Shape()
		if err := m.checkInputShape(i, shape); err != nil {
			return 0, err
		}
		if n >= 0 && shape[0] != n {
			return 0, fmt.Errorf("kerasrun: %s: input %q has %d samples, input %q %d: every input needs the same number", m.info.Path, names[i], shape[0], names[0], n)
		}
		n = shape[0]
	}
	if n <= 0 {
		return 0, fmt.Errorf("kerasrun: %s: the inputs hold no samples", m.info.Path)
	}
	return n, nil
}

// checkInputShape refuses a shape that cannot be model input i, naming
// the input and both shapes.
func (m *Model) checkInputShape(i int, shape []int) error {
	want := m.net.InputShapes[i]
	ok := len(shape) == len(want) && len(shape) > 0
	for k := 1; ok && k < len(shape); k++ {
		ok = want[k] < 0 || want[k] == shape[k]
	}
	if !ok {
		return fmt.Errorf("kerasrun: %s: input %q has shape %s, the model takes %s", m.info.Path, m.net.InputNames[i], runtime.FormatShape(shape), runtime.FormatShape(want))
	}
	return nil
}
