package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun"
)

// TestMain runs main() itself when KERASRUN_TEST_ARGS is set (the
// arguments, separated by U+001F), so that tests see the real exit status.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("KERASRUN_TEST_ARGS"); ok {
		os.Args = append([]string{"kerasrun"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs kerasrun in a child process: stdout, stderr, exit code.
func runMain(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runMainStdin(t, "", args...)
}

// TestHelpExitsZero: -h, --help and `help CMD` print the command's usage
// and flags to stdout and exit 0, for every command.
func TestHelpExitsZero(t *testing.T) {
	flags := map[string][]string{
		"predict": {"-o", "-weights"}, "summary": {"-weights", "-expand-nested", "-show-trainable", "-line-length"}, "evaluate": {"-batch-size", "-json", "-weights"},
		"inspect": {"-model", "-weights"}, "convert": {"-weights"},
		"fit":  {"-x", "-y", "-epochs", "-batch-size", "-verbose", "-o", "-plot"},
		"plot": {"-o", "-show-shapes", "-show-dtype", "-show-layer-names", "-show-trainable", "-expand-nested", "-weights"}, "serve": {"-http", "-grpc", "-batching"},
	}
	for _, c := range commands {
		var first string
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}, {"help", c.name}} {
			out, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			if !strings.Contains(out, "Usage:\n  kerasrun "+c.name) || !strings.Contains(out, "Example:\n  kerasrun "+c.name) {
				t.Errorf("%v: no usage line or example:\n%s", args, out)
			}
			for _, f := range flags[c.name] {
				if !strings.Contains(out, "\n  "+f+" ") && !strings.Contains(out, "\n  "+f+"\n") {
					t.Errorf("%v: flag %s not listed:\n%s", args, f, out)
				}
			}
			if first == "" {
				first = out
			} else if out != first {
				t.Errorf("%v prints other help than %s -h", args, c.name)
			}
		}
	}
	out, stderr, code := runMain(t, "predict", "-h")
	if code != 0 || !strings.Contains(out, "-weights") || stderr != "" {
		t.Errorf("kerasrun predict -h: exit %d, stderr %q, stdout:\n%s", code, stderr, out)
	}
	// A help flag after positional arguments too.
	if out, _, code := runMain(t, "fit", "model.keras", "--help"); code != 0 || !strings.Contains(out, "-verbose") {
		t.Errorf("kerasrun fit model.keras --help: exit %d:\n%s", code, out)
	}
	if out, _, code := runMain(t, "help"); code != 0 || !strings.Contains(out, "kerasrun version") {
		t.Errorf("kerasrun help: exit %d:\n%s", code, out)
	}
	_, stderr, code = runMain(t, "help", "frobnicate")
	if code != 1 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("kerasrun help frobnicate: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runMain(t, "predict", "--bogus")
	if code != 1 || !strings.Contains(stderr, "-bogus") || !strings.Contains(stderr, "kerasrun predict -h") {
		t.Errorf("kerasrun predict --bogus: exit %d, stderr %q", code, stderr)
	}
}

// TestVersion: the module and Go versions, and the Keras pins of
// compat/python/requirements.txt.
func TestVersion(t *testing.T) {
	out, stderr, code := runMain(t, "version")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !regexp.MustCompile(`^kerasrun (\(devel\)|v\S+)\n`).MatchString(out) {
		t.Errorf("first line is not kerasrun VERSION:\n%s", out)
	}
	for _, want := range []string{runtime.Version(), "keras 3", "tf-keras 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
	req, err := os.ReadFile("../../compat/python/requirements.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range checkedAgainst {
		pin := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(k.pkg) + `==(\S+)$`).FindSubmatch(req)
		if pin == nil || string(pin[1]) != k.version {
			t.Errorf("version says %s %s; compat/python/requirements.txt pins %q", k.pkg, k.version, pin)
		}
		if !strings.Contains(out, k.pkg+" "+k.version) {
			t.Errorf("version output lacks %s %s:\n%s", k.pkg, k.version, out)
		}
	}
	if _, err := runCLI(t, "version", "extra"); err == nil {
		t.Error("version with an argument succeeded")
	}
}

// TestBadFlagsRefusedBeforeWork: the model and arrays named do not exist,
// so an error about the flag shows it was checked before loading; on a
// real model, fit with a bad -o prints no epoch.
func TestBadFlagsRefusedBeforeWork(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"predict", "nope.keras", "x.npy", "-o", filepath.Join(tmp, "out.txt")}, "out.txt: cannot tell the output format from the extension (use .npy, .npz, .json, .csv)"},
		{[]string{"predict", "nope.keras", "x.npy", "-o", filepath.Join(tmp, "no", "out.npy")}, "does not exist"},
		{[]string{"fit", "nope.keras", "--x", "x.npy", "--y", "y.npy", "-o", filepath.Join(tmp, "x.onnx")}, "x.onnx: cannot tell the output format"},
		{[]string{"fit", "nope.keras", "--x", "x.npy", "--y", "y.npy", "-o", filepath.Join(tmp, "x.keras"), "--verbose", "3"}, "--verbose 3: must be 0"},
		{[]string{"fit", "nope.keras", "--x", "x.npy", "--y", "y.npy", "-o", filepath.Join(tmp, "x.keras"), "--verbose", "-1"}, "--verbose -1: must be 0"},
		{[]string{"fit", "nope.keras", "--x", "x.npy", "--y", "y.npy", "-o", filepath.Join(tmp, "x.keras"), "--batch-size", "0"}, "--batch-size 0: must be at least 1"},
		{[]string{"evaluate", "nope.keras", "x.npy", "y.npy", "--batch-size", "0"}, "--batch-size 0: must be at least 1"},
	} {
		_, stderr, code := runMain(t, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "nope.keras") {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", c.args, code, stderr, c.want)
		}
	}
	dir := filepath.Join(testdata, "mlp_relu")
	out, err := runCLI(t, "fit", filepath.Join(dir, "model_k3.keras"), "--x", filepath.Join(dir, "x.npy"), "--y", filepath.Join(dir, "y.npy"), "-o", filepath.Join(tmp, "x.onnx"))
	if err == nil || out != "" {
		t.Errorf("fit -o x.onnx: err %v, stdout %q: want an error and no training", err, out)
	}
	// Several outputs into one .npy: refused before the inputs are read.
	two := filepath.Join(testdata, "func_two_io", "model_k2.h5")
	if _, err := runCLI(t, "predict", two, "missing0.npy", "missing1.npy", "-o", filepath.Join(tmp, "o.npy")); err == nil || !strings.Contains(err.Error(), ".npz") || strings.Contains(err.Error(), "missing0") {
		t.Errorf("two outputs into one .npy: want the .npz advice before reading inputs, got %v", err)
	}
}

