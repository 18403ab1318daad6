package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/kerasrun/kerasrun"
)

// The example runs on Beam's Prism runner, in this process, as the
// README's `go run ./examples/score` does.
func TestMain(m *testing.M) { os.Exit(ptest.MainRetWithDefault(m, "prism")) }

const fixture = "../../../testdata/mlp_relu"

// fixtureTensors reads the fixture's inputs and, for model id, Keras's
// outputs, and its tolerance.
func fixtureTensors(t *testing.T, id string) (x, want *kerasrun.Tensor, atol, rtol float64) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixture, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Tolerance struct{ Atol, Rtol float64 }
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if x, err = kerasrun.ReadNPY(filepath.Join(fixture, "x.npy")); err != nil {
		t.Fatal(err)
	}
	if want, err = kerasrun.ReadNPY(filepath.Join(fixture, id+"_pred0.npy")); err != nil {
		t.Fatal(err)
	}
	return x, want, c.Tolerance.Atol, c.Tolerance.Rtol
}

// runScore runs the example's pipeline with these flags (and --output,
// --failures in dir) and returns the lines of its two files.
func runScore(t *testing.T, dir string, flags map[string]string) (results, failures []string) {
	t.Helper()
	flags["output"] = filepath.Join(dir, "scores.jsonl")
	flags["failures"] = filepath.Join(dir, "failed.jsonl")
	for _, f := range []string{"model", "weights", "input", "format", "header", "output", "failures", "batch_size"} {
		v, ok := flags[f]
		if !ok {
			v = flag.Lookup(f).DefValue
		}
		if err := flag.Set(f, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return readFileLines(t, flags["output"]), readFileLines(t, flags["failures"])
}

func readFileLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkScores checks that the result lines hold exactly the samples of
// wantIDs (id -> fixture row), each once, with Keras's outputs for that
// row.
func checkScores(t *testing.T, lines []string, wantIDs map[string]int, want *kerasrun.Tensor, atol, rtol float64) {
	t.Helper()
	per := len(want.Data) / want.Shape[0]
	seen := map[string]bool{}
	for _, line := range lines {
		var r struct {
			ID      string
			Model   string
			Outputs map[string][]float64
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		row, ok := wantIDs[r.ID]
		if !ok || seen[r.ID] {
			t.Errorf("unexpected or repeated result %s", r.ID)
			continue
		}
		seen[r.ID] = true
		if len(r.Outputs) != 1 {
			t.Errorf("%s: outputs %v, want one", r.ID, r.Outputs)
			continue
		}
		for name, got := range r.Outputs {
			w := want.Data[row*per : (row+1)*per]
			if len(got) != len(w) {
				t.Errorf("%s: %s has %d values, want %d", r.ID, name, len(got), len(w))
				continue
			}
			for k := range w {
				if math.Abs(got[k]-float64(w[k])) > atol+rtol*math.Abs(float64(w[k])) {
					t.Errorf("%s: %s[%d] = %v, Keras gives %v", r.ID, name, k, got[k], w[k])
					break
				}
			}
		}
	}
	if len(seen) != len(wantIDs) {
		t.Errorf("%d of %d samples scored", len(seen), len(wantIDs))
	}
}

// TestScoreNPY scores two .npy files matched by a glob with the .keras
// model: every row of both, as Keras scored it.
func TestScoreNPY(t *testing.T) {
	x, want, atol, rtol := fixtureTensors(t, "k3_keras")
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(fixture, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, name := range []string{"a.npy", "b.npy"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < x.Shape[0]; i++ {
			ids[fmt.Sprintf("%s:%d", p, i)] = i
		}
	}
	results, failures := runScore(t, dir, map[string]string{
		"model": filepath.Join(fixture, "model_k3.keras"), "input": filepath.Join(dir, "*.npy"), "batch_size": "3",
	})
	if len(failures) != 0 {
		t.Errorf("failures: %v", failures)
	}
	checkScores(t, results, ids, want, atol, rtol)
}

// TestScoreLines scores CSV (with a header) and whitespace-separated text
// lines with the Keras 2 model JSON + weights: the good lines as Keras
// scored them, the bad ones (not numbers, too short) in the failures file
// with their line.
func TestScoreLines(t *testing.T) {
	x, want, atol, rtol := fixtureTensors(t, "k2_json")
	per := len(x.Data) / x.Shape[0]
	for _, tc := range []struct {
		format, sep string
		header      bool
	}{{"csv", ",", true}, {"text", " \t", false}} {
		t.Run(tc.format, func(t *testing.T) {
			dir := t.TempDir()
			var b strings.Builder
			line := 0
			if tc.header {
				b.WriteString("pixels...\n")
				line++
			}
			ids := map[string]int{}
			p := filepath.Join(dir, "rows."+tc.format)
			for i := 0; i < x.Shape[0]; i++ {
				for k, v := range x.Data[i*per : (i+1)*per] {
					if k > 0 {
						b.WriteByte(tc.sep[k%len(tc.sep)])
					}
					b.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
				}
				b.WriteString("\n")
				line++
				ids[fmt.Sprintf("%s:%d", p, line)] = i
				if i == 1 {
					b.WriteString("\n1,2,three\n1 2\n")
					line += 3
				}
			}
			if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			results, failures := runScore(t, dir, map[string]string{
				"model": filepath.Join(fixture, "model_k2.json"), "weights": filepath.Join(fixture, "model_k2_weights.h5"),
				"input": p, "format": tc.format, "header": strconv.FormatBool(tc.header),
			})
			checkScores(t, results, ids, want, atol, rtol)
			bad := map[string]string{}
			for _, f := range failures {
				var r struct{ ID, Error string }
				if err := json.Unmarshal([]byte(f), &r); err != nil {
					t.Fatalf("%q: %v", f, err)
				}
				bad[r.ID] = r.Error
			}
			first := 4 // the line after sample 1 and the blank line
			if tc.header {
				first++
			}
			wantBad := map[string]string{
				fmt.Sprintf("%s:%d", p, first):   "value 3",
				fmt.Sprintf("%s:%d", p, first+1): "values do not fill shape [784]",
			}
			if tc.format == "csv" {
				// "1 2" is one field in a CSV.
				wantBad[fmt.Sprintf("%s:%d", p, first+1)] = "value 1"
			}
			if len(bad) != len(wantBad) {
				t.Errorf("failures %v, want %v", bad, wantBad)
			}
			for id, sub := range wantBad {
				if !strings.Contains(bad[id], sub) {
					t.Errorf("failure of %s: %q, want it to mention %q", id, bad[id], sub)
				}
			}
		})
	}
}
