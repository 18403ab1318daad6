package layers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
)

// TestKeras2LayerFixtures replays the cases recorded from tf_keras (Keras
// 2) in testdata/keras2/, after renaming activations as a loader does for
// files written by Keras < 3 (RenameKeras2Activations).
func TestKeras2LayerFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/keras2/*.json")
	if len(files) == 0 {
		t.Skip("no Keras 2 layer fixtures in testdata/keras2/")
	}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var ff fixtureFile
		if err := json.Unmarshal(raw, &ff); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, c := range ff.Cases {
			t.Run(ff.Family+"/"+c.Name, func(t *testing.T) {
				var cfg map[string]any
				if err := json.Unmarshal(c.Config, &cfg); err != nil {
					t.Fatal(err)
				}
				RenameKeras2Activations(kerasjson.Config(cfg))
				renamed, err := json.Marshal(cfg)
				if err != nil {
					t.Fatal(err)
				}
				c.Config = renamed
				tol := ff.Tolerance
				if c.Tolerance != nil {
					tol = *c.Tolerance
				}
				runFixtureCase(t, c, tol)
			})
		}
	}
}
