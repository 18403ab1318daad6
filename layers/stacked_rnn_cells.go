package layers

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// StackedRNNCells is keras.layers.StackedRNNCells: cells run one after
// the other within each time step, each cell's output the next one's
// input, as one cell of an RNN layer (keras.layers.RNN(StackedRNNCells)
// or tf-keras's RNN([cells])). Its states are every cell's states in cell
// order (LSTMCell's h and c, then GRUCell's h, ...), which is the order of
// RNN's initial_state and return_state tensors; its output is the last
// cell's. The weights are the cells', in cell order; Keras 3 saves them
// under cell/cells/<snake_case class> (lstm_cell, lstm_cell_1, ...).
type StackedRNNCells struct {
	Base
	Cells []rnnCell
}

func init() {
	registerCell("StackedRNNCells", func(spec *kerasjson.Layer) (rnnCell, error) { return newStackedRNNCells(spec) })
}

func newStackedRNNCells(spec *kerasjson.Layer) (*StackedRNNCells, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &StackedRNNCells{Base: b}
	raw, ok := spec.Config["cells"].([]any)
	if !ok || len(raw) == 0 {
		return nil, ShapeError(&l.Base, "needs a non-empty list of cells, got %v", spec.Config["cells"])
	}
	for i, v := range raw {
		o, err := kerasjson.DecodeObject(v)
		if err != nil {
			return nil, ShapeError(&l.Base, "cell %d: %v", i, err)
		}
		c, err := newCell(spec, o)
		if err != nil {
			return nil, err
		}
		l.Cells = append(l.Cells, c)
	}
	return l, nil
}

// Weights returns nothing: the weights are the cells'.
func (l *StackedRNNCells) Weights() []*runtime.Variable { return nil }

// Children returns the cells.
func (l *StackedRNNCells) Children() []Layer {
	out := make([]Layer, len(l.Cells))
	for i, c := range l.Cells {
		out[i] = c
	}
	return out
}

// TrackedChildren returns the cells under the paths Keras 3's saving_lib
// gives a list attribute's layers: cells/<snake_case class>, made unique
// by _1, _2, ...
func (l *StackedRNNCells) TrackedChildren() []NamedChild {
	used := map[string]int{}
	out := make([]NamedChild, len(l.Cells))
	for i, c := range l.Cells {
		name := snakeCase(c.Common().ClassName)
		n := used[name]
		used[name] = n + 1
		if n > 0 {
			name += "_" + strconv.Itoa(n)
		}
		out[i] = NamedChild{"cells/" + name, c}
	}
	return out
}

var (
	snakeNonWord = regexp.MustCompile(`\W+`)
	snakeUpper1  = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	snakeUpper2  = regexp.MustCompile(`([a-z])([A-Z])`)
)

// snakeCase is Keras's naming.to_snake_case.
func snakeCase(name string) string {
	name = snakeNonWord.ReplaceAllString(name, "")
	name = snakeUpper1.ReplaceAllString(name, "${1}_${2}")
	name = snakeUpper2.ReplaceAllString(name, "${1}_${2}")
	return strings.ToLower(name)
}

// Build refuses to build the cells outside their RNN layer.
func (l *StackedRNNCells) Build([][]int) ([][]int, error) {
	return nil, ShapeError(&l.Base, "a recurrent cell runs inside its RNN layer")
}

// Forward refuses to run the cells outside their RNN layer.
func (l *StackedRNNCells) Forward(*runtime.Context, []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	return nil, nil, ShapeError(&l.Base, "a recurrent cell runs inside its RNN layer")
}

func (l *StackedRNNCells) stateShapes() [][]int {
	var out [][]int
	for _, c := range l.Cells {
		out = append(out, c.stateShapes()...)
	}
	return out
}

// stateOffset is the index of cell i's first state.
func (l *StackedRNNCells) stateOffset(i int) int {
	o := 0
	for _, c := range l.Cells[:i] {
		o += numStates(c)
	}
	return o
}

func (l *StackedRNNCells) outputState() int {
	last := len(l.Cells) - 1
	return l.stateOffset(last) + l.Cells[last].outputState()
}

// buildCell builds each cell for the previous one's output.
func (l *StackedRNNCells) buildCell(frame []int) error {
	for i, c := range l.Cells {
		if err := c.buildCell(frame); err != nil {
			return fmt.Errorf("cell %d: %w", i, err)
		}
		frame = outputShape(c)
	}
	return nil
}

func (l *StackedRNNCells) frameShape() []int { return l.Cells[0].frameShape() }

// project passes the frames through: only the first cell's input is known
// before the step, so every cell projects its input within step.
func (l *StackedRNNCells) project(x []float32, rows int) []float32 { return x }

func (l *StackedRNNCells) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	return gp
}

type stackedCache struct {
	inputs [][]float32 // each cell's input frames
	caches []any
}

func (l *StackedRNNCells) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	k := &stackedCache{}
	var next [][]float32
	in := p
	for i, c := range l.Cells {
		o := l.stateOffset(i)
		n, cache := c.step(c.project(in, batch), prev[o:o+numStates(c)], batch)
		// The loop reuses p and rewrites masked rows of the states.
		k.inputs = append(k.inputs, append([]float32(nil), in...))
		k.caches = append(k.caches, cache)
		next = append(next, n...)
		in = n[c.outputState()]
	}
	return next, k
}

func (l *StackedRNNCells) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	k := cache.(*stackedCache)
	gPrev := make([][]float32, len(gNext))
	var gIn []float32 // dL/d(output of cell i), from cell i+1
	for i := len(l.Cells) - 1; i >= 0; i-- {
		c := l.Cells[i]
		o, ns := l.stateOffset(i), numStates(c)
		gN := append([][]float32(nil), gNext[o:o+ns]...)
		if gIn != nil {
			j := c.outputState()
			sum := append([]float32(nil), gN[j]...)
			for t, v := range gIn {
				sum[t] += v
			}
			gN[j] = sum
		}
		gp, gP := c.stepBack(k.caches[i], gN, batch, g)
		copy(gPrev[o:o+ns], gP)
		gIn = c.projectBack(k.inputs[i], gp, batch, g)
	}
	return gIn, gPrev
}

// forCall returns the stack for one training call: each cell with its
// dropout masks.
func (l *StackedRNNCells) forCall(ctx *runtime.Context, batch int) (rnnCell, error) {
	cp := &StackedRNNCells{Base: l.Base, Cells: make([]rnnCell, len(l.Cells))}
	changed := false
	for i, c := range l.Cells {
		cp.Cells[i] = c
		if cc, ok := c.(callCell); ok {
			n, err := cc.forCall(ctx, batch)
			if err != nil {
				return nil, fmt.Errorf("cell %d: %w", i, err)
			}
			cp.Cells[i], changed = n, changed || n != c
		}
	}
	if !changed {
		return l, nil
	}
	return cp, nil
}
