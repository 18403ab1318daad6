package runtime

import (
	"fmt"
	"math/rand/v2"
)

// Context carries what one forward (and backward) pass needs besides its
// inputs. A Context is used by one goroutine; the graph and its operations
// are shared read-only, so concurrent passes each use their own Context.
type Context struct {
	// Training selects training behaviour (Dropout active, BatchNormalization
	// using batch statistics).
	Training bool
	// Grad asks operations to return a Backward function from Forward.
	Grad bool
	// Rand is the source for dropout and noise in training.
	Rand *rand.Rand
	// Grads accumulates the gradient of every trainable Variable touched by
	// Backward functions; created on demand.
	Grads map[*Variable]*Tensor
	// Updates collects non-gradient variable updates made in training
	// (BatchNormalization moving statistics), applied after the step.
	Updates []VariableUpdate
	// Losses collects loss terms that layers add to the model's loss
	// (ActivityRegularization), as Keras's layer.add_loss does; a trainer
	// or evaluator adds their sum to the compiled loss. The layers'
	// Backward functions already include these terms' gradients.
	Losses []float64
	// SkipInputGrads tells the outermost graph's backward pass that no
	// gradient is wanted for the graph's own inputs (training needs only
	// the weights'), so the ops reading them may skip that work.
	SkipInputGrads bool
	// InputGradNeeded, while a Backward function runs, says which of its
	// op's inputs need a gradient; nil means all. An op may return nil for
	// the others instead of computing them.
	InputGradNeeded []bool
	// State carries stateful layers' values (stateful RNN states) between
	// calls; nil when the caller keeps none.
	State *State

	// Buffers, when set, recycles the output buffers of intermediate
	// values in passes without gradients (see Alloc).
	Buffers *Buffers

	runDepth  int              // how many graph runs are under way (nested models)
	allocated map[*float32]int // Alloc's buffers not yet recycled: capacity by first element
}

// NeedInputGrad reports whether the running Backward function must compute
// the gradient of its op's input i.
func (c *Context) NeedInputGrad(i int) bool {
	return c.InputGradNeeded == nil || i >= len(c.InputGradNeeded) || c.InputGradNeeded[i]
}

// VariableUpdate is an assignment to apply once a training step's forward
// and backward passes have run.
type VariableUpdate struct {
	Variable *Variable
	Value    *Tensor
}

// AccumulateGrad adds g to the gradient of v.
func (c *Context) AccumulateGrad(v *Variable, g *Tensor) {
	if c.Grads == nil {
		c.Grads = make(map[*Variable]*Tensor)
	}
	if old, ok := c.Grads[v]; ok {
		for i, x := range g.Data {
			old.Data[i] += x
		}
		return
	}
	c.Grads[v] = g.Clone()
}

// Backward maps the gradients of an operation's outputs to the gradients of
// its inputs, adding weight gradients to the Context. A nil entry in gradOut
// means a zero gradient; a nil entry returned means the input gets none.
type Backward func(gradOut []*Tensor) (gradIn []*Tensor, err error)

// Op is one operation of a graph: a layer call.
type Op interface {
	// Forward computes the outputs from the inputs. When ctx.Grad is set it
	// also returns the Backward function of this call; otherwise nil.
	Forward(ctx *Context, in []*Tensor) (out []*Tensor, back Backward, err error)
}

// Masks follow Keras: a value may carry a boolean mask (Keras's
// _keras_mask), a Tensor of 0s and 1s over the value's leading axes
// (batch, time) that marks which time steps are real data. Masking and
// Embedding(mask_zero=True) make masks, most layers pass them on or drop
// them, and recurrent and attention layers read them. A mask is never
// differentiated: Backward ignores masks. A graph without masks pays
// nothing for them: every mask stays nil.
//
// Two hooks decide what happens to masks at a node:
//   - an Op that implements MaskedOp receives its inputs' masks and returns
//     its outputs' masks itself (Keras's call(mask=...) and compute_mask);
//   - any other Op runs Forward, and the Node's Mask function, when set,
//     computes the outputs' masks (Keras's compute_mask for layers that
//     only propagate masks: pass the first input's mask through, combine
//     the masks of a merge, make a mask from the input); with no Mask
//     function the outputs carry no mask (Keras's layers without
//     supports_masking drop it).

// MaskedOp is an Op that reads the masks of its inputs and computes the
// masks of its outputs. masks[i] is nil when input i has no mask; outMasks
// may be nil (no output carries a mask) or hold nil entries.
type MaskedOp interface {
	Op
	ForwardMasked(ctx *Context, in, masks []*Tensor) (out, outMasks []*Tensor, back Backward, err error)
}

// MaskFunc computes the masks of a node's outputs from its inputs, their
// masks and its outputs. It returns nil when no output carries a mask.
type MaskFunc func(in, masks, out []*Tensor) ([]*Tensor, error)

