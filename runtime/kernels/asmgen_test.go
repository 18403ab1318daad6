package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestGeneratedAssemblyUpToDate regenerates the assembly with ./asmgen and
// diffs it against the committed files.
func TestGeneratedAssemblyUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		t.Skip("go tool not found")
	}
	dir := t.TempDir()
	cmd := exec.Command(goBin, "run", "./asmgen", "-out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("generator does not build here: %v\n%s", err, out)
	}
	for _, name := range []string{"gemm_amd64.s", "gemm_decl_amd64.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output; run: go run ./asmgen", name)
		}
	}
}
