package kerasrun

import (
	"fmt"

	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/train"
)

// EvaluateOptions are the arguments of Keras's model.evaluate().
type EvaluateOptions struct {
	// BatchSize is the number of samples per batch; 0 means Keras's
	// default, 32.
	BatchSize int
	// SampleWeight optionally weights each sample (shape (samples,)).
	SampleWeight *Tensor
}

// Evaluate computes the loss and metrics the model was compiled with
// (restored from the file) over x and y, batch by batch, and returns them
// under Keras's names ("loss", "accuracy", "<output>_loss", ...), as
// model.evaluate(x, y, return_dict=True) does.
func (m *Model) Evaluate(x, y []*Tensor, opts EvaluateOptions) (map[string]float64, error) {
	c, regs, err := m.compile()
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	penalty := train.Penalty(regs, nil)
	m.mu.RUnlock()
	if err := m.checkBatch(x, y); err != nil {
		return nil, err
	}
	n, err := sampleCount(append(append([]*Tensor(nil), x...), y...))
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", m.info.Path, err)
	}
	bs := opts.BatchSize
	if bs <= 0 {
		bs = 32
	}
	for start := 0; start < n; start += bs {
		end := min(start+bs, n)
		xb, yb := sliceBatch(x, start, end), sliceBatch(y, start, end)
		// Keras evaluates in graph mode, where the crossentropies of a
		// softmax/sigmoid output compute from its logits: so does this.
		m.mu.RLock()
		fw, err := m.forwardLoss(&runtime.Context{}, xb)
		m.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		var sw *Tensor
		if opts.SampleWeight != nil {
			sw = sliceBatch([]*Tensor{opts.SampleWeight}, start, end)[0]
		}
		if _, _, _, err := c.StepLogits(yb, fw.pred, fw.logits, sw, penalty+fw.layerLoss); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: %w", m.info.Path, err)
		}
	}
	return c.Results(), nil
}

// sampleCount checks that every array has the same first dimension.
func sampleCount(ts []*Tensor) (int, error) {
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

// sliceBatch returns rows [start, end) of each tensor, sharing data.
func sliceBatch(ts []*Tensor, start, end int) []*Tensor {
	out := make([]*Tensor, len(ts))
	for i, t := range ts {
		row := runtime.ShapeSize(t.Shape[1:])
		shape := append([]int{end - start}, t.Shape[1:]...)
		out[i] = &Tensor{Shape: shape, Data: t.Data[start*row : end*row]}
	}
	return out
}
