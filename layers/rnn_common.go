package layers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// The recurrent layers share one mechanism, as in Keras: a cell computes
// one time step (LSTMCell, GRUCell, SimpleRNNCell) and the RNN layer
// drives it over the time axis (keras.layers.RNN with
// return_sequences, return_state, go_backwards, masks and initial_state;
// the TensorFlow backend's rnn loop). LSTM, GRU and SimpleRNN are RNN
// layers whose cell is built from their own configuration.
//
// Forward precomputes the input projection x·kernel + bias for every step
// in one GEMM, then runs the recurrence; the backward pass is
// backpropagation through time over the steps Forward recorded.

// NamedChild is a sub-layer a layer holds under a Keras attribute name.
type NamedChild struct {
	// Name is the Keras attribute: "cell", "forward_layer",
	// "backward_layer", "layer".
	Name  string
	Layer Layer
}

// Tracked is a layer that is not a model but holds other layers whose
// weights Keras 3 saves under the attribute names
// (<layer path>/cell/vars/<i>, <layer path>/forward_layer/cell/vars/<i>,
// <layer path>/layer/vars/<i>); the layer's own vars group holds only its
// own Weights.
type Tracked interface {
	Layer
	TrackedChildren() []NamedChild
}

// AllWeights lists a layer's variables and those of the layers it holds,
// in Keras's layer.weights order for the layers of this package (own
// weights first, then each child's): the order of a layer's weights in a
// legacy HDF5 file and in the layer fixtures.
func AllWeights(l Layer) []*runtime.Variable {
	out := append([]*runtime.Variable(nil), l.Weights()...)
	if c, ok := l.(Container); ok {
		if _, isModel := l.(*Model); !isModel {
			for _, ch := range c.Children() {
				out = append(out, AllWeights(ch)...)
			}
		}
	}
	return out
}

// rnnCell is one recurrent step over one frame per sample: a (features,)
// vector for LSTMCell, GRUCell and SimpleRNNCell, a (spatial...,
// channels) image for ConvLSTM's cell. Its output is one of its states
// (h).
type rnnCell interface {
	Layer
	// stateShapes are the per-sample shapes of the states in Keras's
	// order ((units,) twice for LSTM: h, c); known once built.
	stateShapes() [][]int
	// outputState is the index of the state the cell outputs.
	outputState() int
	// buildCell creates the weights for a per-sample frame shape.
	buildCell(frame []int) error
	// frameShape is the frame shape the cell was built for (nil before).
	frameShape() []int
	// project returns the input's contribution to every step for rows
	// frames (x·kernel + input bias): the part of every step that does
	// not depend on the states, computed for all steps at once.
	project(x []float32, rows int) []float32
	// projectBack returns dL/dx for dL/dproject and adds the kernel and
	// input bias gradients to g.
	projectBack(x, gp []float32, rows int, g *gradBuffers) []float32
	// step computes the new states from a step's projection p
	// (batch × projection width) and the previous states.
	step(p []float32, prev [][]float32, batch int) (next [][]float32, cache any)
	// stepBack maps the gradients of a step's new states to those of its
	// projection and previous states, adding recurrent weight gradients
	// to g.
	stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) (gp []float32, gPrev [][]float32)
}

// callCell is a cell that keeps something for one call in training (its
// dropout masks, drawn once per call and used at every step, as Keras's
// DropoutRNNCell does): forCall returns the cell to run for that call of
// batch sequences.
type callCell interface {
	forCall(ctx *runtime.Context, batch int) (rnnCell, error)
}

// gradBuffers accumulates weight gradients during one backward pass.
type gradBuffers struct {
	m map[*runtime.Variable][]float32
}

// of returns the gradient buffer of v, created zeroed.
func (g *gradBuffers) of(v *runtime.Variable) []float32 {
	if g.m == nil {
		g.m = map[*runtime.Variable][]float32{}
	}
	b, ok := g.m[v]
	if !ok {
		b = make([]float32, len(v.Value.Data))
		g.m[v] = b
	}
	return b
}

// flush adds the accumulated gradients to the context.
func (g *gradBuffers) flush(ctx *runtime.Context, vars []*runtime.Variable) {
	for _, v := range vars {
		if b, ok := g.m[v]; ok && v.Trainable {
			ctx.AccumulateGrad(v, &runtime.Tensor{Shape: copyShape(v.Value.Shape), Data: b})
		}
	}
}

