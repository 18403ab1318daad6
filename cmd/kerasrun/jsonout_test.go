package main

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun"
)

// TestPredictJSONNonFinite checks that predict without -o prints NaN and
// ±Inf outputs as TF Serving's JSON does and names the output on stderr,
// while finite rows still print Keras's numbers.
func TestPredictJSONNonFinite(t *testing.T) {
	dir := filepath.Join(testdata, "mlp_relu")
	x, err := kerasrun.ReadNPY(filepath.Join(dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := kerasrun.ReadNPY(filepath.Join(dir, "k3_keras_pred0.npy"))
	if err != nil {
		t.Fatal(err)
	}
	// Predict refuses NaN inputs; finite ±3e38 overflow inside the model
	// (issue 13), making row 0 non-finite.
	for j := 0; j < x.Shape[1]; j++ {
		x.Data[j] = float32(3e38 * float64(1-2*(j%2)))
	}
	xPath := filepath.Join(t.TempDir(), "x_nan.npy")
	if err := kerasrun.WriteNPY(xPath, x); err != nil {
		t.Fatal(err)
	}
	var errBuf bytes.Buffer
	stderr = &errBuf
	prev := stderr
	defer func() { stderr = prev }()
	out, err := runCLI(t, "predict", filepath.Join(dir, "model_k3.keras"), xPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "NaN") {
		t.Fatalf("stdout holds no NaN literal:\n%s", out)
	}
	if msg := errBuf.String(); !strings.Contains(msg, "non-finite") || !strings.Contains(msg, "activation_1") {
		t.Fatalf("stderr does not name the output with non-finite values: %q", msg)
	}
	// Strict JSON after quoting the literals the way a lenient reader would.
	quoted := strings.NewReplacer("-Infinity", `"-Infinity"`, "Infinity", `"Infinity"`, "NaN", `"NaN"`).Replace(out)
	var got map[string][][]any
	if err := json.Unmarshal([]byte(quoted), &got); err != nil {
		t.Fatalf("stdout is not JSON with NaN literals: %v\n%s", err, out)
	}
	rows := got["activation_1"]
	if len(rows) != want.Shape[0] {
		t.Fatalf("%d rows, want %d", len(rows), want.Shape[0])
	}
	for j, v := range rows[0] {
		if _, ok := v.(string); !ok {
			t.Fatalf("row 0 [%d] = %v, want a non-finite literal (input row 0 holds ±3e38)", j, v)
		}
	}
	for i := 1; i < len(rows); i++ {
		for j, v := range rows[i] {
			f, ok := v.(float64)
			w := want.Data[i*want.Shape[1]+j]
			if !ok || math.Abs(f-float64(w)) > 1e-5+1e-4*math.Abs(float64(w)) {
				t.Fatalf("[%d][%d] = %v, Keras %v", i, j, v, w)
			}
		}
	}
}

func TestWriteJSONInfinity(t *testing.T) {
	y, err := kerasrun.NewTensor([]int{3}, []float32{float32(math.Inf(1)), float32(math.Inf(-1)), 1.5})
	if err != nil {
		t.Fatal(err)
	}
	var out, errBuf bytes.Buffer
	stderr = &errBuf
	prev := stderr
	defer func() { stderr = prev }()
	if err := writeJSON(&out, []string{"out"}, []*kerasrun.Tensor{y}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "{\"out\":[Infinity,-Infinity,1.5]}\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !strings.Contains(errBuf.String(), "out (2 of 3 values)") {
		t.Fatalf("stderr %q does not count the non-finite values of out", errBuf.String())
	}
}
