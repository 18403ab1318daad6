package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/kerasrun/kerasrun/kerasjson"

	"github.com/kerasrun/kerasrun/runtime"
)

// rnnDropout runs an LSTMCell, GRUCell or SimpleRNNCell for one training
// call with Keras's dropout masks (implementation=2, Keras's default: one
// mask, not one per gate), drawn once per call and used at every step,
// each 0 or 1/(1-rate): dropout multiplies the inputs, and SimpleRNNCell's
// recurrent_dropout the previous output before the recurrent kernel.
// Masking the inputs commutes with the input projection, which still runs
// over every step at once.
type rnnDropout struct {
	rnnCell
	batch   int
	in, rec []float32 // batch × features (× steps, per step) and batch × units masks; nil when off

	perStep *rand.Rand // set: project draws the input mask for every step
	rate    float64
}

// tfKerasFusedDropout reports whether tf-keras would run an LSTM or GRU
// layer on its fused path (LSTM.call's "new defun approach"), where
// dropout multiplies the whole sequence by one mask of its shape, a new
// mask at every step, instead of one mask per sequence: a tf-keras
// configuration (it records implementation, Keras 3's does not) with
// implementation 2, tanh and sigmoid, no recurrent_dropout, a bias, not
// unrolled, and for GRU reset_after (fusedOK).
func tfKerasFusedDropout(cfg kerasjson.Config, c *cellCore, fusedOK bool) (bool, error) {
	if !cfg.Has("implementation") || c.implementation != 2 || !fusedOK {
		return false, nil
	}
	unroll, err := cfg.Bool("unroll", false)
	if err != nil {
		return false, err
	}
	return !unroll && c.UseBias && c.RecurrentDropout == 0 && c.Activation.name == "tanh" && c.RecurrentActivation.name == "sigmoid", nil
}

// dropoutCall returns self for one training call of batch sequences: with
// its dropout masks, when a dropout is on.
func (c *cellCore) dropoutCall(self rnnCell, ctx *runtime.Context, batch int) (rnnCell, error) {
	inOn, recOn := dropoutActive(c.Dropout), dropoutActive(c.RecurrentDropout)
	if !inOn && !recOn {
		return self, nil
	}
	if ctx.Rand == nil {
		return nil, fmt.Errorf("training with dropout needs a random source (Context.Rand)")
	}
	d := &rnnDropout{rnnCell: self, batch: batch}
	if inOn && c.perStepDropout {
		d.perStep, d.rate = ctx.Rand, c.Dropout
	} else if inOn {
		d.in = dropoutMasks(ctx.Rand, 1, batch*c.frameShape()[0], c.Dropout)[0]
	}
	if recOn {
		d.rec = dropoutMasks(ctx.Rand, 1, batch*c.Units, c.RecurrentDropout)[0]
	}
	return d, nil
}

func (c *SimpleRNNCell) forCall(ctx *runtime.Context, batch int) (rnnCell, error) {
	return c.dropoutCall(c, ctx, batch)
}

// forCall keeps the masks already drawn.
func (d *rnnDropout) forCall(*runtime.Context, int) (rnnCell, error) { return d, nil }

func (d *rnnDropout) project(x []float32, rows int) []float32 {
	if d.perStep != nil && d.in == nil {
		d.in = dropoutMasks(d.perStep, 1, len(x), d.rate)[0]
	}
	if d.in == nil {
		return d.rnnCell.project(x, rows)
	}
	return d.rnnCell.project(masked(x, d.in, d.batch, d.frameShape()[0]), rows)
}

func (d *rnnDropout) projectBack(x, gp []float32, rows int, g *gradBuffers) []float32 {
	if d.in == nil {
		return d.rnnCell.projectBack(x, gp, rows, g)
	}
	n := d.frameShape()[0]
	return masked(d.rnnCell.projectBack(masked(x, d.in, d.batch, n), gp, rows, g), d.in, d.batch, n)
}

// step masks h for the recurrent kernel (SimpleRNNCell, the only cell
// that reads h nowhere else and the only one that reaches rnnDropout with
// recurrent_dropout: LSTM and GRU take per-gate masks, rnn_gate_dropout.go).
func (d *rnnDropout) step(p []float32, prev [][]float32, batch int) ([][]float32, any) {
	if d.rec == nil {
		return d.rnnCell.step(p, prev, batch)
	}
	pm := append([][]float32{masked(prev[0], d.rec, batch, len(d.rec)/batch)}, prev[1:]...)
	return d.rnnCell.step(p, pm, batch)
}

func (d *rnnDropout) stepBack(cache any, gNext [][]float32, batch int, g *gradBuffers) ([]float32, [][]float32) {
	gp, gPrev := d.rnnCell.stepBack(cache, gNext, batch, g)
	if d.rec != nil {
		gPrev[0] = masked(gPrev[0], d.rec, batch, len(d.rec)/batch)
	}
	return gp, gPrev
}