// rnnOptions are keras.layers.RNN's arguments.
type rnnOptions struct {
	ReturnSequences, ReturnState, GoBackwards, ZeroOutputForMask bool
	// Stateful keeps the final states of a call as the next call's
	// initial states (see rnn_state.go).
	Stateful bool
}

// RNN is keras.layers.RNN and the layers built on it (LSTM, GRU,
// SimpleRNN): a cell run over the time axis of (batch, time, features)
// inputs. Inputs: the sequences, then optionally the initial states
// (Keras's initial_state argument). Outputs: the last output (batch,
// units) or, with return_sequences, all of them (batch, time, units);
// then, with return_state, the final states. A mask on the sequences
// skips the masked steps: the states carry over and the output repeats
// the previous one (zeros with zero_output_for_mask).
type RNN struct {
	Base
	rnnOptions
	Cell rnnCell
	// statefulBatch is the batch size a stateful layer was built for.
	statefulBatch int
}

// newRNNLayer reads RNN's arguments around a cell.
func newRNNLayer(spec *kerasjson.Layer, cell rnnCell) (*RNN, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &RNN{Base: b, Cell: cell}
	c := spec.Config
	for _, f := range []struct {
		key string
		dst *bool
	}{
		{"return_sequences", &l.ReturnSequences}, {"return_state", &l.ReturnState},
		{"go_backwards", &l.GoBackwards}, {"zero_output_for_mask", &l.ZeroOutputForMask},
		{"stateful", &l.Stateful},
	} {
		if *f.dst, err = c.Bool(f.key, false); err != nil {
			return nil, err
		}
	}
	// unroll only changes how TensorFlow builds the loop.
	cell.Common().Trainable = l.Trainable
	return l, nil
}

// numStates is how many states a cell has.
func numStates(c rnnCell) int { return len(c.stateShapes()) }

// stateSizes are the per-sample element counts of a cell's states.
func stateSizes(c rnnCell) []int {
	sh := c.stateShapes()
	out := make([]int, len(sh))
	for k, s := range sh {
		out[k] = runtime.ShapeSize(s)
	}
	return out
}

// outputShape is the per-sample shape of a cell's output.
func outputShape(c rnnCell) []int { return c.stateShapes()[c.outputState()] }

func init() {
	Register("RNN", newRNN, Supports{Inference: true, Training: true})
}

// rnnCellFactories builds the cells keras.layers.RNN can hold.
var rnnCellFactories = map[string]func(spec *kerasjson.Layer) (rnnCell, error){}

// registerCell makes a cell class available inside RNN and
// StackedRNNCells, and registers it as a layer class (the README's layer
// table lists it): a cell met outside an RNN is refused by its Build.
func registerCell(class string, f func(spec *kerasjson.Layer) (rnnCell, error)) {
	rnnCellFactories[class] = f
	Register(class, func(spec *kerasjson.Layer) (Layer, error) { return f(spec) }, Supports{Inference: true, Training: true})
}

func newRNN(spec *kerasjson.Layer) (Layer, error) {
	o, err := spec.Config.Object("cell")
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("layer %s (RNN): no cell in the configuration", spec.Name)
	}
	cell, err := newCell(spec, o)
	if err != nil {
		return nil, err
	}
	return newRNNLayer(spec, cell)
}

// newCell builds the cell o of the layer spec (an RNN or a
// StackedRNNCells).
func newCell(spec *kerasjson.Layer, o *kerasjson.Object) (rnnCell, error) {
	f, ok := rnnCellFactories[o.ClassName]
	if !ok {
		return nil, fmt.Errorf("layer %s (%s): cell class %s is not supported (LSTMCell, GRUCell, SimpleRNNCell and StackedRNNCells are)", spec.Name, spec.ClassName, o.ClassName)
	}
	name, _ := o.Config.String("name", "")
	return f(&kerasjson.Layer{ClassName: o.ClassName, Name: name, Config: o.Config})
}

// Children returns the cell.
func (l *RNN) Children() []Layer { return []Layer{l.Cell} }

// TrackedChildren returns the cell, saved under "cell".
func (l *RNN) TrackedChildren() []NamedChild { return []NamedChild{{"cell", l.Cell}} }

// TensorKwargs names the call argument whose tensors follow the sequences.
func (l *RNN) TensorKwargs() []string { return []string{"initial_state"} }

