// Package kerasrun loads the model files Python Keras writes (legacy HDF5
// .h5 from Keras 1, 2 and 3, the Keras 3 .keras archive, model JSON plus
// weights) and runs them: predict, evaluate and, later, continue training
// and save back.
//
// A loaded Model is safe for concurrent use by multiple goroutines. The
// states of stateful=True recurrent layers live in a State the caller owns
// (Model.NewState, Model.PredictState), never in the Model.
//
//	m, err := kerasrun.Load("model.keras")
//	out, err := m.Predict(x) // x: *kerasrun.Tensor of shape (batch, ...)
package kerasrun

import (
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/saving"
)

// Tensor is a dense row-major float32 array with a shape.
type Tensor = runtime.Tensor

// NewTensor wraps data in a tensor of the given shape.
func NewTensor(shape []int, data []float32) (*Tensor, error) { return runtime.FromData(shape, data) }

// Model is a loaded Keras model.
type Model struct {
	// f is the model as its file gave it (config, compile config,
	// optimizer state: what Save writes back); net and info are f.Net and
	// f.Info, fixed at load.
	f    *saving.Model
	net  *layers.Model
	info FileInfo
	// mu lets Predict and Evaluate run concurrently while training steps
	// and weight changes run alone.
	mu sync.RWMutex
}

// newModel wraps what saving loaded.
func newModel(f *saving.Model, err error) (*Model, error) {
	if err != nil {
		return nil, err
	}
	return &Model{f: f, net: f.Net, info: f.Info}, nil
}

// FileInfo describes where a model came from.
type FileInfo = saving.FileInfo

// TensorInfo names and shapes a model input or output; -1 marks an
// unknown dimension (the batch).
type TensorInfo = saving.TensorInfo

// Info returns where the model came from.
func (m *Model) Info() FileInfo { return m.info }

// Inputs describes the model's inputs in Keras's order.
func (m *Model) Inputs() []TensorInfo { return saving.TensorInfos(m.net.InputNames, m.net.InputShapes) }

// Outputs describes the model's outputs in Keras's order.
func (m *Model) Outputs() []TensorInfo {
	return saving.TensorInfos(m.net.OutputNames, m.net.OutputShapes)
}

// TrainingConfig returns what model.compile() recorded in the file, or nil.
func (m *Model) TrainingConfig() *kerasjson.TrainingConfig { return m.f.Training }

// Predict runs the model on one batch per input and returns one tensor per
// output. Inputs are checked against the model's input shapes. A model
// with stateful=True recurrent layers starts from zero states, as Keras
// does right after loading or reset_states(); PredictState carries them
// from call to call.
func (m *Model) Predict(inputs ...*Tensor) ([]*Tensor, error) {
	return m.predict(&runtime.State{}, inputs)
}

// predict is Predict from the stateful layers' states st.
func (m *Model) predict(st *runtime.State, inputs []*Tensor) ([]*Tensor, error) {
	if len(inputs) != len(m.net.InputNames) {
		return nil, fmt.Errorf("kerasrun: %s: model takes %d input(s) %v, got %d", m.info.Path, len(m.net.InputNames), m.net.InputNames, len(inputs))
	}
	batch := -1
	for i, x := range inputs {
		if x == nil || len(x.Shape) == 0 || len(x.Data) != runtime.ShapeSize(x.Shape) || hasNegative(x.Shape) {
			return nil, fmt.Errorf("kerasrun: %s: input %q is empty or its data does not fit its shape", m.info.Path, m.net.InputNames[i])
		}
		if batch >= 0 && x.Shape[0] != batch {
			return nil, fmt.Errorf("kerasrun: %s: inputs have different batch sizes (%d and %d)", m.info.Path, batch, x.Shape[0])
		}
		batch = x.Shape[0]
		if err := checkFinite(x); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: input %q: %w", m.info.Path, m.net.InputNames[i], err)
		}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if fb := m.net.FixedBatch(); fb > 0 && batch > fb {
		return m.predictChunks(st, inputs, batch, fb)
	}
	out, _, err := m.net.Forward(&runtime.Context{State: st}, inputs)
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", m.info.Path, err)
	}
	return out, nil
}

// predictChunks runs a model whose inputs declare a fixed batch size fb
// on batch samples in chunks of fb, the last one shorter when batch is
// not a multiple of fb (as tf-keras's predict(x, batch_size=fb) does),
// and concatenates the outputs along the batch. Stateful layers carry
// their states from chunk to chunk.
func (m *Model) predictChunks(st *runtime.State, inputs []*Tensor, batch, fb int) ([]*Tensor, error) {
	var outs []*Tensor
	for start := 0; start < batch; start += fb {
		n := min(fb, batch-start)
		chunk := make([]*Tensor, len(inputs))
		for i, x := range inputs {
			row := len(x.Data) / batch
			chunk[i] = &Tensor{Shape: append([]int{n}, x.Shape[1:]...), Data: x.Data[start*row : (start+n)*row]}
		}
		out, _, err := m.net.Forward(&runtime.Context{State: st}, chunk)
		if err != nil {
			return nil, fmt.Errorf("kerasrun: %s: samples %d to %d of %d (the model's fixed batch size is %d): %w", m.info.Path, start, start+n, batch, fb, err)
		}
		if outs == nil {
			outs = make([]*Tensor, len(out))
		}
		for j, o := range out {
			if len(o.Shape) == 0 || o.Shape[0] != n || (outs[j] != nil && !slices.Equal(o.Shape[1:], outs[j].Shape[1:])) {
				return nil, fmt.Errorf("kerasrun: %s: output %q has shape %s for a batch of %d: cannot split %d samples into batches of the model's fixed size %d", m.info.Path, m.net.OutputNames[j], runtime.FormatShape(o.Shape), n, batch, fb)
			}
			if outs[j] == nil {
				outs[j] = &Tensor{Shape: append([]int{batch}, o.Shape[1:]...), Data: make([]float32, 0, batch*(len(o.Data)/n))}
			}
			outs[j].Data = append(outs[j].Data, o.Data...)
		}
	}
	return outs, nil
}

func hasNegative(shape []int) bool {
	for _, d := range shape {
		if d < 0 {
			return true
		}
	}
	return false
}

// checkFinite rejects NaN and infinite inputs, which Keras would silently
// propagate into every output.
func checkFinite(x *Tensor) error {
	if i := runtime.FirstNonFinite(x.Data); i >= 0 {
		return fmt.Errorf("element %d is %v", i, x.Data[i])
	}
	return nil
}

// Summary writes a table of layers, output shapes and parameter counts,
// as Keras's model.summary() does.
func (m *Model) Summary(w io.Writer) error { return writeSummary(w, m) }

// kerasLayers lists a model's layers as Keras's model.layers does.
func kerasLayers(m *layers.Model) []layers.Layer { return layers.ModelLayers(m) }
