package train

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestProgbarMatchesKeras replays the updates of testdata/fit/progbar.json
// (export_fit.py: Keras 3's Progbar driven as ProgbarLogger drives it, and
// with stateless logs and another unit, on a fake clock) and compares the
// bytes printed with Keras's.
func TestProgbarMatchesKeras(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "fit", "progbar.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Runs []struct {
			Verbose   int      `json:"verbose"`
			Target    *int     `json:"target"`
			Stateless []string `json:"stateless"`
			UnitName  string   `json:"unit_name"`
			Events    []struct {
				Seconds  float64            `json:"seconds"`
				Step     int                `json:"step"`
				Logs     map[string]float64 `json:"logs"`
				Finalize bool               `json:"finalize"`
			} `json:"events"`
			Output string `json:"output"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Runs) == 0 {
		t.Fatal("no runs in progbar.json")
	}
	for i, run := range golden.Runs {
		base := time.Unix(1000, 0)
		now := base
		var out bytes.Buffer
		target := 0 // Keras's None
		if run.Target != nil {
			target = *run.Target
		}
		bar := NewProgbar(&out, target, run.Verbose)
		bar.Now = func() time.Time { return now }
		bar.Start()
		if run.UnitName != "" {
			bar.UnitName = run.UnitName
		}
		if run.Stateless != nil {
			bar.Stateless = map[string]bool{}
			for _, k := range run.Stateless {
				bar.Stateless[k] = true
			}
		}
		for _, e := range run.Events {
			now = base.Add(time.Duration(e.Seconds * float64(time.Second)))
			bar.Update(e.Step, e.Logs, e.Finalize)
		}
		if got := out.String(); got != run.Output {
			t.Errorf("run %d (verbose %d, target %d):\ngot  %q\nwant %q", i, run.Verbose, target, got, run.Output)
		}
	}
}