// Weights returns nothing: the weights are the cell's.
func (l *RNN) Weights() []*runtime.Variable { return nil }

// Build builds the cell for the input's frame shape (the features, or a
// ConvLSTM's image).
func (l *RNN) Build(in [][]int) ([][]int, error) {
	if len(in) == 0 || len(in[0]) < 3 {
		return nil, ShapeError(&l.Base, "expects (batch, time, features...) sequences, got %s", shapesString(in))
	}
	frame := in[0][2:]
	for _, d := range frame {
		if d <= 0 {
			return nil, ShapeError(&l.Base, "the dimensions after time must be known, got %s", runtime.FormatShape(in[0]))
		}
	}
	if l.Cell.frameShape() == nil {
		if err := l.Cell.buildCell(frame); err != nil {
			return nil, err
		}
	} else if !slices.Equal(l.Cell.frameShape(), frame) {
		return nil, ShapeError(&l.Base, "built for steps of shape %s, called on %s", runtime.FormatShape(l.Cell.frameShape()), runtime.FormatShape(in[0]))
	}
	shapes := l.Cell.stateShapes()
	if len(in) != 1 && len(in) != 1+len(shapes) {
		return nil, ShapeError(&l.Base, "takes the sequences and %d initial states, got %d inputs", len(shapes), len(in))
	}
	for k, s := range in[1:] {
		if len(s) != 1+len(shapes[k]) || !shapeCompatible(append([]int{s[0]}, shapes[k]...), s) {
			return nil, ShapeError(&l.Base, "initial state %d must be (batch, %s), got %s", k, strings.Trim(runtime.FormatShape(shapes[k]), "()"), shapesString(in))
		}
	}
	batch, steps := in[0][0], in[0][1]
	if err := l.buildState(batch); err != nil {
		return nil, err
	}
	out := [][]int{append([]int{batch}, outputShape(l.Cell)...)}
	if l.ReturnSequences {
		out[0] = append([]int{batch, steps}, outputShape(l.Cell)...)
	}
	if l.ReturnState {
		for _, sh := range shapes {
			out = append(out, append([]int{batch}, sh...))
		}
	}
	return out, nil
}

// Forward runs the recurrence without masks.
func (l *RNN) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	out, _, back, err := l.ForwardMasked(ctx, in, nil)
	return out, back, err
}

// ForwardMasked runs the recurrence, skipping the steps the sequences'
// mask marks; the output sequence keeps the mask.
func (l *RNN) ForwardMasked(ctx *runtime.Context, in, masks []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	var mask *runtime.Tensor
	if len(masks) > 0 {
		mask = masks[0]
	}
	out, back, err := l.run(ctx, in, mask, l.Trainable)
	if err != nil {
		return nil, nil, nil, err
	}
	var outMasks []*runtime.Tensor
	if mask != nil && l.ReturnSequences {
		outMasks = make([]*runtime.Tensor, len(out))
		outMasks[0] = mask
	}
	return out, outMasks, back, nil
}

// rnnStep is what one step keeps for the backward pass.
type rnnStep struct {
	cache any
	mask  []bool // nil: every row computed
}

