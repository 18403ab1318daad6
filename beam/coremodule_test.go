package kerasbeam

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCoreModuleHasNoBeam checks that the kerasrun core module (../go.mod,
// ../go.sum) does not depend on the Beam SDK: only this module does.
func TestCoreModuleHasNoBeam(t *testing.T) {
	for _, f := range []string{"go.mod", "go.sum"} {
		raw, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, "github.com/apache/beam") {
				t.Errorf("../%s:%d: the core module mentions the Beam SDK: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
