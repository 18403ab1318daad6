package kerasrun

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kerasrun/kerasrun/h5"
	krt "github.com/kerasrun/kerasrun/runtime"
)

// The fault tests interrupt saves the hard way: a child process (this
// test binary again, TestFaultChild) saves a model or trains with
// ModelCheckpoint onto an existing file and is killed with SIGKILL at a
// random moment, or saves onto a full disk (a small tmpfs) or past its
// file-size limit (RLIMIT_FSIZE). Each time the file must still load and
// predict as one complete model, and the directory must hold nothing but
// that file: no temporary file left behind.

// faultModels are two models with the same input shape and different
// weights: the old file holds the first, the interrupted save writes the
// second.
var faultModels = [2]string{"testdata/mlp_relu/model_k3.keras", "testdata/mlp_sigmoid/model_k3.keras"}

// faultInput is the input the fault tests predict: mlp_relu's x, or for
// the 100 MB model (bigFaultInputs wide) two rows of a fixed pattern.
func faultInput(t *testing.T, m *Model) *Tensor {
	t.Helper()
	if w := m.Inputs()[0].Shape[1]; w == bigFaultInputs {
		x := krt.NewTensor(2, w)
		for i := range x.Data {
			x.Data[i] = float32(i%13)/13 - 0.5
		}
		return x
	}
	x, err := ReadNPY("testdata/mlp_relu/x.npy")
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// predictFile loads path and predicts faultInput.
func predictFile(t *testing.T, path string) []float32 {
	t.Helper()
	m, err := Load(path)
	if err != nil {
		t.Fatalf("after the fault: %v", err)
	}
	out, err := m.Predict(faultInput(t, m))
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Data
}

// onlyFile fails unless dir holds exactly the file name: in particular no
// temporary file (".NAME.tmp-*") is left.
func onlyFile(t *testing.T, dir, name, when string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != name {
		t.Fatalf("%s: the directory holds %q, want only %s", when, names, name)
	}
}

// leftAfterKill checks what a killed save left in dir beside name: only
// temporary files of name (".NAME.tmp-*"), which a save killed between
// naming its finished temporary file and renaming it over name leaves (a
// window of two system calls; while writing, the file has no name), and
// which the next save of name, by reset, removes. It returns how many.
func leftAfterKill(t *testing.T, dir, name, when string, reset func() error) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for _, e := range entries {
		switch n := e.Name(); {
		case n == name:
		case strings.HasPrefix(n, "."+name+".tmp-"):
			left++
		default:
			t.Fatalf("%s: unexpected file %s left behind", when, n)
		}
	}
	if err := reset(); err != nil {
		t.Fatal(err)
	}
	onlyFile(t, dir, name, when+", after the next save")
	return left
}

// bigFaultInputs is the input width of the ~100 MB model: mlp_relu with
// 196000 inputs instead of 784 (a 196000x128 kernel, 100 MB of float32).
const bigFaultInputs = 196000