// run is keras.layers.RNN.call around the time loop: it checks the
// inputs, sets up the initial states and the input projection, runs
// loop, and assembles the outputs (the last output or the sequence, then
// with return_state the final states); its backward pass does the same
// around loopBack. trainable says whether weight gradients are wanted
// (false inside a frozen wrapper).
func (l *RNN) run(ctx *runtime.Context, in []*runtime.Tensor, mask *runtime.Tensor, trainable bool) ([]*runtime.Tensor, runtime.Backward, error) {
	cell := l.Cell
	frame := cell.frameShape()
	if len(in) == 0 || in[0].Rank() != 2+len(frame) || !slices.Equal(in[0].Shape[2:], frame) {
		return nil, nil, ShapeError(&l.Base, "expects (batch, time, %s) sequences, got %s", strings.Trim(runtime.FormatShape(frame), "()"), shapesOf(in))
	}
	x := in[0]
	batch, steps := x.Shape[0], x.Shape[1]
	if cc, ok := cell.(callCell); ok && ctx.Training {
		var err error
		if cell, err = cc.forCall(ctx, batch); err != nil {
			return nil, nil, ShapeError(&l.Base, "%v", err)
		}
	}
	shapes, sizes := cell.stateShapes(), stateSizes(cell)
	outShape := outputShape(cell)
	ns := len(shapes)
	if len(in) != 1 && len(in) != 1+ns {
		return nil, nil, ShapeError(&l.Base, "takes the sequences and %d initial states, got %d inputs", ns, len(in))
	}
	if mask != nil && mask.Size() != batch*steps {
		return nil, nil, ShapeError(&l.Base, "mask %s does not fit sequences %s", runtime.FormatShape(mask.Shape), runtime.FormatShape(x.Shape))
	}
	kept, err := l.keptStates(ctx, batch)
	if err != nil {
		return nil, nil, err
	}
	states := make([][]float32, ns)
	for k := range states {
		states[k] = make([]float32, batch*sizes[k])
		if len(in) > 1 {
			s := in[1+k]
			if s.Size() != batch*sizes[k] {
				return nil, nil, ShapeError(&l.Base, "initial state %d has shape %s, want %s", k, runtime.FormatShape(s.Shape), runtime.FormatShape(append([]int{batch}, shapes[k]...)))
			}
			copy(states[k], s.Data)
		} else if kept != nil {
			copy(states[k], kept[k].Data)
		}
	}
	proj := cell.project(x.Data, batch*steps)
	pw := len(proj) / max(batch*steps, 1)
	seq, last, states, trace := l.loop(cell, proj, pw, states, mask, batch, steps, ctx.Grad)
	l.keepStates(ctx, states, batch)
	var out []*runtime.Tensor
	if seq != nil {
		out = append(out, &runtime.Tensor{Shape: append([]int{batch, steps}, outShape...), Data: seq})
	} else {
		out = append(out, &runtime.Tensor{Shape: append([]int{batch}, outShape...), Data: last})
	}
	if l.ReturnState {
		for k := range states {
			out = append(out, &runtime.Tensor{Shape: append([]int{batch}, shapes[k]...), Data: states[k]})
		}
	}
	if !ctx.Grad {
		return out, nil, nil
	}
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		var g gradBuffers
		gState := make([][]float32, ns)
		for k := range gState {
			gState[k] = make([]float32, batch*sizes[k])
			if l.ReturnState && 1+k < len(gout) && gout[1+k] != nil {
				copy(gState[k], gout[1+k].Data)
			}
		}
		gLast := make([]float32, batch*sizes[cell.outputState()])
		if !l.ReturnSequences && len(gout) > 0 && gout[0] != nil {
			copy(gLast, gout[0].Data)
		}
		var gSeq []float32
		if l.ReturnSequences && len(gout) > 0 && gout[0] != nil {
			gSeq = gout[0].Data
		}
		gproj := l.loopBack(cell, trace, pw, gSeq, gLast, gState, batch, steps, &g)
		gx := cell.projectBack(x.Data, gproj, batch*steps, &g)
		if trainable && cell.Common().Trainable {
			g.flush(ctx, AllWeights(cell))
		}
		gin := []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gx}}
		if len(in) > 1 {
			for k := range gState {
				gin = append(gin, &runtime.Tensor{Shape: copyShape(in[1+k].Shape), Data: gState[k]})
			}
		}
		return gin, nil
	}
	return out, back, nil
}

// stepTime is the time index of loop step s (reversed with go_backwards).
func (l *RNN) stepTime(s, steps int) int {
	if l.GoBackwards {
		return steps - 1 - s
	}
	return s
}

