package kerasrun

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/kerasrun/kerasrun"

// allowedImports says which of the module's packages each package may
// import: imports flow one way, downward (cmd -> serve -> root -> saving ->
// {h5, kerasjson, layers, train, runtime}; train -> layers -> runtime,
// kerasjson; never train -> saving, layers -> train or saving; h5 and
// kerasjson use only the standard library). See ARCHITECTURE.md.
var allowedImports = map[string][]string{
	"cmd/kerasrun":        {"", "serve"},
	"serve":               {"", "serve/inferencepb"},
	"serve/inferencepb":   {},
	"":                    {"saving", "saving/legacyh5", "train", "layers", "runtime", "runtime/kernels", "kerasjson", "h5", "internal/npy", "internal/atomicfile"},
	"saving":              {"saving/legacyh5", "h5", "kerasjson", "layers", "train", "runtime", "internal/atomicfile"},
	"saving/legacyh5":     {"h5", "kerasjson", "layers", "train", "runtime"},
	"train":               {"layers", "runtime", "kerasjson"},
	"layers":              {"runtime", "runtime/kernels", "kerasjson"},
	"runtime":             {},
	"runtime/kernels":     {},
	"kerasjson":           {},
	"h5":                  {},
	"internal/npy":        {"internal/atomicfile"},
	"internal/atomicfile": {},
}

// stdlibOnly lists the packages that may import nothing outside the
// standard library.
var stdlibOnly = map[string]bool{"h5": true, "kerasjson": true, "internal/npy": true, "internal/atomicfile": true, "runtime": true}

// TestImportGraph checks every non-test Go file of the packages above.
func TestImportGraph(t *testing.T) {
	for pkg, allowed := range allowedImports {
		dir := pkg
		if dir == "" {
			dir = "."
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Errorf("package %q: no Go files in %s", pkg, dir)
			continue
		}
		ok := map[string]bool{}
		for _, a := range allowed {
			ok[a] = true
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				switch {
				case path == modulePath || strings.HasPrefix(path, modulePath+"/"):
					target := strings.TrimPrefix(strings.TrimPrefix(path, modulePath), "/")
					if !ok[target] {
						t.Errorf("%s imports %s: package %q may import only %v", f, path, pkg, allowed)
					}
				case strings.Contains(strings.Split(path, "/")[0], "."):
					if stdlibOnly[pkg] {
						t.Errorf("%s imports %s: package %q uses only the standard library", f, path, pkg)
					}
				}
			}
		}
	}
}
