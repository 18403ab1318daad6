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
