package kerasrun

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kerasrun/kerasrun/internal/npy"
	"github.com/kerasrun/kerasrun/train"
)

// fitFixture loads a model and its data from testdata/fit.
func fitFixture(t testing.TB, name string) (*Model, []*Tensor, []*Tensor) {
	t.Helper()
	dir := filepath.Join("testdata", "fit", name)
	m, err := Load(filepath.Join(dir, "start.keras"))
	if err != nil {
		t.Fatal(err)
	}
	arrays, err := npy.ReadNPZ(filepath.Join(dir, "data.npz"))
	if err != nil {
		t.Fatal(err)
	}
	var x, y []*Tensor
	for i := 0; ; i++ {
		a, ok := arrays["x"+string(rune('0'+i))]
		if !ok {
			break
		}
		x = append(x, &Tensor{Shape: a.Shape, Data: a.Data})
	}
	for i := 0; ; i++ {
		a, ok := arrays["y"+string(rune('0'+i))]
		if !ok {
			break
		}
		y = append(y, &Tensor{Shape: a.Shape, Data: a.Data})
	}
	return m, x, y
}

func sameVariables(t *testing.T, a, b *Model) {
	t.Helper()
	va, vb := a.Variables(), b.Variables()
	if len(va) != len(vb) {
		t.Fatalf("%d and %d variables", len(va), len(vb))
	}
	for i := range va {
		for j := range va[i].Value.Data {
			if va[i].Value.Data[j] != vb[i].Value.Data[j] {
				t.Fatalf("variable %s differs at %d: %v and %v", va[i].Path, j, va[i].Value.Data[j], vb[i].Value.Data[j])
			}
		}
	}
}

