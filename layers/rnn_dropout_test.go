package layers

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// TestRNNDropoutFixtures: LSTM, GRU, SimpleRNN and RNN(StackedRNNCells)
// trained with dropout and recurrent_dropout (LSTM and GRU with per-gate
// masks under implementation=1) match Keras 3
// given the same masks (drawn by the exporter and handed to Keras's cells;
// testdata/rnn_dropout, compat/python/export_layers_recurrent_cells.py):
// outputs, input and weight gradients.
func TestRNNDropoutFixtures(t *testing.T) {
	type dropoutCase struct {
		fixtureCase
		CellMasks []cellMasks `json:"cell_masks"`
	}
	for _, path := range []string{"testdata/rnn_dropout/cases.json", "testdata/rnn_dropout/keras2.json"} {
		doc := readFixture[struct {
			Tolerance fixtureTolerance `json:"tolerance"`
			Cases     []dropoutCase    `json:"cases"`
		}](t, path)
		if len(doc.Cases) == 0 {
			t.Fatalf("%s: no cases", path)
		}
		keras2 := strings.HasSuffix(path, "keras2.json")
		for _, c := range doc.Cases {
			runDropoutCase(t, c.fixtureCase, c.CellMasks, doc.Tolerance, keras2)
		}
	}
}

type cellMasks struct {
	Dropout        *fixtureArray  `json:"dropout"`
	Recurrent      *fixtureArray  `json:"recurrent"`
	DropoutGates   []fixtureArray `json:"dropout_gates"`   // implementation=1: one per gate
	RecurrentGates []fixtureArray `json:"recurrent_gates"` // implementation=1: one per gate
}

