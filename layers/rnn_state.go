package layers

import (
	"github.com/kerasrun/kerasrun/runtime"
)

// A recurrent layer built with stateful=True starts each call from the
// final states of the previous one, as Keras's RNN does with its states
// variables, until reset_states() sets them back to zeros. Keras keeps
// those variables in the layer; here they live in the runtime.State the
// caller passes in the Context (kerasrun's Model.NewState), keyed by the
// layer, so a loaded model shared by many callers holds no sequence's
// state. As in Keras, a stateful layer needs a fixed batch size (the
// Input's batch_shape, batch_input_shape) and refuses any other batch;
// states passed as initial_state replace the kept ones for that call. In
// training the kept states are constants: the gradient stops at the
// batch's first step, as Keras's (its states are variables).

// buildState records the fixed batch size a stateful layer needs.
func (l *RNN) buildState(batch int) error {
	if !l.Stateful {
		return nil
	}
	if batch <= 0 {
		return ShapeError(&l.Base, "stateful=True needs a fixed batch size (an Input with batch_shape, or batch_input_shape), got an open batch")
	}
	l.statefulBatch = batch
	return nil
}

// keptStates returns the states the previous call left in ctx.State for a
// stateful layer (nil for zeros), after checking the batch against the
// layer's fixed batch size and the kept states'.
func (l *RNN) keptStates(ctx *runtime.Context, batch int) ([]*runtime.Tensor, error) {
	if !l.Stateful {
		return nil, nil
	}
	if ctx.State == nil {
		return nil, ShapeError(&l.Base, "a stateful=True layer runs only with a State that keeps its states between batches (kerasrun's Model.PredictState, FitState, EvaluateState)")
	}
	if l.statefulBatch > 0 && batch != l.statefulBatch {
		return nil, ShapeError(&l.Base, "is stateful: the batch size of the input sequences must be the layer's fixed batch size %d, got %d", l.statefulBatch, batch)
	}
	kept := ctx.State.Get(l)
	if kept == nil {
		return nil, nil
	}
	sizes := stateSizes(l.Cell)
	if len(kept) != len(sizes) {
		return nil, ShapeError(&l.Base, "the kept state holds %d tensors, the layer has %d states", len(kept), len(sizes))
	}
	for k, s := range kept {
		if s.Size() != batch*sizes[k] {
			return nil, ShapeError(&l.Base, "is stateful: the kept state has shape %s, the input batch is %d", runtime.FormatShape(s.Shape), batch)
		}
	}
	return kept, nil
}

// keepStates stores a stateful layer's final states for the next call.
func (l *RNN) keepStates(ctx *runtime.Context, states [][]float32, batch int) {
	if !l.Stateful || ctx.State == nil {
		return
	}
	shapes := l.Cell.stateShapes()
	kept := make([]*runtime.Tensor, len(states))
	for k, s := range states {
		kept[k] = &runtime.Tensor{Shape: append([]int{batch}, shapes[k]...), Data: append([]float32(nil), s...)}
	}
	ctx.State.Set(l, kept)
}
