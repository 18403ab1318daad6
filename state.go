package kerasrun

import (
	"fmt"
	"sync"

	"github.com/kerasrun/kerasrun/runtime"
)

// State holds the states that a model's stateful=True recurrent layers
// (SimpleRNN, LSTM, GRU, ConvLSTM, RNN and Bidirectional of them) carry
// from one batch to the next and from one PredictState, FitState or
// EvaluateState call to the next, as Keras keeps them in the layers
// between calls (Keras's fit, evaluate and predict share them too). The caller owns it: the Model itself keeps no state, so one loaded
// Model serves any number of independent sequences, each with its own
// State. Calls that share a State run one at a time.
type State struct {
	mu    sync.Mutex
	model *Model
	s     runtime.State
}

// NewState returns a State for m whose layers start from zero states.
func (m *Model) NewState() *State { return &State{model: m} }

// Reset sets every state back to zeros, as Keras's reset_states() does.
func (st *State) Reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Reset()
}

// PredictState is Predict starting from the states st holds; it leaves in
// st the final states of the stateful layers for the next call. A stateful
// layer needs the batch size its model declares (Input batch_shape or
// batch_input_shape); a larger multiple of it runs as consecutive batches,
// the states carried from one to the next, as Keras's predict does.
func (m *Model) PredictState(st *State, inputs ...*Tensor) ([]*Tensor, error) {
	if st == nil || st.model != m {
		return nil, fmt.Errorf("kerasrun: %s: PredictState needs a State from this model's NewState", m.info.Path)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return m.predict(&st.s, inputs)
}

// FitState is Fit starting from the states st holds: the stateful layers
// carry their states from batch to batch and leave the last ones in st,
// as Keras's fit does (it resets them only when asked: call st.Reset in
// a callback for that; keep Shuffle off so that batches follow each
// other in order). The gradient stops at each batch's first step, as in
// Keras. Every batch must have the model's fixed batch size.
func (m *Model) FitState(st *State, x, y []*Tensor, opts FitOptions) (*History, error) {
	if st == nil || st.model != m {
		return nil, fmt.Errorf("kerasrun: %s: FitState needs a State from this model's NewState", m.info.Path)
	}
	t, err := m.trainer(true)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	t.State = &st.s
	h, err := t.Fit(x, y, opts)
	return h, m.wrapErr(err)
}

// EvaluateState is Evaluate starting from the states st holds, carried
// from batch to batch and left in st, as Keras's evaluate does.
func (m *Model) EvaluateState(st *State, x, y []*Tensor, opts EvaluateOptions) (map[string]float64, error) {
	if st == nil || st.model != m {
		return nil, fmt.Errorf("kerasrun: %s: EvaluateState needs a State from this model's NewState", m.info.Path)
	}
	t, err := m.trainer(false)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	t.State = &st.s
	res, err := t.Evaluate(x, y, opts)
	return res, m.wrapErr(err)
}