// loop is the time loop (the backend's rnn): it steps the cell over proj,
// the input projections (batch, steps, pw), from states, carrying a
// masked row's states and previous output over the step (or zeroing that
// output with zero_output_for_mask). It returns the outputs in step order
// (only with return_sequences), the last output, the final states and,
// when trace is asked for, what each step keeps for loopBack.
func (l *RNN) loop(cell rnnCell, proj []float32, pw int, states [][]float32, mask *runtime.Tensor, batch, steps int, trace bool) (seq, last []float32, final [][]float32, rec []rnnStep) {
	sizes, o := stateSizes(cell), cell.outputState()
	u := sizes[o]
	if l.ReturnSequences {
		seq = make([]float32, batch*steps*u)
	}
	last = make([]float32, batch*u)
	if trace {
		rec = make([]rnnStep, steps)
	}
	p := make([]float32, batch*pw)
	for s := 0; s < steps; s++ {
		t := l.stepTime(s, steps)
		for b := 0; b < batch; b++ {
			copy(p[b*pw:(b+1)*pw], proj[(b*steps+t)*pw:(b*steps+t+1)*pw])
		}
		next, cache := cell.step(p, states, batch)
		var rows []bool
		if mask != nil {
			rows = make([]bool, batch)
			all := true
			for b := range rows {
				rows[b] = mask.Data[b*steps+t] != 0
				all = all && rows[b]
			}
			if all {
				rows = nil
			}
		}
		if rows == nil {
			states = next
			copy(last, next[o])
		} else {
			// The cell's cache may hold the previous states: build the
			// carried states in next, which the cell no longer reads.
			for b, keep := range rows {
				if keep {
					copy(last[b*u:(b+1)*u], next[o][b*u:(b+1)*u])
					continue
				}
				for k, n := range sizes {
					copy(next[k][b*n:(b+1)*n], states[k][b*n:(b+1)*n])
				}
				if l.ZeroOutputForMask {
					clear(last[b*u : (b+1)*u])
				}
			}
			states = next
		}
		if seq != nil {
			for b := 0; b < batch; b++ {
				copy(seq[(b*steps+s)*u:(b*steps+s+1)*u], last[b*u:(b+1)*u])
			}
		}
		if rec != nil {
			rec[s] = rnnStep{cache: cache, mask: rows}
		}
	}
	return seq, last, states, rec
}

// loopBack is loop's backward pass, backpropagation through time over
// trace: from the gradients of the output sequence (gSeq, in step order;
// nil when not returned), of the last output (gLast) and of the final
// states (gState), it returns the gradient of the input projections and
// leaves in gState that of the initial states, adding recurrent weight
// gradients to g. It overwrites gLast.
func (l *RNN) loopBack(cell rnnCell, trace []rnnStep, pw int, gSeq, gLast []float32, gState [][]float32, batch, steps int, g *gradBuffers) []float32 {
	sizes, o := stateSizes(cell), cell.outputState()
	u := sizes[o]
	gproj := make([]float32, batch*steps*pw)
	gNext := make([][]float32, len(gState))
	for k := range gNext {
		gNext[k] = make([]float32, batch*sizes[k])
	}
	for s := steps - 1; s >= 0; s-- {
		t := l.stepTime(s, steps)
		gO := gLast
		if gSeq != nil {
			for b := 0; b < batch; b++ {
				row := gO[b*u : (b+1)*u]
				for j, v := range gSeq[(b*steps+s)*u : (b*steps+s+1)*u] {
					row[j] += v
				}
			}
		}
		rows := trace[s].mask
		for k := range gNext {
			copy(gNext[k], gState[k])
		}
		for j, v := range gO {
			gNext[o][j] += v
		}
		if rows == nil {
			clear(gLast)
		} else {
			for b, keep := range rows {
				if keep {
					clear(gLast[b*u : (b+1)*u])
					continue
				}
				for k, n := range sizes {
					clear(gNext[k][b*n : (b+1)*n])
				}
				if l.ZeroOutputForMask {
					clear(gLast[b*u : (b+1)*u])
				}
				// gLast keeps gO's row: the output repeated the
				// previous one.
			}
		}
		gp, gPrev := cell.stepBack(trace[s].cache, gNext, batch, g)
		for k, n := range sizes {
			if rows == nil {
				copy(gState[k], gPrev[k])
				continue
			}
			for b, keep := range rows {
				if keep {
					copy(gState[k][b*n:(b+1)*n], gPrev[k][b*n:(b+1)*n])
				}
			}
		}
		for b := 0; b < batch; b++ {
			copy(gproj[(b*steps+t)*pw:(b*steps+t+1)*pw], gp[b*pw:(b+1)*pw])
		}
	}
	return gproj
}

func shapesOf(in []*runtime.Tensor) string {
	s := make([][]int, len(in))
	for i, t := range in {
		s[i] = t.Shape
	}
	return shapesString(s)
}