// TestTrainOnBatchIsOneFitStep: TrainOnBatch on the first batch leaves the
// same weights as a Fit limited to one step, and TestOnBatch equals
// Evaluate of that batch.
func TestTrainOnBatchIsOneFitStep(t *testing.T) {
	a, x, y := fitFixture(t, "opt_adam")
	b, _, _ := fitFixture(t, "opt_adam")
	first := func(ts []*Tensor) []*Tensor { return train.SliceBatch(ts, 0, 4) }
	logs, err := a.TrainOnBatch(first(x), first(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := b.Fit(x, y, FitOptions{BatchSize: 4, StepsPerEpoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	sameVariables(t, a, b)
	if logs["loss"] != h.Logs["loss"][0] || logs["accuracy"] != h.Logs["accuracy"][0] {
		t.Errorf("TrainOnBatch logs %v, Fit history %v", logs, h.Logs)
	}
	tl, err := a.TestOnBatch(first(x), first(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := a.Evaluate(first(x), first(y), EvaluateOptions{BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if tl["loss"] != ev["loss"] {
		t.Errorf("TestOnBatch %v, Evaluate %v", tl, ev)
	}
}

// TestFitCallbacks checks the callbacks Fit drives: EarlyStopping,
// TerminateOnNaN, CSVLogger, ModelCheckpoint, LearningRateScheduler,
// validation data and the verbose 2 lines.
func TestFitCallbacks(t *testing.T) {
	m, x, y := fitFixture(t, "loss_cce")
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "log.csv")
	stop := &EarlyStopping{Monitor: "val_loss", Mode: "max", Patience: 1}
	ckpt := &ModelCheckpoint{Path: filepath.Join(dir, "ckpt-{epoch:02d}-{val_loss:.2f}.keras")}
	var rates []float64
	sched := &LearningRateScheduler{Schedule: func(epoch int, lr float64) float64 {
		rates = append(rates, lr)
		return 0.05 / float64(epoch+1)
	}}
	var out bytes.Buffer
	h, err := m.Fit(x, y, FitOptions{
		Epochs: 10, BatchSize: 4, ValidationSplit: 0.2, Verbose: 2, Progress: &out,
		Callbacks: []Callback{TerminateOnNaN{}, stop, &CSVLogger{Path: csvPath}, ckpt, sched},
	})
	if err != nil {
		t.Fatal(err)
	}
	// val_loss falls while training on a "max" monitor: no improvement
	// after the first epoch, so patience 1 stops after the second.
	if len(h.Epochs) != 2 || stop.StoppedEpoch != 1 {
		t.Fatalf("ran epochs %v, stopped at %d; want 2 epochs, stopped at 1 (val_loss %v)", h.Epochs, stop.StoppedEpoch, h.Logs["val_loss"])
	}
	if math.Abs(rates[1]-0.05) > 1e-7 {
		t.Errorf("learning rate seen at epoch 1: %v, want the 0.05 set at epoch 0", rates)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || lines[0] != "Epoch 1/10" || !strings.HasPrefix(lines[1], "4/4 - ") || !strings.Contains(lines[1], " - val_loss: ") {
		t.Errorf("verbose 2 output:\n%s", out.String())
	}
	csv, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(rows) != 3 || rows[0] != "epoch,accuracy,loss,val_accuracy,val_loss" || !strings.HasPrefix(rows[2], "1,") {
		t.Errorf("CSV log:\n%s", csv)
	}
	if len(ckpt.Saved) != 2 || !strings.Contains(ckpt.Saved[0], "ckpt-01-") {
		t.Fatalf("checkpoints %v", ckpt.Saved)
	}
	re, err := Load(ckpt.Saved[1])
	if err != nil {
		t.Fatal(err)
	}
	sameVariables(t, m, re)

	// TerminateOnNaN: a NaN loss ends Fit after that epoch, without error.
	nan := &Tensor{Shape: y[0].Shape, Data: append([]float32(nil), y[0].Data...)}
	nan.Data[0] = float32(math.Inf(1))
	if _, err := m.Fit(x, []*Tensor{nan}, FitOptions{Epochs: 3, BatchSize: 4, Callbacks: []Callback{TerminateOnNaN{}}}); err == nil {
		t.Errorf("Fit accepted an infinite target")
	}
}

// TestFitStopsOnNaN: TerminateOnNaN ends training after the epoch whose
// batch loss became NaN, without an error.
func TestFitStopsOnNaN(t *testing.T) {
	m, x, y := fitFixture(t, "loss_mse")
	big := &Tensor{Shape: x[0].Shape, Data: make([]float32, len(x[0].Data))}
	for i := range big.Data {
		big.Data[i] = 1e30
	}
	h, err := m.Fit([]*Tensor{big}, y, FitOptions{Epochs: 5, BatchSize: 4, Callbacks: []Callback{TerminateOnNaN{}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 1 {
		t.Errorf("ran %d epochs after the loss overflowed, want 1 (loss %v)", len(h.Epochs), h.Logs["loss"])
	}
}

// TestFitResumeAfterSave: 2 epochs, Save, Load, 1 more epoch equals 3
// epochs in one run: the optimizer state survives the file.
func TestFitResumeAfterSave(t *testing.T) {
	for _, ext := range []string{".keras", ".h5"} {
		t.Run(ext, func(t *testing.T) {
			a, x, y := fitFixture(t, "opt_adam")
			b, _, _ := fitFixture(t, "opt_adam")
			if _, err := a.Fit(x, y, FitOptions{Epochs: 3, BatchSize: 4}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Fit(x, y, FitOptions{Epochs: 2, BatchSize: 4}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m"+ext)
			if err := b.Save(path); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Fit(x, y, FitOptions{Epochs: 3, InitialEpoch: 2, BatchSize: 4}); err != nil {
				t.Fatal(err)
			}
			sameVariables(t, a, c)
		})
	}
}

// TestFitRejectsBadArguments: errors, not panics, for arguments Keras
// rejects.
func TestFitRejectsBadArguments(t *testing.T) {
	m, x, y := fitFixture(t, "loss_mse")
	short := train.SliceBatch(y, 0, 3)
	cases := []struct {
		name string
		x, y []*Tensor
		opts FitOptions
		want string
	}{
		{"samples differ", x, short, FitOptions{}, "different numbers of samples"},
		{"initial epoch", x, y, FitOptions{Epochs: 2, InitialEpoch: 2}, "initial epoch"},
		{"validation split", x, y, FitOptions{ValidationSplit: 1}, "validation_split"},
		{"no targets", x, nil, FitOptions{}, "target array"},
	}
	for _, c := range cases {
		_, err := m.Fit(c.x, c.y, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if err := errors.Unwrap(ErrStopTraining); err != nil {
		t.Errorf("ErrStopTraining wraps %v", err)
	}
}

// BenchmarkFitTutorialCNN measures training throughput on the tutorial
// CNN (Conv2D(32) MaxPooling2D Conv2D(64) MaxPooling2D Flatten Dense(64)
// Dense(10), adam, sparse_categorical_crossentropy) on 32x32x3 inputs in
// batches of 32: samples/s.
// bench/train.sh compares it with TensorFlow's model.fit on the same data.
func BenchmarkFitTutorialCNN(b *testing.B) {
	m, err := Load(filepath.Join("testdata", "cifar_cnn", "model_k3.keras"))
	if err != nil {
		b.Fatal(err)
	}
	const n, batch = 256, 32
	rng := rand.New(rand.NewPCG(1, 2))
	x := &Tensor{Shape: []int{n, 32, 32, 3}, Data: make([]float32, n*32*32*3)}
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	y := &Tensor{Shape: []int{n}, Data: make([]float32, n)} // sparse labels
	for i := range y.Data {
		y.Data[i] = float32(rng.IntN(10))
	}
	opts := FitOptions{BatchSize: batch, Epochs: 1}
	if _, err := m.Fit([]*Tensor{x}, []*Tensor{y}, opts); err != nil { // warm up
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := m.Fit([]*Tensor{x}, []*Tensor{y}, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "samples/s")
}

// TestEarlyStoppingRestoresBestWeights: with restore_best_weights the
// weights after training are those of the best epoch: here the first (a
// "max" monitor on a falling val_loss), so they equal one epoch's.
func TestEarlyStoppingRestoresBestWeights(t *testing.T) {
	a, x, y := fitFixture(t, "loss_cce")
	b, _, _ := fitFixture(t, "loss_cce")
	stop := &EarlyStopping{Monitor: "val_loss", Mode: "max", Patience: 1, RestoreBestWeights: true}
	h, err := a.Fit(x, y, FitOptions{Epochs: 10, BatchSize: 4, ValidationSplit: 0.2, Callbacks: []Callback{stop}})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 2 {
		t.Fatalf("ran epochs %v, want 2 (val_loss %v)", h.Epochs, h.Logs["val_loss"])
	}
	if _, err := b.Fit(x, y, FitOptions{Epochs: 1, BatchSize: 4, ValidationSplit: 0.2}); err != nil {
		t.Fatal(err)
	}
	sameVariables(t, a, b)
}