// PassFirstMask is the MaskFunc of layers that keep the shape of their
// time axis (Keras's supports_masking with the default compute_mask):
// every output carries the first input's mask.
func PassFirstMask(in, masks, out []*Tensor) ([]*Tensor, error) {
	if len(masks) == 0 || masks[0] == nil {
		return nil, nil
	}
	outMasks := make([]*Tensor, len(out))
	for i := range outMasks {
		outMasks[i] = masks[0]
	}
	return outMasks, nil
}

// Node is one operation applied to graph values.
type Node struct {
	Name string // for error messages: the layer's name and class
	Op   Op
	In   []int // value indexes read
	Out  []int // value indexes written
	// Mask computes the outputs' masks when Op is not a MaskedOp; nil
	// means the outputs carry no mask.
	Mask MaskFunc
}

// Graph is a dataflow graph over numbered values, nodes in topological
// order.
type Graph struct {
	NumValues int
	Inputs    []int
	Outputs   []int
	Nodes     []Node
	lastUse   []int // node index of each value's last reader, -1 for none
}

// Finish validates the graph and prepares it to run. It must be called once
// after the nodes are added.
func (g *Graph) Finish() error {
	defined := make([]bool, g.NumValues)
	for _, v := range g.Inputs {
		if v < 0 || v >= g.NumValues {
			return fmt.Errorf("runtime: graph input %d out of range", v)
		}
		defined[v] = true
	}
	g.lastUse = make([]int, g.NumValues)
	for i := range g.lastUse {
		g.lastUse[i] = -1
	}
	for i, n := range g.Nodes {
		for _, v := range n.In {
			if v < 0 || v >= g.NumValues || !defined[v] {
				return fmt.Errorf("runtime: node %s reads value %d before it is computed", n.Name, v)
			}
			g.lastUse[v] = i
		}
		for _, v := range n.Out {
			if v < 0 || v >= g.NumValues {
				return fmt.Errorf("runtime: node %s writes value %d out of range", n.Name, v)
			}
			defined[v] = true
		}
	}
	for _, v := range g.Outputs {
		if v < 0 || v >= g.NumValues || !defined[v] {
			return fmt.Errorf("runtime: graph output %d is never computed", v)
		}
		g.lastUse[v] = len(g.Nodes) // outputs live to the end
	}
	return nil
}

// Trace is what a forward pass with ctx.Grad set keeps for the backward pass.
type Trace struct {
	g         *Graph
	ctx       *Context
	outermost bool // not a nested model's graph
	backs     []Backward
}

// Run executes the graph on inputs and returns its outputs. Intermediate
// values are released as soon as their last reader has run. With ctx.Grad
// set it also returns the Trace for Backward.
func (g *Graph) Run(ctx *Context, inputs []*Tensor) ([]*Tensor, *Trace, error) {
	out, _, tr, err := g.RunMasked(ctx, inputs, nil)
	return out, tr, err
}

// RunMasked is Run with masks on the inputs (nil, or one entry per input,
// nil for an input without a mask); it also returns the outputs' masks.
func (g *Graph) RunMasked(ctx *Context, inputs, inputMasks []*Tensor) ([]*Tensor, []*Tensor, *Trace, error) {
	if g.lastUse == nil {
		panic("runtime: Graph.Run before Finish")
	}
	if len(inputs) != len(g.Inputs) {
		return nil, nil, nil, fmt.Errorf("graph takes %d inputs, got %d", len(g.Inputs), len(inputs))
	}
	if inputMasks != nil && len(inputMasks) != len(inputs) {
		return nil, nil, nil, fmt.Errorf("graph takes %d input masks, got %d", len(g.Inputs), len(inputMasks))
	}
	vals := make([]*Tensor, g.NumValues)
	var masks []*Tensor // allocated on the first mask
	setMask := func(v int, m *Tensor) {
		if m == nil && masks == nil {
			return
		}
		if masks == nil {
			masks = make([]*Tensor, g.NumValues)
		}
		masks[v] = m
	}
	for i, v := range g.Inputs {
		vals[v] = inputs[i]
		if inputMasks != nil {
			setMask(v, inputMasks[i])
		}
	}
	var tr *Trace
	if ctx.Grad {
		tr = &Trace{g: g, ctx: ctx, outermost: ctx.runDepth == 0, backs: make([]Backward, len(g.Nodes))}
		ctx.runDepth++
		defer func() { ctx.runDepth-- }()
	}
	for i, n := range g.Nodes {
		// A fresh slice per node: Backward closures may keep their inputs.
		args := make([]*Tensor, 0, len(n.In))
		for _, v := range n.In {
			args = append(args, vals[v])
		}
		var argMasks []*Tensor
		if masks != nil {
			argMasks = make([]*Tensor, len(n.In))
			for j, v := range n.In {
				argMasks[j] = masks[v]
			}
		}
		var (
			out, outMasks []*Tensor
			back          Backward
			err           error
		)
		if mo, ok := n.Op.(MaskedOp); ok {
			if argMasks == nil {
				argMasks = make([]*Tensor, len(n.In))
			}
			out, outMasks, back, err = mo.ForwardMasked(ctx, args, argMasks)
		} else {
			out, back, err = n.Op.Forward(ctx, args)
			if err == nil && n.Mask != nil && len(out) == len(n.Out) {
				if argMasks == nil {
					argMasks = make([]*Tensor, len(n.In))
				}
				outMasks, err = n.Mask(args, argMasks, out)
			}
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("layer %s: %w", n.Name, err)
		}
		if len(out) != len(n.Out) {
			return nil, nil, nil, fmt.Errorf("layer %s: returned %d outputs, want %d", n.Name, len(out), len(n.Out))
		}
		for j, v := range n.Out {
			vals[v] = out[j]
			if j < len(outMasks) {
				setMask(v, outMasks[j])
			}
		}
		if tr != nil {
			tr.backs[i] = back
		}
		var dead []*Tensor
		for _, v := range n.In {
			if g.lastUse[v] == i {
				dead = append(dead, vals[v])
				vals[v] = nil
				if masks != nil {
					masks[v] = nil
				}
			}
		}
		if ctx.allocated != nil {
			for _, v := range n.Out {
				if g.lastUse[v] < 0 { // never read
					dead = append(dead, vals[v])
					vals[v] = nil
				}
			}
			ctx.recycle(dead, vals, masks, inputs)
		}
	}
	outs := make([]*Tensor, len(g.Outputs))
	var outMasks []*Tensor
	for i, v := range g.Outputs {
		outs[i] = vals[v]
		if masks != nil && masks[v] != nil {
			if outMasks == nil {
				outMasks = make([]*Tensor, len(g.Outputs))
			}
			outMasks[i] = masks[v]
		}
	}
	return outs, outMasks, tr, nil
}

