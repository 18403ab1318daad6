package train

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
)

func TestScheduleGolden(t *testing.T) {
	var g struct {
		Cases []struct {
			Config json.RawMessage `json:"config"`
			Steps  []int64         `json:"steps"`
			Values []float64       `json:"values"`
		}
	}
	loadGolden(t, "schedules.json", &g)
	for i, c := range g.Cases {
		s, err := NewSchedule(decodeConfig(t, c.Config))
		if err != nil {
			t.Fatalf("%s: %v", caseLabel(i, c.Config), err)
		}
		for k, step := range c.Steps {
			if got := s.Rate(step); !close(got, c.Values[k]) {
				t.Errorf("%s: step %d: %.8g, want %.8g", caseLabel(i, c.Config), step, got, c.Values[k])
			}
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	for _, o := range []*kerasjson.Object{
		{ClassName: "ExponentialDecay", Config: kerasjson.Config{"initial_learning_rate": 0.1, "decay_steps": 0.0, "decay_rate": 0.5}},
		{ClassName: "ExponentialDecay", Config: kerasjson.Config{"initial_learning_rate": 0.1}},
		{ClassName: "PiecewiseConstantDecay", Config: kerasjson.Config{"boundaries": []any{1.0}, "values": []any{0.1}}},
		{ClassName: "MyWarmup"},
	} {
		if s, err := NewSchedule(o); err == nil || s != nil {
			t.Errorf("%s %v: want an error and no schedule", o.ClassName, o.Config)
		} else if !strings.Contains(err.Error(), o.ClassName) {
			t.Errorf("error %q does not name %s", err, o.ClassName)
		}
	}
}
