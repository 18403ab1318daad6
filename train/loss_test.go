package train

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

type lossCase struct {
	Name         string          `json:"name"`
	Config       json.RawMessage `json:"config"`
	YTrue        goldenArray     `json:"y_true"`
	YPred        goldenArray     `json:"y_pred"`
	SampleWeight *goldenArray    `json:"sample_weight"`
	Loss         goldenArray     `json:"loss"`
	Grad         goldenArray     `json:"grad"`
}

func loadLossCases(t *testing.T) []lossCase {
	var g struct{ Cases []lossCase }
	loadGolden(t, "losses.json", &g)
	if len(g.Cases) == 0 {
		t.Fatal("no loss cases")
	}
	return g.Cases
}

func caseLabel(i int, raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 160 {
		s = s[:160]
	}
	return fmt.Sprintf("%d:%s", i, s)
}

func TestLossGolden(t *testing.T) {
	for i, c := range loadLossCases(t) {
		t.Run(fmt.Sprint(i, "_", c.Name), func(t *testing.T) {
			o := decodeConfig(t, c.Config)
			l, err := ResolveLoss(o, c.YTrue.Shape, c.YPred.Shape)
			if err != nil {
				t.Fatalf("%s: %v", caseLabel(i, c.Config), err)
			}
			if l.Name() != c.Name {
				t.Errorf("name %q, want %q", l.Name(), c.Name)
			}
			loss, grad, err := l.Compute(c.YTrue.tensor(), c.YPred.tensor(), c.SampleWeight.tensor())
			if err != nil {
				t.Fatalf("%s: %v", caseLabel(i, c.Config), err)
			}
			want := 0.0
			for _, v := range c.Loss.Data {
				want += v
			}
			if !close(loss, want) {
				t.Errorf("%s: loss %.8g, want %.8g", caseLabel(i, c.Config), loss, want)
			}
			if !shapesEqual(grad.Shape, c.Grad.Shape) {
				t.Fatalf("grad shape %v, want %v", grad.Shape, c.Grad.Shape)
			}
			checkSlice(t, "grad "+caseLabel(i, c.Config), grad.Data, c.Grad.Data)
		})
	}
}

// TestLossNumericGradient checks every loss's analytic gradient against
// central finite differences computed in float64 on the same inputs.
func TestLossNumericGradient(t *testing.T) {
	for i, c := range loadLossCases(t) {
		o := decodeConfig(t, c.Config)
		l, err := ResolveLoss(o, c.YTrue.Shape, c.YPred.Shape)
		if err != nil {
			t.Fatal(err)
		}
		k := l.(*keras3Loss)
		yt := toFloat64(c.YTrue.tensor())
		yp := toFloat64(c.YPred.tensor())
		var sw []float64
		var swShape []int
		if c.SampleWeight != nil {
			sw, swShape = toFloat64(c.SampleWeight.tensor()), c.SampleWeight.Shape
		}
		ts, ps := squeezeOrExpand(c.YTrue.Shape, c.YPred.Shape, true)
		f := func(p []float64) float64 {
			lv, err := k.fn(yt, p, ts, ps)
			if err != nil {
				t.Fatal(err)
			}
			v, _, err := reduceWeighted(lv, sw, swShape, k.reduction)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		lv, err := k.fn(yt, yp, ts, ps)
		if err != nil {
			t.Fatal(err)
		}
		_, dv, err := reduceWeighted(lv, sw, swShape, k.reduction)
		if err != nil {
			t.Fatal(err)
		}
		g := lv.back(dv)
		for j := range yp {
			h := 1e-6 * math.Max(1, math.Abs(yp[j]))
			p := append([]float64(nil), yp...)
			p[j] = yp[j] + h
			up := f(p)
			p[j] = yp[j] - h
			down := f(p)
			num := (up - down) / (2 * h)
			if math.Abs(num-g[j]) > 1e-5+1e-4*math.Abs(num) {
				t.Errorf("%s: d/dy_pred[%d] analytic %.8g, numeric %.8g", caseLabel(i, c.Config), j, g[j], num)
				break
			}
		}
	}
}

func TestLossNames(t *testing.T) {
	for _, name := range []string{"mse", "kullback_leibler_divergence", "logcosh", "cosine_proximity", "huber_loss", "categorical_crossentropy"} {
		if _, err := NewLoss(&kerasjson.Object{ClassName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := NewLoss(&kerasjson.Object{ClassName: "my_custom_loss"})
	if err == nil || !strings.Contains(err.Error(), "my_custom_loss") {
		t.Errorf("unknown loss error %v does not name it", err)
	}
	_, err = NewLoss(&kerasjson.Object{ClassName: "crossentropy"})
	if err == nil {
		t.Error("crossentropy without shapes: want an error")
	}
	// Keras 2 class config with reduction "auto".
	l, err := NewLoss(&kerasjson.Object{ClassName: "CategoricalCrossentropy", Config: kerasjson.Config{"reduction": "auto", "from_logits": true, "name": "cce"}})
	if err != nil || l.Name() != "cce" {
		t.Fatalf("Keras 2 class config: %v %v", l, err)
	}
	if _, ok := l.(LogitsLoss); !ok {
		t.Error("CategoricalCrossentropy does not offer FromLogits")
	}
	yt, _ := runtime.FromData([]int{1, 2}, []float32{0, 1})
	yp, _ := runtime.FromData([]int{1, 3}, []float32{0.2, 0.3, 0.5})
	if _, _, err := l.Compute(yt, yp, nil); err == nil {
		t.Error("mismatched shapes: want an error")
	}
}

// TestFromLogitsMatches checks that the from-logits form of a
// crossentropy agrees with the probability form away from saturation and
// stays finite where the probability form is clipped.
func TestFromLogitsMatches(t *testing.T) {
	logits, _ := runtime.FromData([]int{2, 3}, []float32{0.5, -1, 2, 3, 0.1, -0.7})
	probs := logits.Clone()
	for r := 0; r < 2; r++ {
		p := softmax(toFloat64(&runtime.Tensor{Shape: []int{3}, Data: logits.Data[r*3 : r*3+3]}))
		for k := range p {
			probs.Data[r*3+k] = float32(p[k])
		}
	}
	yt, _ := runtime.FromData([]int{2, 3}, []float32{0, 0, 1, 1, 0, 0})
	l, err := NewLoss(&kerasjson.Object{ClassName: "categorical_crossentropy"})
	if err != nil {
		t.Fatal(err)
	}
	lp, _, err := l.Compute(yt, probs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ll, g, err := l.(LogitsLoss).FromLogits().Compute(yt, logits, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !close(ll, lp) {
		t.Errorf("from logits %v, from probabilities %v", ll, lp)
	}
	// Gradient w.r.t. logits of mean CE: (softmax - y) / batch.
	for i, v := range g.Data {
		want := (float64(probs.Data[i]) - float64(yt.Data[i])) / 2
		if !close(float64(v), want) {
			t.Errorf("grad[%d] = %v, want %v", i, v, want)
		}
	}
	if f, _ := NewLoss(&kerasjson.Object{ClassName: "binary_focal_crossentropy"}); f.(LogitsLoss).FromLogits() != nil {
		t.Error("focal loss must not offer a from-logits form")
	}
}
