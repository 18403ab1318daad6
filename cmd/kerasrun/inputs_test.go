package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun"
)

// twoIO is a model with two named inputs, in_a (None, 4) and in_b
// (None, 3), and two named outputs, out_reg (None, 2) and out_cls
// (None, 3), with Keras's predictions and evaluate results.
var twoIO = filepath.Join(testdata, "func_two_io")

func twoIOFile(name string) string { return filepath.Join(twoIO, name) }

// TestNamedInputsAnyOrder replays "predict tab.keras numeric.npy
// category.npy fails, numeric=tab_num.npy is read as a file name": NAME=FILE
// in any order, an .npz keyed by input name and np.savez's positional
// arr_0, arr_1 all give Keras's numbers.
func TestNamedInputsAnyOrder(t *testing.T) {
	model := twoIOFile("model_k3.keras")
	x0, x1 := twoIOFile("x0.npy"), twoIOFile("x1.npy")
	want := map[string]*kerasrun.Tensor{}
	for i, name := range []string{"out_reg", "out_cls"} {
		w, err := kerasrun.ReadNPY(twoIOFile("k3_keras_pred" + itoa(i) + ".npy"))
		if err != nil {
			t.Fatal(err)
		}
		want[name] = w
	}
	a, err := kerasrun.ReadNPY(x0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := kerasrun.ReadNPY(x1)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	named, positional := filepath.Join(tmp, "named.npz"), filepath.Join(tmp, "positional.npz")
	if err := kerasrun.WriteNPZ(named, []string{"in_b", "in_a"}, []*kerasrun.Tensor{b, a}); err != nil {
		t.Fatal(err)
	}
	if err := kerasrun.WriteNPZ(positional, []string{"arr_1", "arr_0"}, []*kerasrun.Tensor{b, a}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{x0, x1},
		{"in_b=" + x1, "in_a=" + x0},
		{"in_a=" + x0, "in_b=" + x1},
		{"in_b=" + x1, x0}, // the unnamed one fills the input left
		{named},
		{positional},
		{"in_b=" + named, "in_a=" + named},
	} {
		out, err := runCLI(t, append([]string{"predict", model}, args...)...)
		if err != nil {
			t.Errorf("%v: %v", args, err)
			continue
		}
		checkPredictJSON(t, strings.Join(args, " "), out, want)
	}
}

func checkPredictJSON(t *testing.T, what, out string, want map[string]*kerasrun.Tensor) {
	t.Helper()
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != len(want) {
		t.Fatalf("%s: not JSON with outputs %v: %v\n%s", what, keys(want), err, out)
	}
	for name, w := range want {
		var rows [][]float32
		if err := json.Unmarshal(got[name], &rows); err != nil {
			t.Fatalf("%s: output %s: %v", what, name, err)
		}
		if len(rows) != w.Shape[0] {
			t.Fatalf("%s: output %s has %d rows, Keras %d", what, name, len(rows), w.Shape[0])
		}
		cols := w.Shape[1]
		for i, row := range rows {
			for j, v := range row {
				if d := abs(v - w.Data[i*cols+j]); d > 1e-5+1e-4*abs(w.Data[i*cols+j]) {
					t.Fatalf("%s: %s[%d][%d] = %v, Keras %v", what, name, i, j, v, w.Data[i*cols+j])
				}
			}
		}
	}
}

func keys(m map[string]*kerasrun.Tensor) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// TestInputMismatchErrors: a wrong count, name or shape is an error
// naming the inputs and the shapes.
func TestInputMismatchErrors(t *testing.T) {
	model := twoIOFile("model_k3.keras")
	x0, x1 := twoIOFile("x0.npy"), twoIOFile("x1.npy")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{x0}, []string{`no array for input "in_b"`, "in_a (None, 4), in_b (None, 3)"}},
		{[]string{x0, x1, x1}, []string{"1 array(s) too many", "in_a (None, 4), in_b (None, 3)"}},
		{[]string{x1, x0}, []string{`input "in_a"`, "x1.npy has shape (8, 3), the model takes (None, 4)"}},
		{[]string{"numeric=" + x0, x1}, []string{`no input named "numeric"`, "in_a (None, 4)"}},
		{[]string{"in_a=" + x0, "in_a=" + x0}, []string{`input "in_a" is given twice`}},
		{[]string{"in_a=" + twoIOFile("nope.npy"), x1}, []string{"nope.npy"}},
	} {
		_, err := runCLI(t, append([]string{"predict", model}, c.args...)...)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: want an error containing %q, got %v", c.args, w, err)
			}
		}
	}
}