// TestPredictJSONAndCSVFiles: -o .json holds what stdout shows; -o .csv
// holds the same numbers as -o .npy, one column per output unit.
func TestPredictJSONAndCSVFiles(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(testdata, "mlp_relu")
	model, x := filepath.Join(dir, "model_k3.keras"), filepath.Join(dir, "x.npy")
	stdout, err := runCLI(t, "predict", model, x)
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"json", "csv", "npy"} {
		if _, err := runCLI(t, "predict", model, x, "-o", filepath.Join(tmp, "out."+ext)); err != nil {
			t.Fatalf("-o out.%s: %v", ext, err)
		}
	}
	if got, err := os.ReadFile(filepath.Join(tmp, "out.json")); err != nil || string(got) != stdout {
		t.Errorf("out.json (%v) differs from stdout:\n%s\nvs\n%s", err, got, stdout)
	}
	want, err := kerasrun.ReadNPY(filepath.Join(tmp, "out.npy"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(tmp, "out.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows, cols := want.Shape[0], want.Shape[1]
	if len(rec) != rows+1 || len(rec[0]) != cols || rec[0][0] != "activation_1_0" || rec[0][cols-1] != "activation_1_"+strconv.Itoa(cols-1) {
		t.Fatalf("CSV is %d lines, header %v; want a header activation_1_0.. and %d rows of %d", len(rec), rec[0], rows, cols)
	}
	for i, row := range rec[1:] {
		for j, s := range row {
			v, err := strconv.ParseFloat(s, 32)
			if err != nil || float32(v) != want.Data[i*cols+j] {
				t.Fatalf("CSV [%d][%d] = %q, .npy %v", i, j, s, want.Data[i*cols+j])
			}
		}
	}
	img := &kerasrun.Tensor{Shape: []int{1, 2, 2}, Data: make([]float32, 4)}
	if err := writeCSV(&strings.Builder{}, []string{"conv"}, []*kerasrun.Tensor{img}); err == nil || !strings.Contains(err.Error(), "rank 1 or 2") {
		t.Errorf("a rank-3 output into CSV: want a refusal, got %v", err)
	}
}

// TestEvaluateJSONMatchesKeras: evaluate --json is one JSON object with
// the names and values Keras's evaluate(return_dict=True) recorded.
func TestEvaluateJSONMatchesKeras(t *testing.T) {
	dir := filepath.Join(testdata, "cifar_cnn")
	out, err := runCLI(t, "evaluate", filepath.Join(dir, "model_k3.keras"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy"), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]float64
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var want map[string]float64
	for _, m := range readCase(t, "cifar_cnn").Models {
		if m.ID == "k3_keras" {
			want = m.Evaluate
		}
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("got %v, Keras %v", got, want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-5+1e-4*math.Abs(w) {
			t.Errorf("%s = %v, Keras %v", k, g, w)
		}
	}
}
