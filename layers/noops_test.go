package layers

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

// TestActivityRegularizationLosses checks ctx.Losses against the losses
// Keras recorded, and the training gradient against finite differences of
// sum(out*probe) + added loss.
func TestActivityRegularizationLosses(t *testing.T) {
	type lossesFile struct {
		Cases []struct {
			fixtureCase
			Losses []float64 `json:"losses"`
		} `json:"cases"`
	}
	ff := readFixture[lossesFile](t, "testdata/regularization.json")
	n := 0
	for _, c := range ff.Cases {
		if c.Losses == nil {
			continue
		}
		n++
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
		ctx := &runtime.Context{}
		if _, _, err := l.Forward(ctx, []*runtime.Tensor{x}); err != nil {
			t.Fatal(err)
		}
		if len(ctx.Losses) != 1 || math.Abs(ctx.Losses[0]-c.Losses[0]) > 1e-5+1e-4*math.Abs(c.Losses[0]) {
			t.Errorf("%s: losses %v, Keras %v", c.Name, ctx.Losses, c.Losses)
		}
		// Training gradient of sum(out*probe) + loss.
		probe := c.Probes[0].tensor()
		tctx := &runtime.Context{Training: true, Grad: true}
		_, back, err := l.Forward(tctx, []*runtime.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		g, err := back([]*runtime.Tensor{probe})
		if err != nil {
			t.Fatal(err)
		}
		total := func() float64 {
			cx := &runtime.Context{Training: true}
			out, _, _ := l.Forward(cx, []*runtime.Tensor{x})
			s := cx.Losses[0]
			for i, v := range out[0].Data {
				s += float64(v) * float64(probe.Data[i])
			}
			return s
		}
		for i := range x.Data {
			old := x.Data[i]
			x.Data[i] = old + 1e-3
			up := total()
			x.Data[i] = old - 1e-3
			down := total()
			x.Data[i] = old
			if num := (up - down) / 2e-3; math.Abs(num-float64(g[0].Data[i])) > 1e-2*(1+math.Abs(num)) {
				t.Errorf("%s: grad[%d] = %v, numeric %v", c.Name, i, g[0].Data[i], num)
			}
		}
	}
	if n == 0 {
		t.Fatal("no ActivityRegularization cases")
	}
}

func TestNoopLayersTraining(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randomTensor(r, 3, 4, 5)
	// SpatialDropout1D drops whole channels of each sample.
	l := newTestLayer(t, "SpatialDropout1D", `{"rate": 0.5}`)
	out, _, err := l.Forward(&runtime.Context{Training: true, Rand: r}, []*runtime.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	for b := range 3 {
		for c := range 5 {
			m := out[0].Data[b*20+c] / x.Data[b*20+c]
			if m != 0 && math.Abs(float64(m)-2) > 1e-5 {
				t.Fatalf("kept value scaled by %v, want 2", m)
			}
			for s := range 4 {
				if got := out[0].Data[b*20+s*5+c]; got != x.Data[b*20+s*5+c]*m {
					t.Fatalf("channel (%d, %d) not dropped as a whole", b, c)
				}
			}
		}
	}
	// Every random layer needs a random source in training and is the
	// identity at inference.
	for _, class := range []string{"GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout2D"} {
		l, err := buildTestLayer(class, `{"rate": 0.3, "stddev": 0.5}`)
		if err != nil {
			t.Fatal(err)
		}
		x4 := randomTensor(r, 2, 2, 2, 3)
		out, _, err := l.Forward(&runtime.Context{}, []*runtime.Tensor{x4})
		if err != nil || out[0] != x4 {
			t.Errorf("%s inference: not the identity (%v)", class, err)
		}
		if _, _, err := l.Forward(&runtime.Context{Training: true}, []*runtime.Tensor{x4}); err == nil || !strings.Contains(err.Error(), "random source") {
			t.Errorf("%s training without Rand: got %v", class, err)
		}
		out, _, err = l.Forward(&runtime.Context{Training: true, Rand: r}, []*runtime.Tensor{x4})
		if err != nil || out[0] == x4 {
			t.Errorf("%s training: want a new tensor, got error %v", class, err)
		}
	}
	// Augmentation refuses training with a clear error.
	aug := newTestLayer(t, "AugMix", `{}`)
	if _, _, err := aug.Forward(&runtime.Context{Training: true}, []*runtime.Tensor{x}); err == nil || !strings.Contains(err.Error(), "training is not supported") {
		t.Errorf("AugMix training: got %v", err)
	}
	if io, ok := aug.(InferenceOnly); !ok || io.TrainingUnsupported() == "" {
		t.Error("AugMix should be InferenceOnly")
	}
}