// TestSwappedTargets replays "evaluate with two target files swapped
// printed wrong losses with exit code 0": swapped positional targets of
// different shapes are refused, named targets in any order give Keras's
// results, and so does fit's --y.
func TestSwappedTargets(t *testing.T) {
	model := twoIOFile("model_k3.keras")
	x0, x1, y0, y1 := twoIOFile("x0.npy"), twoIOFile("x1.npy"), twoIOFile("y0.npy"), twoIOFile("y1.npy")
	_, stderr, code := runMain(t, "evaluate", model, x0, x1, y1, y0)
	if code == 0 || !strings.Contains(stderr, `target for output "out_reg" has shape (8, 3), the output (None, 2)`) {
		t.Errorf("swapped targets: exit %d, stderr %q; want a refusal naming out_reg and the shapes", code, stderr)
	}
	var want map[string]float64
	for _, m := range readCase(t, "func_two_io").Models {
		if m.ID == "k3_keras" {
			want = m.Evaluate
		}
	}
	for _, args := range [][]string{
		{x0, x1, y0, y1},
		{x0, x1, "out_cls=" + y1, "out_reg=" + y0},
		{"out_cls=" + y1, "in_b=" + x1, "out_reg=" + y0, "in_a=" + x0},
	} {
		out, err := runCLI(t, append(append([]string{"evaluate", model}, args...), "--json")...)
		if err != nil {
			t.Errorf("%v: %v", args, err)
			continue
		}
		var got map[string]float64
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != len(want) || len(want) == 0 {
			t.Fatalf("%v: got %v (%v), Keras %v", args, got, err, want)
		}
		for k, w := range want {
			if g := got[k]; abs(float32(g-w)) > 1e-5+1e-4*abs(float32(w)) {
				t.Errorf("%v: %s = %v, Keras %v", args, k, g, w)
			}
		}
	}
	tmp := t.TempDir()
	if _, err := runCLI(t, "fit", model, "--x", x0+","+x1, "--y", y1+","+y0, "--verbose", "0", "-o", filepath.Join(tmp, "m.keras")); err == nil || !strings.Contains(err.Error(), `target for output "out_reg"`) {
		t.Errorf("fit with swapped --y: want a refusal, got %v", err)
	}
	if _, err := runCLI(t, "fit", model, "--x", "in_b="+x1, "--x", "in_a="+x0, "--y", "out_cls="+y1+",out_reg="+y0, "--verbose", "0", "-o", filepath.Join(tmp, "m.keras")); err != nil {
		t.Errorf("fit with named --x and --y: %v", err)
	}
}

var inputsDir = filepath.Join(testdata, "inputs")