// Backward runs the recorded backward functions in reverse order, from the
// gradients of the graph's outputs, and returns the gradients of its inputs.
// Weight gradients accumulate in the Context the forward pass used; a value
// read by several nodes (a shared tensor) sums its gradients. Gradients are
// passed on without copying: the returned tensors may share data with
// gradOutputs or with what Backward functions returned, and the caller must
// not write into them; Backward never writes into gradOutputs.
func (tr *Trace) Backward(gradOutputs []*Tensor) ([]*Tensor, error) {
	g := tr.g
	if len(gradOutputs) != len(g.Outputs) {
		return nil, fmt.Errorf("backward takes %d output gradients, got %d", len(g.Outputs), len(gradOutputs))
	}
	grads := make([]*Tensor, g.NumValues)
	isInput := make([]bool, g.NumValues)
	for _, v := range g.Inputs {
		isInput[v] = true
	}
	// Copy on write: a value's first gradient is kept as given (shared with
	// the op that returned it, the ops it is handed to, maybe other values);
	// only a second gradient makes a private sum, which later ones are added
	// into. So no tensor received here is ever written, and Backward
	// functions must not write into their gout either
	// (layers.TestBackwardLeavesGradOutAlone checks the layers).
	owned := make([]bool, g.NumValues)
	add := func(v int, t *Tensor) {
		if t == nil {
			return
		}
		old := grads[v]
		if old == nil {
			grads[v] = t
			return
		}
		if !owned[v] {
			sum := &Tensor{Shape: append([]int(nil), old.Shape...), Data: make([]float32, len(old.Data))}
			d := sum.Data
			for i, x := range t.Data[:len(d)] {
				d[i] = old.Data[i] + x
			}
			grads[v], owned[v] = sum, true
			return
		}
		d := grads[v].Data
		for i, x := range t.Data[:len(d)] {
			d[i] += x
		}
	}
	for i, v := range g.Outputs {
		add(v, gradOutputs[i])
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		back := tr.backs[i]
		gout := make([]*Tensor, len(n.Out))
		any := false
		for j, v := range n.Out {
			gout[j] = grads[v]
			any = any || grads[v] != nil
		}
		if !any {
			continue
		}
		if back == nil {
			return nil, fmt.Errorf("layer %s: no backward pass recorded", n.Name)
		}
		tr.ctx.InputGradNeeded = nil
		if tr.outermost && tr.ctx.SkipInputGrads {
			need := make([]bool, len(n.In))
			for j, v := range n.In {
				need[j] = !isInput[v]
			}
			tr.ctx.InputGradNeeded = need
		}
		gin, err := back(gout)
		tr.ctx.InputGradNeeded = nil
		if err != nil {
			return nil, fmt.Errorf("layer %s backward: %w", n.Name, err)
		}
		for j, v := range n.In {
			if j < len(gin) {
				add(v, gin[j])
			}
		}
	}
	out := make([]*Tensor, len(g.Inputs))
	for i, v := range g.Inputs {
		out[i] = grads[v]
	}
	return out, nil
}
