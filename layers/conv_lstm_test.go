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

// TestConvLSTMDropoutFixtures: ConvLSTM1D/2D trained with dropout and
// recurrent_dropout match Keras 3 given the same masks (drawn by the
// exporter and handed to Keras's cell; testdata/conv_lstm_dropout,
// compat/python/export_layers_conv_lstm.py): outputs, input and weight
// gradients.
func TestConvLSTMDropoutFixtures(t *testing.T) {
	type dropoutCase struct {
		fixtureCase
		DropoutMasks          []fixtureArray `json:"dropout_masks"`
		RecurrentDropoutMasks []fixtureArray `json:"recurrent_dropout_masks"`
	}
	for _, path := range []string{"testdata/conv_lstm_dropout/cases.json", "testdata/conv_lstm_dropout/keras2.json"} {
		doc := readFixture[struct {
			Tolerance fixtureTolerance `json:"tolerance"`
			Cases     []dropoutCase    `json:"cases"`
		}](t, path)
		if len(doc.Cases) == 0 {
			t.Fatalf("%s: no cases", path)
		}
		for _, c := range doc.Cases {
			runConvLSTMDropoutCase(t, c.fixtureCase, c.DropoutMasks, c.RecurrentDropoutMasks, doc.Tolerance, strings.HasSuffix(path, "keras2.json"))
		}
	}
}

func runConvLSTMDropoutCase(t *testing.T, c fixtureCase, dropoutMasks, recurrentMasks []fixtureArray, tol fixtureTolerance, keras2 bool) {
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
		masks := func(a []fixtureArray) [][]float32 {
			if a == nil {
				return nil
			}
			var out [][]float32
			for _, m := range a {
				out = append(out, m.Data)
			}
			return out
		}
		r.Cell = r.Cell.(*ConvLSTMCell).withMasks(x.Shape[0], masks(dropoutMasks), masks(recurrentMasks))
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

// TestConvLSTMDropoutMasks: in training the layer draws Keras's masks from
// Context.Rand (four per dropout, 0 or 1/(1-rate), kept for every step of
// the call), so two calls with the same seed agree and differ from
// inference; without a random source training is refused.
func TestConvLSTMDropoutMasks(t *testing.T) {
	l := newTestLayer(t, "ConvLSTM1D", `{"filters": 2, "kernel_size": 2, "dropout": 0.5, "recurrent_dropout": 0.5, "return_sequences": true}`)
	r := rand.New(rand.NewPCG(1, 2))
	x := randomTensor(r, 2, 3, 5, 2)
	if _, err := l.Build([][]int{{-1, 3, 5, 2}}); err != nil {
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
	a := run(&runtime.Context{Training: true, Rand: rand.New(rand.NewPCG(3, 4))})
	b := run(&runtime.Context{Training: true, Rand: rand.New(rand.NewPCG(3, 4))})
	inf := run(&runtime.Context{})
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != inf[i]
	}
	if !same || !differ {
		t.Fatalf("same seed agrees: %v, training differs from inference: %v", same, differ)
	}
	if _, _, err := l.Forward(&runtime.Context{Training: true}, []*runtime.Tensor{x}); err == nil {
		t.Fatal("training without Context.Rand: no error")
	}
	masks := dropoutMasks(r, 4, 1000, 0.25)
	zeros := 0
	for _, m := range masks {
		for _, v := range m {
			if v == 0 {
				zeros++
			} else if v != float32(1/(1-0.25)) {
				t.Fatalf("mask value %v", v)
			}
		}
	}
	if zeros < 800 || zeros > 1200 {
		t.Fatalf("%d of 4000 dropped at rate 0.25", zeros)
	}
}
