package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kerasrun/kerasrun"
)

// TestFitKilled kills `kerasrun fit ... -o existing.keras` (this test
// binary re-run as the CLI, fitting over and over) with SIGKILL at random
// moments: each time existing.keras loads and predicts finite values, and
// the directory holds nothing else once the next fit has saved (a save
// killed between naming its finished temporary file and renaming it
// leaves that file, which the next save removes; while writing, the file
// has no name).
func TestFitKilled(t *testing.T) {
	dir := filepath.Join(testdata, "mlp_relu")
	model, x, y := filepath.Join(dir, "model_k3.keras"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	if out := os.Getenv("KERASRUN_FIT_KILL_TO"); out != "" {
		for {
			if err := run([]string{"fit", model, "--x", x, "--y", y, "--epochs", "1", "--verbose", "0", "-o", out}, io.Discard); err != nil {
				fmt.Println(err)
				os.Exit(4)
			}
		}
	}
	work := t.TempDir()
	path := filepath.Join(work, "existing.keras")
	fit := func() {
		t.Helper()
		if _, err := runCLI(t, "fit", model, "--x", x, "--y", y, "--epochs", "1", "--verbose", "0", "-o", path); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	fit()
	span := 3 * time.Since(start)
	in, err := kerasrun.ReadNPY(x)
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 10
	left := 0
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFitKilled$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KERASRUN_FIT_KILL_TO="+path)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rand.Int64N(int64(span)))
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, not by SIGKILL", round, err)
		}
		m, err := kerasrun.Load(path)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		out, err := m.Predict(in)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, v := range out[0].Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("round %d: prediction %v", round, v)
			}
		}
		entries, _ := os.ReadDir(work)
		n := 0
		for _, e := range entries {
			switch name := e.Name(); {
			case name == "existing.keras":
			case strings.HasPrefix(name, ".existing.keras.tmp-"):
				n++
			default:
				t.Fatalf("round %d: unexpected file %s left behind", round, name)
			}
		}
		left += n
		fit()
		if entries, _ := os.ReadDir(work); len(entries) != 1 {
			t.Fatalf("round %d: after the next fit the directory holds %v", round, entries)
		}
		t.Logf("round %d: killed after %v; %d temporary file(s) left", round, delay, n)
	}
	t.Logf("%d kills; %d left a temporary file (removed by the next fit)", rounds, left)
}