// inputsImages are testdata/inputs/images in name order, as
// compat/python/export_inputs.py predicted them.
func inputsImages(t *testing.T) []string {
	t.Helper()
	var c struct{ Images []string }
	raw, err := os.ReadFile(filepath.Join(inputsDir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.Images
}

// TestImageInputs replays "kerasrun predict img.keras cat.png says not a
// .npy file": a PNG, a BMP, a folder and a glob of images give Keras's
// predictions of the same files through load_img + img_to_array (the
// model's input gives the size, 8x8, and the color mode); JPEG rows are
// held to the widened tolerance of the root package's image tests.
func TestImageInputs(t *testing.T) {
	model := filepath.Join(inputsDir, "model_rgb.keras")
	pred, err := kerasrun.ReadNPY(filepath.Join(inputsDir, "pred_rgb.npy"))
	if err != nil {
		t.Fatal(err)
	}
	images := inputsImages(t)
	rows := func(names ...string) *kerasrun.Tensor {
		w := &kerasrun.Tensor{Shape: []int{len(names), pred.Shape[1]}}
		for _, n := range names {
			i := slices.Index(images, n)
			if i < 0 {
				t.Fatalf("%s is not among the fixture's images", n)
			}
			w.Data = append(w.Data, pred.Data[i*pred.Shape[1]:(i+1)*pred.Shape[1]]...)
		}
		return w
	}
	var pngs []string
	for _, n := range images {
		if strings.HasSuffix(n, ".png") {
			pngs = append(pngs, n)
		}
	}
	for _, c := range []struct {
		arg  string
		want *kerasrun.Tensor
	}{
		{filepath.Join(inputsDir, "images", "rgb.png"), rows("rgb.png")},
		{"input_layer=" + filepath.Join(inputsDir, "images", "rgb.bmp"), rows("rgb.bmp")},
		{filepath.Join(inputsDir, "images", "*.png"), rows(pngs...)},
	} {
		out, err := runCLI(t, "predict", model, c.arg)
		if err != nil {
			t.Errorf("%s: %v", c.arg, err)
			continue
		}
		checkPredictJSON(t, c.arg, out, map[string]*kerasrun.Tensor{"dense": c.want})
	}
	// The folder: every image, JPEGs included, in name order.
	out, err := runCLI(t, "predict", model, filepath.Join(inputsDir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string][][]float32
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got["dense"]) != len(images) {
		t.Fatalf("folder: %v\n%s", err, out)
	}
	for i, row := range got["dense"] {
		atol := float32(1e-5)
		if strings.HasSuffix(images[i], ".jpg") {
			atol = 2e-3
		}
		for j, v := range row {
			if w := pred.Data[i*pred.Shape[1]+j]; abs(v-w) > atol+1e-4*abs(w) {
				t.Errorf("folder: %s [%d] = %v, Keras %v", images[i], j, v, w)
			}
		}
	}
	if _, err := runCLI(t, "predict", filepath.Join(inputsDir, "model_tab.keras"), "category="+filepath.Join(inputsDir, "images", "rgb.png"), filepath.Join(inputsDir, "numeric.npy")); err == nil || !strings.Contains(err.Error(), `input "category" has shape (None, 1)`) {
		t.Errorf("an image for a tabular input: %v", err)
	}
}

// runMainStdin is runMain with stdin.
func runMainStdin(t *testing.T, in string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KERASRUN_TEST_ARGS="+strings.Join(args, "\x1f"))
	cmd.Stdin = strings.NewReader(in)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func tabWant(t *testing.T) map[string]*kerasrun.Tensor {
	t.Helper()
	want := map[string]*kerasrun.Tensor{}
	for _, k := range []string{"score", "label"} {
		w, err := kerasrun.ReadNPY(filepath.Join(inputsDir, "pred_tab_"+k+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		want[k] = w
	}
	return want
}

// TestCSVAndJSONInputs replays "a CSV and JSON on stdin (-) fail": the
// tabular model with inputs {"numeric": (3,), "category": (1,)} (Keras's
// order: category, numeric) reads a CSV whose header names them
// (numeric_0..numeric_2, category) and {"numeric": ..., "category": ...}
// JSON, from files and from stdin, and gives Keras's predictions.
func TestCSVAndJSONInputs(t *testing.T) {
	model := filepath.Join(inputsDir, "model_tab.keras")
	want := tabWant(t)
	for _, f := range []string{"tab.csv", "tab.json"} {
		path := filepath.Join(inputsDir, f)
		out, err := runCLI(t, "predict", model, path)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		checkPredictJSON(t, f, out, want)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, code := runMainStdin(t, string(raw), "predict", model, "-")
		if code != 0 {
			t.Fatalf("%s on stdin: exit %d: %s", f, code, stderr)
		}
		checkPredictJSON(t, f+" on stdin", out, want)
	}
	// A .npy on stdin, the other input named.
	raw, err := os.ReadFile(filepath.Join(inputsDir, "numeric.npy"))
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runMainStdin(t, string(raw), "predict", model, "numeric=-", "category="+filepath.Join(inputsDir, "category.npy"))
	if code != 0 {
		t.Fatalf(".npy on stdin: exit %d: %s", code, stderr)
	}
	checkPredictJSON(t, ".npy on stdin", out, want)
	// A CSV without a header and a bare JSON list for a one-input model.
	seq := filepath.Join(testdata, "func_in_seq")
	x, err := kerasrun.ReadNPY(filepath.Join(seq, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	var csvText, jsonText strings.Builder
	jsonText.WriteString("[")
	for i := 0; i < x.Shape[0]; i++ {
		row := x.Data[i*x.Shape[1] : (i+1)*x.Shape[1]]
		var cells []string
		for _, v := range row {
			cells = append(cells, strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		csvText.WriteString(strings.Join(cells, ",") + "\n")
		if i > 0 {
			jsonText.WriteString(",")
		}
		jsonText.WriteString("[" + strings.Join(cells, ",") + "]")
	}
	jsonText.WriteString("]")
	ref, err := runCLI(t, "predict", filepath.Join(seq, "model_k3.keras"), filepath.Join(seq, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for what, in := range map[string]string{"headerless CSV": csvText.String(), "bare JSON list": jsonText.String()} {
		out, stderr, code := runMainStdin(t, in, "predict", filepath.Join(seq, "model_k3.keras"), "-")
		if code != 0 || out != ref {
			t.Errorf("%s on stdin: exit %d, stderr %q:\n%s\nwant\n%s", what, code, stderr, out, ref)
		}
	}
}

// TestCSVAndJSONErrors: columns and keys that name nothing, a ragged
// JSON list and a cell that is no number are refused with what to write.
func TestCSVAndJSONErrors(t *testing.T) {
	model := filepath.Join(inputsDir, "model_tab.keras")
	for _, c := range []struct{ in, want string }{
		{"numeric_0,numeric_1,numeric_2,kind\n1,2,3,0\n", `column(s) "kind" name no input or output`},
		{"numeric_0,numeric_2,category\n1,2,3\n", "numeric_1 (missing)"},
		{"numeric_0,numeric_1,numeric_2,category\n1,2,x,0\n", `row 2, column "numeric_2": "x" is not a number`},
		{`{"numeric": [[1,2,3]], "kind": [[0]]}`, `no input named "kind"`},
		{`{"numeric": [[1,2,3],[1,2]], "category": [[0],[1]]}`, "not rectangular"},
		{`[[1,2,3]]`, `no array for input "numeric"`},
		{`{"numeric": [1,2,3], "category": [0]}`, `input "category": -:category has shape (1,), the model takes (None, 1)`},
	} {
		_, stderr, code := runMainStdin(t, c.in, "predict", model, "-")
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %q", c.in, code, stderr, c.want)
		}
	}
}

// TestEvaluateFromJSONAndNamedTargets: evaluate takes its inputs from
// JSON and its targets by output name, and gives Keras's results.
func TestEvaluateFromJSONAndNamedTargets(t *testing.T) {
	var c struct {
		Tab struct{ Evaluate map[string]float64 } `json:"tab"`
	}
	raw, err := os.ReadFile(filepath.Join(inputsDir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &c); err != nil || len(c.Tab.Evaluate) == 0 {
		t.Fatalf("cases.json: %v", err)
	}
	out, err := runCLI(t, "evaluate", filepath.Join(inputsDir, "model_tab.keras"), filepath.Join(inputsDir, "tab.json"),
		"score="+filepath.Join(inputsDir, "y_score.npy"), "label="+filepath.Join(inputsDir, "y_label.npy"), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]float64
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != len(c.Tab.Evaluate) {
		t.Fatalf("got %s (%v), Keras %v", out, err, c.Tab.Evaluate)
	}
	for k, w := range c.Tab.Evaluate {
		if g := got[k]; abs(float32(g-w)) > 1e-5+1e-4*abs(float32(w)) {
			t.Errorf("%s = %v, Keras %v", k, g, w)
		}
	}
}
