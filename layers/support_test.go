package layers

import (
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
)

// TestSupportTableCoversRegistry fails when a registered class has no row
// in SupportTable (add one when you register a layer), or a row names a
// class that is not registered.
func TestSupportTableCoversRegistry(t *testing.T) {
	rows := map[string]SupportRow{}
	for _, r := range SupportTable() {
		if _, dup := rows[r.Class]; dup {
			t.Errorf("SupportTable lists %s twice", r.Class)
		}
		rows[r.Class] = r
	}
	registered := map[string]bool{}
	for _, class := range Registered() {
		registered[class] = true
		if _, ok := rows[class]; !ok {
			t.Errorf("registered class %s is missing from SupportTable (layers/support.go)", class)
		}
	}
	for class := range rows {
		if !registered[class] {
			t.Errorf("SupportTable lists %s, which is not registered", class)
		}
	}
	// A class that refuses training (InferenceOnly) must say so in the
	// table, and the other way round.
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
			t.Errorf("%s: SupportTable says training %v, but the layer's refusal reason is %q", class, row.Training, reason)
		}
	}
}
