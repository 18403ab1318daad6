package kerasrun

import (
	"os"
	"strings"
	"testing"
)

// TestIsUnsupported separates files kerasrun cannot run (a Lambda layer,
// an unknown class, npz weights) from malformed ones.
func TestIsUnsupported(t *testing.T) {
	dir := t.TempDir()
	modelJSON := readFile(t, "testdata/mlp_relu/model_k3.json")
	weights := WithWeights("testdata/mlp_relu/model_k3.weights.h5")
	unknown := writeFile(t, dir, "unknown.json", []byte(strings.Replace(string(modelJSON), `"class_name": "Dense"`, `"class_name": "FancyDense"`, 1)))
	broken := writeFile(t, dir, "broken.json", modelJSON[:len(modelJSON)/2])
	wide := writeFile(t, dir, "wide.json", []byte(strings.Replace(string(modelJSON), `"units": 128`, `"units": 129`, 1)))
	for _, c := range []struct {
		path string
		want bool
	}{{unknown, true}, {broken, false}, {wide, false}} {
		_, err := Load(c.path, weights)
		if err == nil || IsUnsupported(err) != c.want {
			t.Errorf("%s: IsUnsupported(%v) = %v, want %v", c.path, err, !c.want, c.want)
		}
	}
	const lambda = "../shared/realworld/keras2circom-best_practice-lambda/best_practice.h5"
	if _, err := os.Stat(lambda); err == nil {
		if _, err := Load(lambda); !IsUnsupported(err) {
			t.Errorf("a Lambda model: IsUnsupported(%v) = false", err)
		}
	}
	if IsUnsupported(nil) {
		t.Error("IsUnsupported(nil)")
	}
}

// TestErrorsSayLayerOnce: a layer whose config kerasrun cannot run is named
// once in Load's error, not once by UnsupportedError and again by the
// layer's own factory.
func TestErrorsSayLayerOnce(t *testing.T) {
	modelJSON := string(readFile(t, "testdata/mlp_relu/model_k3.json"))
	bad := strings.Replace(modelJSON, `"units": 128`, `"units": -128`, 1)
	if bad == modelJSON {
		t.Fatal("the fixture has no 128-unit Dense to break")
	}
	p := writeFile(t, t.TempDir(), "bad.json", []byte(bad))
	_, err := Load(p, WithWeights("testdata/mlp_relu/model_k3.weights.h5"))
	if err == nil || !strings.Contains(err.Error(), "-128") {
		t.Fatalf("Load: %v, want the negative units named", err)
	}
	msg := err.Error()
	if strings.Count(msg, "kerasrun: ") != 1 || strings.Count(msg, "(Dense)") > 0 || strings.Count(msg, "(class Dense)") != 1 {
		t.Errorf("Load's error names a thing twice: %s", msg)
	}
}
