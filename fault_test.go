package kerasrun

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// faultModels are two models with the same input shape and different
// weights: the old file holds the first, the interrupted save writes the
// second.
var faultModels = [2]string{"testdata/mlp_relu/model_k3.keras", "testdata/mlp_sigmoid/model_k3.keras"}

// predictFile loads path and predicts the mlp_relu input.
func predictFile(t *testing.T, path string) []float32 {
	t.Helper()
	m, err := Load(path)
	if err != nil {
		t.Fatalf("after the fault: %v", err)
	}
	x, err := ReadNPY("testdata/mlp_relu/x.npy")
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Data
}

// TestSaveKilledMidWrite re-runs the test binary as a child that saves a
// model over an existing file again and again, kills it with SIGKILL
// while a temporary file is being written, and checks that the file is
// whole: it loads and predicts as either the old model or the new one.
// Only the child's temporary file (".NAME.tmp-*", which a SIGKILL cannot
// remove) may be left beside it.
func TestSaveKilledMidWrite(t *testing.T) {
	if p := os.Getenv("KERASRUN_FAULT_SAVE_TO"); p != "" {
		m, err := Load(faultModels[1])
		if err != nil {
			os.Exit(3)
		}
		for {
			if err := m.Save(p); err != nil {
				os.Exit(4)
			}
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.keras")
	old, err := Load(faultModels[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	want := [2][]float32{predictFile(t, path), predictFile(t, faultModels[1])}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSaveKilledMidWrite$")
		cmd.Env = append(os.Environ(), "KERASRUN_FAULT_SAVE_TO="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for a temporary file, then a little longer the later the round.
		deadline := time.Now().Add(time.Minute)
		for {
			tmps, _ := filepath.Glob(filepath.Join(dir, ".model.keras.tmp-*"))
			if len(tmps) > 0 {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("the child never started writing")
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(round) * 3 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, not by SIGKILL", round, err)
		}
		got := predictFile(t, path)
		if !slices.Equal(got, want[0]) && !slices.Equal(got, want[1]) {
			t.Fatalf("round %d: the file predicts neither the old nor the new model", round)
		}
		tmps, _ := filepath.Glob(filepath.Join(dir, ".model.keras.tmp-*"))
		t.Logf("round %d: killed with %d temporary file(s) present; the file holds the %s model", round, len(tmps), map[bool]string{true: "old", false: "new"}[slices.Equal(got, want[0])])
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if n := e.Name(); n != "model.keras" && !strings.HasPrefix(n, ".model.keras.tmp-") {
				t.Fatalf("round %d: unexpected file %s left behind", round, n)
			}
		}
	}
}

// TestSaveFullDisk saves onto a tmpfs too small for a second copy of the
// model: the error names the file and says the disk is full, the old file
// still loads and predicts as before, and no temporary file is left. It
// needs to mount a tmpfs (root on Linux) and skips otherwise.
func TestSaveFullDisk(t *testing.T) {
	dir := t.TempDir()
	st, err := os.Stat(faultModels[0])
	if err != nil {
		t.Fatal(err)
	}
	size := st.Size() + st.Size()/2
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.FormatInt(size, 10)); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	path := filepath.Join(dir, "model.keras")
	old, err := Load(faultModels[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Save(path); err != nil {
		t.Fatalf("the first copy should fit: %v", err)
	}
	want := predictFile(t, path)
	m, err := Load(faultModels[1])
	if err != nil {
		t.Fatal(err)
	}
	err = m.Save(path)
	if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want an error naming %s and saying no space is left", err, path)
	}
	if got := predictFile(t, path); !slices.Equal(got, want) {
		t.Fatal("the old file changed")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files left on the full disk: %v", entries)
	}
}
