package kerasrun

import (
	"context"
	"fmt"

	"github.com/kerasrun/kerasrun/runtime"
)

// EvaluateSources is Evaluate on inputs x and targets y read batch by
// batch from sources (one per model input and output, in the model's
// order), so that only one batch of them is in memory at a time; sample
// weights are not taken (opts.SampleWeight must be nil). Shapes
// are checked, inputs against the model's and targets as CheckTargets
// does, before anything is read; ctx is checked between batches.
func (m *Model) EvaluateSources(ctx context.Context, x, y []InputSource, opts EvaluateOptions) (map[string]float64, error) {
	if opts.SampleWeight != nil {
		return nil, fmt.Errorf("kerasrun: %s: EvaluateSources takes no sample weights (Evaluate does)", m.info.Path)
	}
	n, err := m.checkSources(x)
	if err != nil {
		return nil, err
	}
	if len(y) != len(m.net.OutputNames) {
		return nil, fmt.Errorf("kerasrun: %s: the model has %d output(s) %s, got %d target(s)", m.info.Path, len(m.net.OutputNames), quoteAll(m.net.OutputNames), len(y))
	}
	shapes := make([]*Tensor, len(y))
	for i, s := range y {
		shape := s.Shape()
		if len(shape) == 0 || shape[0] != n {
			return nil, fmt.Errorf("kerasrun: %s: target for output %q has shape %s for %d input samples", m.info.Path, m.net.OutputNames[i], runtime.FormatShape(shape), n)
		}
		shapes[i] = &Tensor{Shape: shape}
	}
	if err := m.CheckTargets(shapes); err != nil {
		return nil, err
	}
	t, err := m.trainer(false)
	if err != nil {
		return nil, err
	}
	read := func(srcs []InputSource, names []string, kind string, start, end int) ([]*Tensor, error) {
		out := make([]*Tensor, len(srcs))
		for i, s := range srcs {
			b, err := s.Next(end - start)
			if err != nil {
				return nil, fmt.Errorf("%s %q, samples %d to %d: %w", kind, names[i], start, end, err)
			}
			if len(b.Shape) == 0 || b.Shape[0] != end-start {
				return nil, fmt.Errorf("%s %q gave %v for samples %d to %d", kind, names[i], b.Shape, start, end)
			}
			out[i] = b
		}
		return out, nil
	}
	res, err := t.EvaluateBatches(n, func(start, end int) ([]*runtime.Tensor, []*runtime.Tensor, *runtime.Tensor, error) {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, fmt.Errorf("evaluate: stopped before samples %d to %d of %d: %w", start, end, n, err)
		}
		xb, err := read(x, m.net.InputNames, "input", start, end)
		if err != nil {
			return nil, nil, nil, err
		}
		yb, err := read(y, m.net.OutputNames, "target", start, end)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := t.CheckBatch(xb, yb); err != nil {
			return nil, nil, nil, fmt.Errorf("samples %d to %d: %w", start, end, err)
		}
		return xb, yb, nil, nil
	}, opts)
	return res, m.wrapErr(err)
}