// cellCore holds what LSTMCell, GRUCell and SimpleRNNCell share: units,
// activations and the kernel, recurrent kernel and bias in Keras order.
type cellCore struct {
	Base
	Units               int
	Activation          *activation
	RecurrentActivation *activation // nil for SimpleRNNCell
	UseBias             bool
	Dropout             float64
	RecurrentDropout    float64
	Kernel              *runtime.Variable
	RecurrentKernel     *runtime.Variable
	Bias                *runtime.Variable
	gates               int
	states              int  // 2 for LSTMCell (h, c), 1 for GRUCell and SimpleRNNCell
	implementation      int  // Keras's implementation argument: 1 draws a dropout mask per gate (LSTM, GRU)
	perStepDropout      bool // dropout draws a mask per step, not per sequence (tfKerasFusedDropout)

	packedKernel    runtime.Packed[*kernels.PackedB]
	packedKernelT   runtime.Packed[*kernels.PackedB]
	packedRecurrent runtime.Packed[*kernels.PackedB]
	packedRecT      runtime.Packed[*kernels.PackedB]
}

// init reads a cell's common arguments; name is the cell's Keras name
// (lstm_cell, gru_cell, simple_rnn_cell) when the configuration is the
// layer's own.
func (c *cellCore) init(spec *kerasjson.Layer, class, name string, gates, states int, recurrent bool) error {
	b, err := NewBase(spec)
	if err != nil {
		return err
	}
	if name != "" {
		b.Name, b.ClassName = name, class
	}
	c.Base, c.gates, c.states = b, gates, states
	cfg := spec.Config
	if c.Units, err = cfg.Int("units", 0); err != nil {
		return err
	}
	if c.Units <= 0 {
		return ShapeError(&c.Base, "units must be positive, got %d", c.Units)
	}
	if c.UseBias, err = cfg.Bool("use_bias", true); err != nil {
		return err
	}
	readAct := func(key, def string) (*activation, error) { return readCellActivation(&c.Base, cfg, key, def) }
	if c.Activation, err = readAct("activation", "tanh"); err != nil {
		return err
	}
	if recurrent {
		if c.RecurrentActivation, err = readAct("recurrent_activation", "sigmoid"); err != nil {
			return err
		}
	}
	if c.Dropout, err = cfg.Float("dropout", 0); err != nil {
		return err
	}
	if c.RecurrentDropout, err = cfg.Float("recurrent_dropout", 0); err != nil {
		return err
	}
	if c.implementation, err = cfg.Int("implementation", 2); err != nil {
		return err
	}
	return nil
}

// readCellActivation reads a recurrent cell's activation argument (def
// when absent), refusing those that do not apply elementwise.
func readCellActivation(b *Base, cfg kerasjson.Config, key, def string) (*activation, error) {
	if !cfg.Has(key) {
		return activations[def], nil
	}
	o, err := cfg.Object(key)
	if err != nil {
		return nil, err
	}
	a, err := lookupActivation(o)
	if err != nil {
		return nil, err
	}
	if a.halves || a.name == "softmax" || a.name == "log_softmax" || a.name == "sparsemax" {
		return nil, ShapeError(b, "%s %s is not supported in a recurrent cell", key, a.name)
	}
	return a, nil
}

// stateShapes is (units,) per state.
func (c *cellCore) stateShapes() [][]int {
	out := make([][]int, c.states)
	for k := range out {
		out[k] = []int{c.Units}
	}
	return out
}

func (c *cellCore) outputState() int { return 0 }

func (c *cellCore) frameShape() []int {
	if c.Kernel == nil {
		return nil
	}
	return []int{c.Kernel.Value.Shape[0]}
}

// buildKernels creates kernel and recurrent_kernel for (features,)
// frames; the cell adds its bias.
func (c *cellCore) buildKernels(frame []int) error {
	if len(frame) != 1 {
		return ShapeError(&c.Base, "expects (batch, time, features) sequences, got steps of shape %s", runtime.FormatShape(frame))
	}
	d, w := frame[0], c.gates*c.Units
	c.Kernel = &runtime.Variable{Name: "kernel", Value: runtime.NewTensor(d, w), Trainable: true}
	c.RecurrentKernel = &runtime.Variable{Name: "recurrent_kernel", Value: runtime.NewTensor(c.Units, w), Trainable: true}
	return nil
}

// Weights returns kernel, recurrent_kernel and bias.
func (c *cellCore) Weights() []*runtime.Variable {
	if c.Kernel == nil {
		return nil
	}
	if c.Bias == nil {
		return []*runtime.Variable{c.Kernel, c.RecurrentKernel}
	}
	return []*runtime.Variable{c.Kernel, c.RecurrentKernel, c.Bias}
}

