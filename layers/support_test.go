package layers

import (
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
)

// TestSupportTableMatchesLayers fails when a Register call's Supports
// disagrees with the layer it builds: a class that refuses training
// (InferenceOnly) must register Training false, and the other way round;
// every class must run for inference.
func TestSupportTableMatchesLayers(t *testing.T) {
	rows := map[string]SupportRow{}
	for _, r := range SupportTable() {
		rows[r.Class] = r
		if !r.Inference {
			t.Errorf("%s is registered without inference", r.Class)
		}
	}
	for class, row := range rows {
		spec := &kerasjson.Layer{ClassName: class, Name: "probe", Config: kerasjson.Config{}}
		f, ok := Lookup(spec)
		if !ok {
			continue
		}
		l, err := f(spec)
		if err != nil {
			continue // needs a config; covered by its own tests
		}
		reason := ""
		if io, ok := l.(InferenceOnly); ok {
			reason = io.TrainingUnsupported()
		}
		if (reason != "") == row.Training {
			t.Errorf("%s: Register says training %v, but the layer's refusal reason is %q", class, row.Training, reason)
		}
	}
}