// runDropoutCase replays one training case with the recorded masks; a
// tf-keras case's configuration is renamed as a loader does, and a mask
// per step (tf-keras's fused LSTM and GRU) must be what the layer would
// draw itself.
func runDropoutCase(t *testing.T, c fixtureCase, masks []cellMasks, tol fixtureTolerance, keras2 bool) {
	t.Run(c.Name, func(t *testing.T) {
		if keras2 {
			var cfg map[string]any
			if err := json.Unmarshal(c.Config, &cfg); err != nil {
				t.Fatal(err)
			}
			RenameKeras2Activations(kerasjson.Config(cfg))
			raw, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.Config = raw
		}
		spec, err := specFromKeras(c.ClassName, c.Config)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := Lookup(spec)
		l, err := f(spec)
		if err != nil {
			t.Fatal(err)
		}
		x := c.Inputs[0].tensor()
		if _, err := l.Build([][]int{append([]int{-1}, x.Shape[1:]...)}); err != nil {
			t.Fatal(err)
		}
		ws := AllWeights(l)
		for i, w := range c.Weights {
			copy(ws[i].Value.Data, w.Data)
			ws[i].Touch()
		}
		r := l.(*RNN)
		gates := func(a []fixtureArray) [][]float32 {
			var out [][]float32
			for _, m := range a {
				out = append(out, m.Data)
			}
			return out
		}
		withMasks := func(cell rnnCell, m cellMasks) rnnCell {
			if m.DropoutGates != nil || m.RecurrentGates != nil {
				if gc, ok := cell.(*GRUCell); ok {
					return &gruGateDropout{GRUCell: gc, batch: x.Shape[0], in: gates(m.DropoutGates), rec: gates(m.RecurrentGates)}
				}
				return &lstmGateDropout{LSTMCell: cell.(*LSTMCell), batch: x.Shape[0], in: gates(m.DropoutGates), rec: gates(m.RecurrentGates)}
			}
			d := &rnnDropout{rnnCell: cell, batch: x.Shape[0]}
			if m.Dropout != nil {
				d.in = m.Dropout.Data
			}
			if m.Recurrent != nil {
				d.rec = m.Recurrent.Data
			}
			return d
		}
		if m := masks[0].Dropout; m != nil {
			perStep := false
			switch cell := r.Cell.(type) {
			case *LSTMCell:
				perStep = cell.perStepDropout
			case *GRUCell:
				perStep = cell.perStepDropout
			}
			if perStep != (len(m.Shape) == 3) {
				t.Fatalf("the layer draws a mask per step: %v; the case has a mask of shape %v", perStep, m.Shape)
			}
		}
		if s, ok := r.Cell.(*StackedRNNCells); ok {
			for i := range s.Cells {
				s.Cells[i] = withMasks(s.Cells[i], masks[i])
			}
		} else {
			r.Cell = withMasks(r.Cell, masks[0])
		}
		ctx := &runtime.Context{Training: true, Grad: true}
		out, back, err := l.Forward(ctx, []*runtime.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.Outputs {
			if err := compareArrays(fmt.Sprintf("output %d", i), out[i], c.Outputs[i], tol); err != nil {
				t.Error(err)
			}
		}
		var probes []*runtime.Tensor
		for _, p := range c.Probes {
			probes = append(probes, p.tensor())
		}
		gin, err := back(probes)
		if err != nil {
			t.Fatal(err)
		}
		if err := compareArrays("input gradient", gin[0], c.InputGrads[0], tol); err != nil {
			t.Error(err)
		}
		for i, want := range c.WeightGrads {
			if err := compareArrays(fmt.Sprintf("weight %d gradient", i), ctx.Grads[ws[i]], want, tol); err != nil {
				t.Error(err)
			}
		}
	})
}

// TestRNNDropoutTraining: in training an LSTM with dropout draws its mask
// from Context.Rand (same seed, same outputs; different from inference),
// and each cell draws the masks Keras does: per gate for LSTM and GRU
// with recurrent_dropout or implementation=1, one input mask otherwise.
func TestRNNDropoutTraining(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	x := randomTensor(r, 2, 4, 3)
	l := newTestLayer(t, "LSTM", `{"units": 2, "dropout": 0.5, "return_sequences": true}`)
	if _, err := l.Build([][]int{{-1, 4, 3}}); err != nil {
		t.Fatal(err)
	}
	for _, w := range AllWeights(l) {
		for i := range w.Value.Data {
			w.Value.Data[i] = float32(r.Float64() - 0.5)
		}
		w.Touch()
	}
	run := func(ctx *runtime.Context) []float32 {
		out, _, err := l.Forward(ctx, []*runtime.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Data
	}
	a := run(&runtime.Context{Training: true, Grad: true, Rand: rand.New(rand.NewPCG(1, 1))})
	b := run(&runtime.Context{Training: true, Grad: true, Rand: rand.New(rand.NewPCG(1, 1))})
	inf := run(&runtime.Context{})
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != inf[i]
	}
	if !same || !differ {
		t.Fatalf("same seed agrees: %v, training differs from inference: %v", same, differ)
	}
	// Keras's mask layout: per gate with recurrent_dropout or
	// implementation=1, one input mask otherwise.
	for _, tc := range []struct {
		class, config string
		perGate       int
	}{
		{"LSTM", `{"units": 2, "dropout": 0.1, "recurrent_dropout": 0.2}`, 4},
		{"LSTM", `{"units": 2, "dropout": 0.1, "implementation": 1}`, 4},
		{"LSTM", `{"units": 2, "recurrent_dropout": 0.2}`, 4},
		{"LSTM", `{"units": 2, "dropout": 0.1}`, 0},
		{"GRU", `{"units": 2, "dropout": 0.1, "recurrent_dropout": 0.2}`, 3},
		{"GRU", `{"units": 2, "dropout": 0.1, "implementation": 1, "reset_after": false}`, 3},
		{"GRU", `{"units": 2, "dropout": 0.1}`, 0},
		{"SimpleRNN", `{"units": 2, "dropout": 0.1, "recurrent_dropout": 0.2}`, 0},
	} {
		l := newTestLayer(t, tc.class, tc.config)
		if _, err := l.Build([][]int{{-1, 4, 3}}); err != nil {
			t.Fatal(err)
		}
		got, err := l.(*RNN).Cell.(callCell).forCall(&runtime.Context{Training: true, Rand: r}, 2)
		if err != nil {
			t.Fatal(err)
		}
		var in, rec int
		switch d := got.(type) {
		case *lstmGateDropout:
			in, rec = len(d.in), len(d.rec)
		case *gruGateDropout:
			in, rec = len(d.in), len(d.rec)
		case *rnnDropout:
			if tc.perGate != 0 || len(d.in) != 2*3 {
				t.Errorf("%s %s: one input mask of %d values", tc.class, tc.config, len(d.in))
			}
			continue
		default:
			t.Errorf("%s %s: cell %T for the call", tc.class, tc.config, got)
			continue
		}
		if (in != 0 && in != tc.perGate) || (rec != 0 && rec != tc.perGate) || in+rec == 0 {
			t.Errorf("%s %s: per-gate masks %d and %d, want %d", tc.class, tc.config, in, rec, tc.perGate)
		}
	}
}
