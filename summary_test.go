package kerasrun

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// summaryCase is one entry of testdata/summary/cases.json, written by
// compat/python/export_summary.py: Keras 3's model.summary() text for a
// model file, with the arguments it was printed with.
type summaryCase struct {
	Model         string `json:"model"`
	Weights       string `json:"weights"`
	Text          string `json:"text"`
	Columns       int    `json:"columns"`
	Compiled      bool   `json:"compiled"`
	ExpandNested  bool   `json:"expand_nested"`
	ShowTrainable bool   `json:"show_trainable"`
	LineLength    int    `json:"line_length"`
}

// TestSummaryMatchesKeras compares WriteSummary with Keras's own text,
// byte for byte, on every fixture model Keras 3 loads; a model JSON both
// from its configuration alone and with its weights file.
func TestSummaryMatchesKeras(t *testing.T) {
	data, err := os.ReadFile("testdata/summary/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Cases []summaryCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Cases) < 100 {
		t.Fatalf("only %d summary cases", len(manifest.Cases))
	}
	for _, c := range manifest.Cases {
		t.Run(strings.TrimSuffix(c.Text, ".txt"), func(t *testing.T) {
			path, weights := c.Model, c.Weights
			if rest, ok := strings.CutPrefix(path, "realworld/"); ok {
				if _, err := os.Stat(realworldDir); err != nil {
					t.Skip("real-world corpus absent")
				}
				path = filepath.Join(realworldDir, rest)
				if weights != "" {
					weights = filepath.Join(realworldDir, weights)
				}
			}
			want, err := os.ReadFile(filepath.Join("testdata/summary", c.Text))
			if err != nil {
				t.Fatal(err)
			}
			o := SummaryOptions{LineLength: c.LineLength, Columns: c.Columns, ExpandNested: c.ExpandNested, ShowTrainable: c.ShowTrainable}
			loads := [][]LoadOption{nil}
			if weights != "" {
				loads = append(loads, []LoadOption{WithWeights(weights)})
			}
			for _, opts := range loads {
				m, err := loadForDisplay(path, opts)
				if IsUnsupported(err) {
					t.Skipf("kerasrun cannot build this model: %v", err)
				}
				if err != nil {
					t.Fatal(err)
				}
				if !c.Compiled {
					// Keras 3 could not compile this file (a loss or
					// optimizer config it cannot read) and loaded it
					// with compile=False: summarize it uncompiled too.
					m.f.Training, m.f.Optimizer, m.f.OptimizerSkipped = nil, nil, ""
				}
				var b strings.Builder
				if err := m.WriteSummary(&b, o); err != nil {
					t.Fatal(err)
				}
				if got := b.String(); got != string(want) {
					t.Errorf("weights %q: summary differs from Keras's at %s\n got:\n%s\nwant:\n%s", weights, firstDiff(got, string(want)), got, want)
				}
			}
		})
	}
}

// firstDiff names the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, gl, wl)
		}
	}
	return "no line"
}
