package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun"
)

const testdata = "../../testdata"

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(args, &out)
	return out.String(), err
}

func TestPredictJSONMatchesKeras(t *testing.T) {
	dir := filepath.Join(testdata, "mlp_relu")
	out, err := runCLI(t, "predict", filepath.Join(dir, "model_k3.keras"), filepath.Join(dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string][][]float32
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON keyed by output name: %v\n%s", err, out)
	}
	want, err := kerasrun.ReadNPY(filepath.Join(dir, "k3_keras_pred0.npy"))
	if err != nil {
		t.Fatal(err)
	}
	rows := got["activation_1"]
	if len(rows) != want.Shape[0] {
		t.Fatalf("%d rows, want %d", len(rows), want.Shape[0])
	}
	for i, row := range rows {
		for j, v := range row {
			w := want.Data[i*want.Shape[1]+j]
			if d := v - w; d > 1e-5+1e-4*abs(w) || -d > 1e-5+1e-4*abs(w) {
				t.Fatalf("[%d][%d] = %v, Keras %v", i, j, v, w)
			}
		}
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestPredictWritesNPYAndNPZ(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(testdata, "func_two_io")
	x0, x1 := filepath.Join(dir, "x0.npy"), filepath.Join(dir, "x1.npy")
	model := filepath.Join(dir, "model_k2.h5")
	if _, err := runCLI(t, "predict", model, x0, x1, "-o", filepath.Join(tmp, "out.npy")); err == nil || !strings.Contains(err.Error(), ".npz") {
		t.Fatalf("two outputs into one .npy: want an error pointing to .npz, got %v", err)
	}
	if _, err := runCLI(t, "predict", model, x0, x1, "-o", filepath.Join(tmp, "out.npz")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(tmp, "out.npz"))
	if err != nil || st.Size() == 0 {
		t.Fatalf("no .npz written: %v", err)
	}
	single := filepath.Join(testdata, "cifar_cnn")
	out := filepath.Join(tmp, "cnn.npy")
	if _, err := runCLI(t, "predict", filepath.Join(single, "model_k3.h5"), filepath.Join(single, "x.npy"), "-o", out); err != nil {
		t.Fatal(err)
	}
	got, err := kerasrun.ReadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.Shape[0] != 8 || got.Shape[1] != 10 {
		t.Fatalf("shape %v, want (8, 10)", got.Shape)
	}
}

// TestSummaryIsKeras: `kerasrun summary` prints Keras 3's model.summary()
// text byte for byte (testdata/summary, exported by Keras), with the
// terminal width taken from COLUMNS as Keras takes it; a model JSON needs
// no weights file.
func TestSummaryIsKeras(t *testing.T) {
	for _, c := range []struct {
		text    string
		columns string
		args    []string
	}{
		{"testdata__cifar_cnn__model_k3.keras.txt", "200", []string{"cifar_cnn/model_k3.keras"}},
		{"testdata__cifar_cnn__model_k3.keras_cols70.txt", "70", []string{"cifar_cnn/model_k3.keras"}},
		{"testdata__cifar_cnn__model_k3.keras_cols70_w100.txt", "70", []string{"cifar_cnn/model_k3.keras", "--line-length", "100"}},
		{"testdata__func_two_io__model_k3.json.txt", "200", []string{"func_two_io/model_k3.json"}},
		{"testdata__func_two_io__model_k3.json.txt", "200", []string{"func_two_io/model_k3.json", "--weights", "func_two_io/model_k3.weights.h5"}},
		{"testdata__summary__models__shared_nested_mixed.keras_trainable.txt", "200", []string{"summary/models/shared_nested_mixed.keras", "--expand-nested", "--show-trainable"}},
		{"testdata__func_in_seq__model_k3.keras_w64.txt", "200", []string{"func_in_seq/model_k3.keras", "--line-length", "64"}},
	} {
		t.Setenv("COLUMNS", c.columns)
		args := []string{"summary"}
		for i, a := range c.args {
			if i == 0 || c.args[i-1] == "--weights" {
				a = filepath.Join(testdata, a)
			}
			args = append(args, a)
		}
		out, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		want, err := os.ReadFile(filepath.Join(testdata, "summary", c.text))
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("%v: got\n%s\nwant (Keras)\n%s", args, out, want)
		}
	}
}

func TestEvaluatePrintsKerasNames(t *testing.T) {
	dir := filepath.Join(testdata, "mlp_sigmoid")
	out, err := runCLI(t, "evaluate", filepath.Join(dir, "model_k3.h5"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "loss: ") || !strings.Contains(out, "accuracy: ") {
		t.Fatalf("evaluate output lacks loss and accuracy:\n%s", out)
	}
}

func TestErrors(t *testing.T) {
	dir := filepath.Join(testdata, "mlp_relu")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"predict", filepath.Join(dir, "model_k3.keras")}, "INPUT"},
		{[]string{"predict", filepath.Join(dir, "nope.keras"), filepath.Join(dir, "x.npy")}, "nope.keras"},
		{[]string{"predict", filepath.Join(dir, "model_k3.keras"), filepath.Join(testdata, "cifar_cnn", "x.npy")}, "shape"},
		{[]string{"predict", filepath.Join(dir, "model_k3.json"), filepath.Join(dir, "x.npy")}, "weights"},
		{[]string{"evaluate", filepath.Join(dir, "model_k3.keras"), filepath.Join(dir, "x.npy")}, "need MODEL, X and Y"},
		{[]string{"predict", filepath.Join(dir, "x.npy"), filepath.Join(dir, "x.npy")}, "not a Keras model"},
	} {
		_, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: want an error containing %q, got %v", c.args, c.want, err)
		}
	}
}

