package kerasrun

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/kerasrun/kerasrun"

// allowedImports says which of the module's packages each package may
// import: imports flow one way, downward (cmd -> serve -> kerasrun ->
// saving -> saving/legacyh5 -> {h5, kerasjson, layers, train, runtime};
// train -> layers -> runtime, kerasjson; never train -> saving, layers ->
// train or saving; h5, kerasjson and runtime use only the standard
// library). See ARCHITECTURE.md.
var allowedImports = map[string][]string{
	"cmd/kerasrun":        {"", "serve"},
	"serve":               {"", "serve/inferencepb"},
	"serve/inferencepb":   {},
	"":                    {"saving", "train", "layers", "runtime", "runtime/kernels", "kerasjson", "h5", "internal/npy", "internal/atomicfile", "internal/summary", "internal/plot"},
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
	"internal/summary":    {},
	"internal/plot":       {},
}

// stdlibOnly lists the packages that may import nothing outside the
// standard library.
var stdlibOnly = map[string]bool{"h5": true, "kerasjson": true, "internal/npy": true, "internal/atomicfile": true, "internal/summary": true, "runtime": true}

// TestImportGraph checks every non-test Go file of the packages above.
func TestImportGraph(t *testing.T) {
	for pkg := range allowedImports {
		dir := pkg
		if dir == "" {
			dir = "."
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Errorf("package %q: no Go files in %s", pkg, dir)
			continue
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			bad, err := importViolations(pkg, f, src)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bad {
				t.Error(b)
			}
		}
	}
}

// importViolations lists the imports of file f of package pkg that
// allowedImports and stdlibOnly forbid.
func importViolations(pkg, f string, src []byte) ([]string, error) {
	af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	allowed := allowedImports[pkg]
	var bad []string
	for _, imp := range af.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		switch {
		case path == modulePath || strings.HasPrefix(path, modulePath+"/"):
			target := strings.TrimPrefix(strings.TrimPrefix(path, modulePath), "/")
			if !slices.Contains(allowed, target) {
				bad = append(bad, f+" imports "+path+": package "+strconv.Quote(pkg)+" may import only "+strings.Join(allowed, ", "))
			}
		case strings.Contains(strings.Split(path, "/")[0], "."):
			if stdlibOnly[pkg] {
				bad = append(bad, f+" imports "+path+": package "+strconv.Quote(pkg)+" uses only the standard library")
			}
		}
	}
	return bad, nil
}

// TestImportViolations checks that the check fails for each arrow the
// architecture forbids, and passes the allowed ones.
func TestImportViolations(t *testing.T) {
	for _, c := range []struct {
		pkg, imports string
		ok           bool
	}{
		{"train", "saving", false},
		{"train", "saving/legacyh5", false},
		{"layers", "train", false},
		{"layers", "saving", false},
		{"saving/legacyh5", "saving", false},
		{"saving", "", false},
		{"", "saving/legacyh5", false},
		{"runtime", "layers", false},
		{"kerasjson", "gonum.org/v1/gonum/blas", false},
		{"", "saving", true},
		{"saving", "saving/legacyh5", true},
		{"saving/legacyh5", "layers", true},
		{"train", "layers", true},
		{"layers", "runtime", true},
	} {
		path := c.imports
		if !strings.Contains(path, ".") {
			path = strings.TrimSuffix(modulePath+"/"+path, "/")
		}
		src := []byte("package p\n\nimport _ " + strconv.Quote(path) + "\n")
		bad, err := importViolations(c.pkg, "x.go", src)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(bad) == 0; got != c.ok {
			t.Errorf("package %q importing %s: allowed %v, want %v (%v)", c.pkg, path, got, c.ok, bad)
		}
	}
}