// writeBigModel writes a ~100 MB .keras: mlp_relu's architecture with
// bigFaultInputs inputs and no compile config, weights drawn from seed.
func writeBigModel(t *testing.T, path string, seed uint64) {
	t.Helper()
	zr, err := zip.OpenReader(faultModels[0])
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	member := func(name string) []byte {
		rc, err := zr.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cfgText := strings.ReplaceAll(string(member("config.json")), "[null, 784]", "[null, "+strconv.Itoa(bigFaultInputs)+"]")
	var cfg map[string]any
	if err := json.Unmarshal([]byte(cfgText), &cfg); err != nil {
		t.Fatal(err)
	}
	delete(cfg, "compile_config")
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, seed))
	values := func(scale float32, shape ...int) *h5.Array {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = (r.Float32()*2 - 1) * scale
		}
		return h5.Float32Array(shape, data)
	}
	w := h5.NewWriter()
	layers, _ := w.Root().CreateGroup("layers")
	vars := func(g *h5.GroupWriter, name string, arrays ...*h5.Array) {
		l, err := g.CreateGroup(name)
		if err != nil {
			t.Fatal(err)
		}
		v, err := l.CreateGroup("vars")
		if err != nil {
			t.Fatal(err)
		}
		if err := v.SetAttr("name", h5.StringAttr(name)); err != nil {
			t.Fatal(err)
		}
		for i, a := range arrays {
			if _, err := v.CreateDataset(strconv.Itoa(i), a); err != nil {
				t.Fatal(err)
			}
		}
	}
	vars(layers, "dense", values(0.005, bigFaultInputs, 128), values(0.1, 128))
	vars(layers, "activation")
	vars(layers, "dense_1", values(0.1, 128, 10), values(0.1, 10))
	vars(layers, "activation_1")
	top, _ := w.Root().CreateGroup("vars")
	top.SetAttr("name", h5.StringAttr("sequential"))

	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, m := range []struct {
		name string
		data []byte
	}{{"metadata.json", member("metadata.json")}, {"config.json", cfgJSON}} {
		mw, err := zw.Create(m.name)
		if err == nil {
			_, err = mw.Write(m.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	mw, err := zw.CreateHeader(&zip.FileHeader{Name: "model.weights.h5", Method: zip.Store})
	if err == nil {
		_, err = w.WriteTo(mw)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// faultPair returns the model files of an interrupted save: the old one
// and the new one. With KERASRUN_FAULT_BIG set they are the ~100 MB models
// of writeBigModel, else faultModels.
func faultPair(t *testing.T) [2]string {
	if os.Getenv("KERASRUN_FAULT_BIG") == "" {
		return faultModels
	}
	dir := t.TempDir()
	var pair [2]string
	for i := range pair {
		pair[i] = filepath.Join(dir, fmt.Sprintf("big%d.keras", i))
		writeBigModel(t, pair[i], uint64(i+1))
	}
	st, _ := os.Stat(pair[0])
	t.Logf("models of %d MB", st.Size()>>20)
	return pair
}

// markCallback prints a line at every epoch's end, so that the parent
// knows whether ModelCheckpoint was saving when it was killed.
type markCallback struct {
	NopCallback
	line string
}

func (c markCallback) OnEpochEnd(int, map[string]float64) error {
	fmt.Println(c.line)
	return nil
}

// TestFaultChild is the child process of the fault tests, run only with
// KERASRUN_FAULT_CHILD set to its job:
//
//	save        load KERASRUN_FAULT_MODEL and save it onto KERASRUN_FAULT_PATH forever
//	checkpoint  train it with a ModelCheckpoint onto KERASRUN_FAULT_PATH forever
//	save-once, checkpoint-once  the same, once, under RLIMIT_FSIZE of
//	            KERASRUN_FAULT_FSIZE bytes when set, printing the error
//
// It prints "ready" once loaded, "saving" before and "saved" after each save.
func TestFaultChild(t *testing.T) {
	job := os.Getenv("KERASRUN_FAULT_CHILD")
	if job == "" {
		t.Skip("the child process of the fault tests")
	}
	path := os.Getenv("KERASRUN_FAULT_PATH")
	if s := os.Getenv("KERASRUN_FAULT_FSIZE"); s != "" {
		n, _ := strconv.ParseUint(s, 10, 64)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
			fmt.Println("setrlimit:", err)
			os.Exit(3)
		}
	}
	m, err := Load(os.Getenv("KERASRUN_FAULT_MODEL"))
	if err != nil {
		fmt.Println("load:", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	switch job {
	case "save", "save-once":
		for {
			fmt.Println("saving")
			err := m.Save(path)
			if job == "save-once" {
				fmt.Printf("error: %v\n", err)
				fmt.Printf("enospc: %v efbig: %v\n", errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EFBIG))
				os.Exit(0)
			}
			if err != nil {
				fmt.Println("save:", err)
				os.Exit(4)
			}
			fmt.Println("saved")
		}
	case "checkpoint", "checkpoint-once":
		x, y := faultInput(t, m), mustNPY(t, "testdata/mlp_relu/y.npy")
		epochs := 1 << 30
		if job == "checkpoint-once" {
			epochs = 1
		}
		cb := []Callback{markCallback{line: "saving"}, &ModelCheckpoint{Path: path}, markCallback{line: "saved"}}
		_, err := m.Fit([]*Tensor{x}, []*Tensor{y}, FitOptions{Epochs: epochs, BatchSize: 16, Callbacks: cb})
		fmt.Printf("error: %v\n", err)
		fmt.Printf("enospc: %v efbig: %v\n", errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EFBIG))
		os.Exit(0)
	}
	fmt.Println("unknown job", job)
	os.Exit(5)
}

func mustNPY(t *testing.T, path string) *Tensor {
	x, err := ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// faultChild starts TestFaultChild on job and returns it with the lines
// of its standard output as they come.
func faultChild(t *testing.T, job, model, path string, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{"KERASRUN_FAULT_CHILD=" + job, "KERASRUN_FAULT_MODEL=" + model, "KERASRUN_FAULT_PATH=" + path}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1<<16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines
}

// waitReady reads the child's lines up to "ready".
func waitReady(t *testing.T, cmd *exec.Cmd, lines <-chan string) {
	t.Helper()
	for l := range lines {
		if l == "ready" {
			return
		}
		t.Logf("child: %s", l)
	}
	cmd.Wait()
	t.Fatal("the child ended before it was ready")
}

// killAfter SIGKILLs the child after delay and reports whether it was
// inside a save then (its last line "saving") and how many saves it had
// completed.
func killAfter(t *testing.T, cmd *exec.Cmd, lines <-chan string, delay time.Duration) (midSave bool, saves int) {
	t.Helper()
	time.Sleep(delay)
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not by SIGKILL", err)
	}
	last := ""
	for l := range lines {
		if l == "saved" {
			saves++
		}
		last = l
	}
	return last == "saving", saves
}

// saveDuration is how long one Save of model takes here, to spread the kills
// over a few saves.
func saveDuration(t *testing.T, model string) time.Duration {
	m, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.keras")
	start := time.Now()
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// TestSaveKilled kills a child saving a model over an existing file again
// and again at random moments: each time the file loads and predicts as
// either the old model or the new one, and nothing else is in the
// directory. With KERASRUN_FAULT_BIG set the models are ~100 MB.
func TestSaveKilled(t *testing.T) {
	pair := faultPair(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.keras")
	old, err := Load(pair[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	want := [2][]float32{predictFile(t, path), predictFile(t, pair[1])}
	span := 2 * saveDuration(t, pair[1])
	rounds, mid := 10, 0
	if os.Getenv("KERASRUN_FAULT_BIG") != "" {
		rounds = 5
	}
	left := 0
	// Kill rounds times, and on (up to 4*rounds) until a kill came during
	// a save.
	round := 0
	for ; round < rounds || mid == 0 && round < 4*rounds; round++ {
		cmd, lines := faultChild(t, "save", pair[1], path)
		waitReady(t, cmd, lines)
		delay := time.Duration(rand.Int64N(int64(span)))
		midSave, saves := killAfter(t, cmd, lines, delay)
		if midSave {
			mid++
		}
		got := predictFile(t, path)
		if !slices.Equal(got, want[0]) && !slices.Equal(got, want[1]) {
			t.Fatalf("round %d: the file predicts neither the old nor the new model", round)
		}
		n := leftAfterKill(t, dir, "model.keras", fmt.Sprintf("round %d", round), func() error { return old.Save(path) })
		left += n
		t.Logf("round %d: killed after %v, %d saves done, during a save: %v; the file holds the %s model; %d temporary file(s) left", round, delay, saves, midSave, map[bool]string{true: "old", false: "new"}[slices.Equal(got, want[0])], n)
	}
	t.Logf("%d of %d kills came during a save; %d left a temporary file (removed by the next save)", mid, round, left)
	if mid == 0 {
		t.Fatalf("none of %d kills came during a save: the test checked nothing", round)
	}
}

// TestCheckpointKilled: the same with ModelCheckpoint saving onto an
// existing file at every epoch of a long Fit. Each time the file loads
// and predicts finite values of the output's shape (the old model or one
// of the checkpoints).
func TestCheckpointKilled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.keras")
	old, err := Load(faultModels[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	span := 4 * saveDuration(t, faultModels[0])
	mid, left := 0, 0
	const rounds = 10
	round := 0
	for ; round < rounds || mid == 0 && round < 4*rounds; round++ {
		cmd, lines := faultChild(t, "checkpoint", faultModels[0], path)
		waitReady(t, cmd, lines)
		delay := time.Duration(rand.Int64N(int64(span)))
		midSave, saves := killAfter(t, cmd, lines, delay)
		if midSave {
			mid++
		}
		m, err := Load(path)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		out, err := m.Predict(faultInput(t, m))
		if err != nil || checkFinite(out[0]) != nil || out[0].Shape[1] != 10 {
			t.Fatalf("round %d: Predict = %v, %v", round, out, err)
		}
		n := leftAfterKill(t, dir, "model.keras", fmt.Sprintf("round %d", round), func() error { return old.Save(path) })
		left += n
		t.Logf("round %d: killed after %v, %d checkpoints done, during one: %v; %d temporary file(s) left", round, delay, saves, midSave, n)
	}
	t.Logf("%d of %d kills came during a checkpoint; %d left a temporary file (removed by the next save)", mid, round, left)
	if mid == 0 {
		t.Fatalf("none of %d kills came during a checkpoint: the test checked nothing", round)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, or skips.
func mountTmpfs(t *testing.T, size int64) string {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.FormatInt(size, 10)); err != nil {
		t.Skipf("cannot mount a tmpfs (TestSaveFileTooLarge covers a size limit without one): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

// TestSaveFullDisk saves onto a tmpfs too small for a second copy of the
// model, by Save and by ModelCheckpoint: the error names the file and says
// the disk is full, the old file still loads and predicts as before, and
// no temporary file is left. It needs to mount a tmpfs (root on Linux) and
// skips otherwise.
func TestSaveFullDisk(t *testing.T) {
	st, err := os.Stat(faultModels[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"Save", "ModelCheckpoint"} {
		t.Run(how, func(t *testing.T) {
			dir := mountTmpfs(t, st.Size()+st.Size()/2)
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
			if how == "Save" {
				err = m.Save(path)
			} else {
				x := faultInput(t, m)
				_, err = m.Fit([]*Tensor{x}, []*Tensor{mustNPY(t, "testdata/mlp_relu/y.npy")}, FitOptions{Epochs: 1, BatchSize: 32, Callbacks: []Callback{&ModelCheckpoint{Path: path}}})
			}
			if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and saying no space is left", err, path)
			}
			t.Logf("%s: %v", how, err)
			if got := predictFile(t, path); !slices.Equal(got, want) {
				t.Fatal("the old file changed")
			}
			onlyFile(t, dir, "model.keras", "after the failed save")
		})
	}
}

// TestSaveFileTooLarge: a child whose file-size limit (RLIMIT_FSIZE, as
// `ulimit -f` sets) is below the model's size saves over an existing file,
// by Save and by ModelCheckpoint: the error names the file and says it is
// too large, the old file is untouched and nothing else is left. Unlike
// TestSaveFullDisk this needs no privilege.
func TestSaveFileTooLarge(t *testing.T) {
	for _, job := range []string{"save-once", "checkpoint-once"} {
		t.Run(job, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "model.keras")
			old, err := Load(faultModels[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := old.Save(path); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cmd, lines := faultChild(t, job, faultModels[1], path, "KERASRUN_FAULT_FSIZE=65536")
			var msg, kind string
			for l := range lines {
				if s, ok := strings.CutPrefix(l, "error: "); ok {
					msg = s
				}
				if strings.HasPrefix(l, "enospc: ") {
					kind = l
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
			if !strings.Contains(msg, path) || !strings.Contains(msg, "file too large") || kind != "enospc: false efbig: true" {
				t.Fatalf("got %q (%s), want an error naming %s, wrapping EFBIG", msg, kind, path)
			}
			t.Logf("%s: %s", job, msg)
			after, err := os.ReadFile(path)
			if err != nil || string(after) != string(before) {
				t.Fatalf("the old file changed (%v)", err)
			}
			onlyFile(t, dir, "model.keras", "after the failed save")
		})
	}
}
