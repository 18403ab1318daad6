package kerasrun

import (
	"archive/zip"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// writeFile writes data to name in dir and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// zipOf writes a zip archive holding the given members (stored).
func zipOf(t *testing.T, p string, members map[string][]byte) string {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, data := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// TestLoadInvalid is the table of files Load must refuse: each error names
// the file and what is wrong (layer, shapes), and no model comes back with
// an error.
func TestLoadInvalid(t *testing.T) {
	dir := t.TempDir()
	const mlp = "testdata/mlp_relu/"
	h5 := readFile(t, mlp+"model_k3.h5")
	modelJSON := readFile(t, mlp+"model_k3.json")
	keras := readFile(t, mlp+"model_k3.keras")
	weights3 := readFile(t, mlp+"model_k3.weights.h5")

	kerasMembers := func(drop string) map[string][]byte {
		zr, err := zip.NewReader(strings.NewReader(string(keras)), int64(len(keras)))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]byte{}
		for _, zf := range zr.File {
			if zf.Name == drop {
				continue
			}
			rc, _ := zf.Open()
			b := make([]byte, zf.UncompressedSize64)
			if _, err := io.ReadFull(rc, b); err != nil {
				t.Fatal(err)
			}
			rc.Close()
			out[zf.Name] = b
		}
		return out
	}

	type tc struct {
		name    string
		path    string
		opts    []LoadOption
		want    []string // substrings the error must contain
		wantAny bool     // only require that it fails and names the file
	}
	cases := []tc{
		{name: "truncated .h5", path: writeFile(t, dir, "truncated.h5", h5[:len(h5)/3]),
			want: []string{"truncated.h5"}},
		{name: "header only .h5", path: writeFile(t, dir, "header.h5", h5[:64]),
			want: []string{"header.h5"}},
		{name: "empty file", path: writeFile(t, dir, "empty.h5", nil),
			want: []string{"empty.h5", "not a Keras model file"}},
		{name: "random bytes", path: writeFile(t, dir, "noise.keras", []byte("this is not a model at all")),
			want: []string{"noise.keras", "not a Keras model file"}},
		{name: ".keras without config.json", path: zipOf(t, filepath.Join(dir, "noconfig.keras"), kerasMembers("config.json")),
			want: []string{"noconfig.keras", "no config.json"}},
		{name: ".keras without weights", path: zipOf(t, filepath.Join(dir, "noweights.keras"), kerasMembers("model.weights.h5")),
			want: []string{"noweights.keras", "no model.weights.h5"}},
		{name: ".keras with truncated zip", path: writeFile(t, dir, "cut.keras", keras[:len(keras)/2]),
			want: []string{"cut.keras"}},
		{name: ".keras dir without config", path: func() string {
			p := filepath.Join(dir, "emptydir")
			os.MkdirAll(p, 0o755)
			return p
		}(), want: []string{"emptydir", "config.json"}},
		{name: "JSON with an unknown layer",
			path: writeFile(t, dir, "unknown.json", []byte(strings.Replace(string(modelJSON), `"class_name": "Dense"`, `"class_name": "FancyDense"`, 1))),
			opts: []LoadOption{WithWeights(mlp + "model_k3.weights.h5")},
			want: []string{"unknown.json", "dense (class FancyDense)", "no implementation"}},
		{name: "JSON that is not a model", path: writeFile(t, dir, "notmodel.json", []byte(`{"X": [1, 2]}`)),
			opts: []LoadOption{WithWeights(mlp + "model_k3.weights.h5")},
			want: []string{"notmodel.json", "class_name"}},
		{name: "invalid JSON", path: writeFile(t, dir, "broken.json", modelJSON[:len(modelJSON)/2]),
			opts: []LoadOption{WithWeights(mlp + "model_k3.weights.h5")},
			want: []string{"broken.json"}},
		{name: "JSON without weights", path: mlp + "model_k3.json",
			want: []string{"model_k3.json", "weights"}},
		{name: "weights of the wrong shape",
			path: writeFile(t, dir, "wide.json", []byte(strings.Replace(string(modelJSON), `"units": 128`, `"units": 129`, 1))),
			opts: []LoadOption{WithWeights(mlp + "model_k3.weights.h5")},
			want: []string{"model_k3.weights.h5", "layer dense (Dense)", "(784, 128) in the file", "expects (784, 129)"}},
		{name: "Keras 3 weights of another model", path: mlp + "model_k3.json",
			opts: []LoadOption{WithWeights("testdata/cifar_cnn/model_k3.weights.h5")},
			want: []string{"cifar_cnn/model_k3.weights.h5", "layer dense (Dense)", "expects (784, 128)"}},
		{name: "Keras 2 weights of another model", path: mlp + "model_k2.json",
			opts: []LoadOption{WithWeights("testdata/cifar_cnn/model_k2_weights.h5")},
			want: []string{"cifar_cnn/model_k2_weights.h5", "weights for 4 layers", "2 layers with weights"}},
		{name: "weights file that is truncated", path: mlp + "model_k3.json",
			opts: []LoadOption{WithWeights(writeFile(t, dir, "cut.weights.h5", weights3[:len(weights3)/2]))},
			want: []string{"cut.weights.h5"}},
		{name: "sharded map escaping its directory", path: mlp + "model_k3.json",
			opts: []LoadOption{WithWeights(writeFile(t, dir, "evil.weights.json", []byte(`{"weight_map": {"/layers/dense/vars": "../../etc/passwd"}}`)))},
			want: []string{"evil.weights.json", "not a file beside the map"}},
		{name: "sharded map with a missing shard", path: mlp + "model_k3.json",
			opts: []LoadOption{WithWeights(writeFile(t, dir, "gone.weights.json", []byte(`{"weight_map": {"/layers/dense/vars": "gone_00000.weights.h5"}}`)))},
			want: []string{"gone.weights.json", "gone_00000.weights.h5"}},
		{name: "weights-only .h5 as a model", path: mlp + "model_k3.weights.h5",
			want: []string{"model_k3.weights.h5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(c.path, c.opts...)
			if err == nil {
				t.Fatal("loaded")
			}
			if m != nil {
				t.Error("a model came back together with an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if d := repeated(err.Error()); d != "" {
				t.Errorf("error %q says %q twice", err, d)
			}
		})
	}
}

// repeated returns a part an error message says twice in a row (the
// "kerasrun: " prefix, a "layer x (X): " context, a file name), or "".
func repeated(msg string) string {
	if strings.Count(msg, "kerasrun: ") > 1 {
		return "kerasrun: "
	}
	parts := strings.Split(msg, ": ")
	for i := 1; i < len(parts); i++ {
		if parts[i] == parts[i-1] {
			return parts[i]
		}
	}
	return ""
}

// TestPredictInvalid checks Predict's refusals: they name the input and
// the shapes, and never panic.
func TestPredictInvalid(t *testing.T) {
	m, err := Load("testdata/mlp_relu/model_k3.keras")
	if err != nil {
		t.Fatal(err)
	}
	good := &Tensor{Shape: []int{2, 784}, Data: make([]float32, 2*784)}
	nan := &Tensor{Shape: []int{1, 784}, Data: make([]float32, 784)}
	nan.Data[5] = float32(math.NaN())
	inf := &Tensor{Shape: []int{1, 784}, Data: make([]float32, 784)}
	inf.Data[0] = float32(math.Inf(1))
	cases := []struct {
		name string
		in   []*Tensor
		want []string
	}{
		{"no input", nil, []string{"takes 1 input(s)", "got 0"}},
		{"two inputs", []*Tensor{good, good}, []string{"takes 1 input(s)", "got 2"}},
		{"nil input", []*Tensor{nil}, []string{"input \"input_layer\""}},
		{"NaN", []*Tensor{nan}, []string{"input \"input_layer\"", "element 5 is NaN"}},
		{"Inf", []*Tensor{inf}, []string{"element 0 is +Inf"}},
		{"wrong feature size", []*Tensor{{Shape: []int{2, 783}, Data: make([]float32, 2*783)}}, []string{"(None, 784)", "(2, 783)"}},
		{"wrong rank", []*Tensor{{Shape: []int{2, 28, 28}, Data: make([]float32, 2*784)}}, []string{"(None, 784)", "(2, 28, 28)"}},
		{"data shorter than shape", []*Tensor{{Shape: []int{2, 784}, Data: make([]float32, 10)}}, []string{"does not fit its shape"}},
		{"scalar", []*Tensor{{Shape: nil, Data: []float32{1}}}, []string{"input \"input_layer\""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := m.Predict(c.in...)
			if err == nil {
				t.Fatal("no error")
			}
			if out != nil {
				t.Error("outputs came back together with an error")
			}
			if !strings.Contains(err.Error(), "model_k3.keras") {
				t.Errorf("error does not name the file: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestPredictConcurrent runs 8 goroutines predicting on one Model (run
// with -race): every result equals the sequential one.
func TestPredictConcurrent(t *testing.T) {
	m, err := Load("testdata/cifar_cnn/model_k3.keras")
	if err != nil {
		t.Fatal(err)
	}
	x, err := ReadNPY("testdata/cifar_cnn/x.npy")
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	outs := make([][]*Tensor, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				outs[g], errs[g] = m.Predict(x)
				if errs[g] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for g := range 8 {
		if errs[g] != nil {
			t.Fatal(errs[g])
		}
		for i := range want {
			for j, v := range want[i].Data {
				if outs[g][i].Data[j] != v {
					t.Fatalf("goroutine %d output %d element %d: %v, sequential %v", g, i, j, outs[g][i].Data[j], v)
				}
			}
		}
	}
}