type caseManifest struct {
	Models []struct {
		ID       string              `json:"id"`
		Params   struct{ Total int } `json:"params"`
		Evaluate map[string]float64  `json:"evaluate"`
	} `json:"models"`
}

func readCase(t *testing.T, name string) caseManifest {
	data, err := os.ReadFile(filepath.Join(testdata, name, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c caseManifest
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestInspectAndConvert(t *testing.T) {
	dir := filepath.Join(testdata, "cifar_cnn")
	out, err := runCLI(t, "inspect", filepath.Join(dir, "model_k2.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "model_weights") || !strings.Contains(out, "kernel") {
		t.Fatalf("HDF5 tree lacks model_weights and kernels:\n%s", out)
	}
	out, err = runCLI(t, "inspect", "--model", filepath.Join(dir, "model_k3.keras"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "conv2d") {
		t.Fatalf("model description lacks the layers:\n%s", out)
	}
	conv := filepath.Join(t.TempDir(), "cnn.keras")
	if _, err := runCLI(t, "convert", filepath.Join(dir, "model_k2.h5"), conv); err != nil {
		t.Fatal(err)
	}
	got, err := runCLI(t, "predict", conv, filepath.Join(dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := runCLI(t, "predict", filepath.Join(dir, "model_k2.h5"), filepath.Join(dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("the converted model predicts differently:\n%s\nvs\n%s", got, want)
	}
}

// TestErrorLineSaysKerasrunOnce: the CLI's error line does not repeat the
// prefix the library's errors already carry.
func TestErrorLineSaysKerasrunOnce(t *testing.T) {
	err := run([]string{"summary", "testdata-that-does-not-exist.keras"}, io.Discard)
	if err == nil {
		t.Fatal("summary of a missing file succeeded")
	}
	_, lerr := kerasrun.Load("../../testdata/mlp_relu/model_k3.weights.h5")
	for _, e := range []error{err, lerr} {
		if line := errorLine(e); !strings.HasPrefix(line, "kerasrun: ") || strings.Count(line, "kerasrun: ") != 1 {
			t.Errorf("errorLine(%v) = %q, want one kerasrun: prefix", e, line)
		}
	}
}

// TestPlotCommand: plot draws a model (PNG and SVG) and a CSVLogger
// history, refuses an unknown picture format before loading anything, and
// fit --plot draws the history of the epochs it ran.
func TestPlotCommand(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(testdata, "func_residual", "model_k3.keras")
	for _, args := range [][]string{
		{"plot", model, "--show-shapes", "--show-dtype", "-o", filepath.Join(dir, "m.png")},
		{"plot", filepath.Join(testdata, "summary", "models", "shared_nested_mixed.keras"), "--expand-nested", "--show-trainable", "-o", filepath.Join(dir, "n.svg")},
		{"plot", filepath.Join(testdata, "func_two_io", "model_k3.json"), "-o", filepath.Join(dir, "j.svg")},
		{"plot", filepath.Join(testdata, "plot", "history.csv"), "-o", filepath.Join(dir, "h.png")},
	} {
		if _, err := runCLI(t, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		out := args[len(args)-1]
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(out, ".png") && !bytes.HasPrefix(data, []byte("\x89PNG")) || strings.HasSuffix(out, ".svg") && !bytes.Contains(data, []byte("<svg")) {
			t.Errorf("%v: %s is not the picture asked for", args, out)
		}
	}
	if _, err := runCLI(t, "plot", model, "-o", filepath.Join(dir, "m.jpg")); err == nil || !strings.Contains(err.Error(), ".svg") {
		t.Errorf("plot -o m.jpg: %v", err)
	}
	mlp := filepath.Join(testdata, "mlp_relu")
	pic := filepath.Join(dir, "fit.svg")
	if _, err := runCLI(t, "fit", filepath.Join(mlp, "model_k3.keras"), "--x", filepath.Join(mlp, "x.npy"), "--y", filepath.Join(mlp, "y.npy"),
		"--epochs", "3", "--verbose", "0", "--validation-split", "0.25", "-o", filepath.Join(dir, "t.keras"), "--plot", pic); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(pic)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">loss<", ">val_loss<", ">accuracy<"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("fit --plot: the picture lacks %s", want)
		}
	}
	if _, err := runCLI(t, "fit", filepath.Join(mlp, "model_k3.keras"), "--x", filepath.Join(mlp, "x.npy"), "--y", filepath.Join(mlp, "y.npy"),
		"-o", filepath.Join(dir, "u.keras"), "--plot", filepath.Join(dir, "fit.gif")); err == nil {
		t.Error("fit --plot fit.gif was accepted")
	} else if _, statErr := os.Stat(filepath.Join(dir, "u.keras")); statErr == nil {
		t.Error("fit trained and saved before refusing --plot fit.gif")
	}
}