// Build builds the cell alone for (batch, features) inputs.
func (c *cellCore) Build(in [][]int) ([][]int, error) {
	return nil, ShapeError(&c.Base, "a recurrent cell runs inside its RNN layer")
}

// Forward refuses to run a cell outside its RNN layer.
func (c *cellCore) Forward(*runtime.Context, []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return nil, nil, ShapeError(&c.Base, "a recurrent cell runs inside its RNN layer")
}

// projectWith returns x·kernel + bias (bias may be nil).
func (c *cellCore) projectWith(x []float32, rows int, bias []float32) []float32 {
	d, w := c.Kernel.Value.Shape[0], c.Kernel.Value.Shape[1]
	out := make([]float32, rows*w)
	if rows == 0 {
		return out
	}
	pb := c.packedKernel.Get(func() *kernels.PackedB { return kernels.PackB(d, w, c.Kernel.Value.Data, w) }, c.Kernel)
	kernels.Gemm(rows, w, d, x, d, pb, out, w, false, bias)
	return out
}

// projectBackWith returns gp·kernelᵀ and adds xᵀ·gp to the kernel's
// gradient and the column sums of gp to bias (when not nil).
func (c *cellCore) projectBackWith(x, gp []float32, rows int, g *gradBuffers, bias []float32) []float32 {
	d, w := c.Kernel.Value.Shape[0], c.Kernel.Value.Shape[1]
	gx := make([]float32, rows*d)
	if rows == 0 {
		return gx
	}
	addATB(g.of(c.Kernel), x, gp, rows, d, w)
	if bias != nil {
		for r := 0; r < rows; r++ {
			for j, v := range gp[r*w : (r+1)*w] {
				bias[j] += v
			}
		}
	}
	pt := c.packedKernelT.Get(func() *kernels.PackedB { return kernels.PackBTrans(w, d, c.Kernel.Value.Data, w) }, c.Kernel)
	kernels.Gemm(rows, d, w, gp, w, pt, gx, d, false, nil)
	return gx
}

// recurrent returns h·recurrent_kernel (all columns).
func (c *cellCore) recurrent(h []float32, batch int) []float32 {
	u, w := c.Units, c.gates*c.Units
	out := make([]float32, batch*w)
	pb := c.packedRecurrent.Get(func() *kernels.PackedB { return kernels.PackB(u, w, c.RecurrentKernel.Value.Data, w) }, c.RecurrentKernel)
	kernels.Gemm(batch, w, u, h, u, pb, out, w, false, nil)
	return out
}

// recurrentBack adds gz·recurrent_kernelᵀ to gh and hᵀ·gz to the
// recurrent kernel's gradient.
func (c *cellCore) recurrentBack(h, gz []float32, batch int, gh []float32, g *gradBuffers) {
	u, w := c.Units, c.gates*c.Units
	addATB(g.of(c.RecurrentKernel), h, gz, batch, u, w)
	pt := c.packedRecT.Get(func() *kernels.PackedB { return kernels.PackBTrans(w, u, c.RecurrentKernel.Value.Data, w) }, c.RecurrentKernel)
	kernels.Gemm(batch, u, w, gz, w, pt, gh, u, true, nil)
}

// addATB adds aᵀ·b to dst (m × n), for a (rows × m) and b (rows × n).
func addATB(dst, a, b []float32, rows, m, n int) {
	for r := 0; r < rows; r++ {
		br := b[r*n : (r+1)*n]
		for i, av := range a[r*m : (r+1)*m] {
			if av == 0 {
				continue
			}
			d := dst[i*n : (i+1)*n]
			for j, bv := range br {
				d[j] += av * bv
			}
		}
	}
}

// applyGate writes act(z) for gate g (columns g*u..(g+1)*u of each row of
// width w) into y.
func applyGate(act *activation, z, y []float32, batch, w, g, u int) {
	for b := 0; b < batch; b++ {
		o := b*w + g*u
		act.forward(z[o:o+u], y[o:o+u], u)
	}
}

// gateGrad writes dL/dz for gate g into gz from y = act(z) and gy.
func gateGrad(act *activation, z, y, gy, gz []float32, batch, w, g, u int) {
	for b := 0; b < batch; b++ {
		o := b*w + g*u
		act.backward(z[o:o+u], y[o:o+u], gy[o:o+u], gz[o:o+u], u)
	}
}
