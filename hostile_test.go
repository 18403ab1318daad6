package kerasrun

import (
	"archive/zip"
	"bytes"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	krt "github.com/kerasrun/kerasrun/runtime"
)

// hostileCase is one crafted file (in the spirit of image/png's invalid
// file tests): Load must refuse it with an error holding every string of
// want, return no model with the error, and allocate at most maxAlloc
// bytes in total while doing so (an upper bound on its peak heap). A case
// with no want is a file Keras loads too (it reads archive members by
// name and never extracts the others): it must load and predict.
type hostileCase struct {
	name     string
	data     func(t *testing.T) []byte
	want     []string
	maxAlloc uint64
}

// mlpConfig rewrites the mlp_relu archive with config.json changed by edit.
func mlpConfig(edit func(string) string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		return rezipMLP(t, func(zw *zip.Writer, zf *zip.File) error {
			if zf.Name != "config.json" {
				return zw.Copy(zf)
			}
			rc, err := zf.Open()
			if err != nil {
				return err
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			w, err := zw.Create(zf.Name)
			if err == nil {
				_, err = io.WriteString(w, edit(string(b)))
			}
			return err
		})
	}
}

// prefix is the first n bytes (n < 0: all but -n) of a testdata file.
func prefix(path string, n int) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n < 0 {
			n += len(b)
		}
		return b[:n]
	}
}

var hostileCases = []hostileCase{
	{"empty", func(*testing.T) []byte { return nil }, []string{"hostile", "not a Keras model file"}, 1 << 20},
	{"not a model", func(*testing.T) []byte { return bytes.Repeat([]byte("kerasrun"), 512) }, []string{"hostile", "not a Keras model file"}, 1 << 20},
	{"truncated .keras", prefix("testdata/mlp_relu/model_k3.keras", 4096), []string{"hostile", "not a valid zip file"}, 8 << 20},
	{"truncated .h5", prefix("testdata/mlp_relu/model_k3.h5", -4096), []string{"hostile", "truncated", "837472", "833376"}, 8 << 20},
	{"path traversal member", func(t *testing.T) []byte {
		return rezipMLP(t, func(zw *zip.Writer, zf *zip.File) error {
			if zf.Name == "config.json" {
				if _, err := zw.Create("../../evil.json"); err != nil {
					return err
				}
			}
			return zw.Copy(zf)
		})
	}, nil, 32 << 20},
	{"100k members", func(t *testing.T) []byte {
		return rezipMLP(t, func(zw *zip.Writer, zf *zip.File) error {
			if zf.Name == "config.json" {
				for i := range 100000 {
					if _, err := zw.Create("pad/" + strconv.Itoa(i)); err != nil {
						return err
					}
				}
			}
			return zw.Copy(zf)
		})
	}, nil, 256 << 20},
	{"deep JSON", mlpConfig(func(string) string { return strings.Repeat("[", 100000) }), []string{"hostile", "config.json", "max depth"}, 64 << 20},
	{"units 10^12", mlpConfig(func(s string) string { return strings.Replace(s, `"units": 128`, `"units": 1000000000000`, 1) }), []string{"hostile", "dense (class Dense)", `"units": integer 1000000000000 out of range`}, 32 << 20},
	{"negative units", mlpConfig(func(s string) string { return strings.Replace(s, `"units": 128`, `"units": -5`, 1) }), []string{"hostile", "dense (class Dense)", "units must be positive, got -5"}, 32 << 20},
	{"input shape 2^40", mlpConfig(func(s string) string { return strings.Replace(s, `[null, 784]`, `[null, 1099511627776]`, 1) }), []string{"hostile", "input_layer (class InputLayer)", `"batch_shape"[1]: integer 1099511627776 out of range`}, 32 << 20},
	{"weights bomb declaring 1.5 GiB", weightsBomb(bombSize), []string{"hostile: model.weights.h5: declares 1610612736 bytes inflated, more than the 26353040 this model's variables can need"}, 16 << 20},
	{"weights bomb declaring 834092 bytes", weightsBomb(834092), []string{"hostile: model.weights.h5: inflates to more than the 834092 bytes it declares"}, 16 << 20},
	{"graph cycle", editArchive("testdata/func_residual/model_k3.keras", func(t *testing.T, s string) string {
		return replaceOnce(t, s, `"keras_history": ["image", 0, 0]`, `"keras_history": ["conv_b", 0, 0]`)
	}), []string{"hostile: model residual: calls whose inputs are never computed: conv_a (node 0), conv_b (node 0)"}, 32 << 20},
	{"Lambda bytecode", editArchive("testdata/mlp_relu/model_k3.keras", lambdaLayer), []string{"hostile: unsupported: 1 layer(s) cannot run", "activation (class Lambda): a Lambda layer holds Python code, which cannot run outside Python"}, 32 << 20},
	{"weights of the wrong shape", mlpConfig(func(s string) string { return strings.Replace(s, `"units": 128`, `"units": 64`, 1) }), []string{`hostile: layer dense (Dense): weight "kernel" has shape (784, 128) in the file, the layer expects (784, 64)`}, 32 << 20},
	{"unknown layer class", mlpConfig(func(s string) string {
		return strings.Replace(s, `"class_name": "Dense"`, `"class_name": "NoSuchLayer"`, 1)
	}), []string{"hostile", "dense (class NoSuchLayer)", "no implementation"}, 32 << 20},
}

// TestHostileFiles loads every crafted file of hostileCases.
func TestHostileFiles(t *testing.T) {
	for _, c := range hostileCases {
		t.Run(c.name, func(t *testing.T) {
			data := c.data(t)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m, err := LoadBytes(data, WithName("hostile"))
			runtime.ReadMemStats(&after)
			a := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d KiB (bound %d MiB): %v", a>>10, c.maxAlloc>>20, err)
			if a > c.maxAlloc {
				t.Errorf("allocated %d MiB, bound %d MiB", a>>20, c.maxAlloc>>20)
			}
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				x, _ := ReadNPY("testdata/mlp_relu/x.npy")
				if _, err := m.Predict(x); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || m != nil {
				t.Fatalf("Load = %v, %v; want no model and an error", m, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "internal error") {
				t.Errorf("a recovered panic: %v", err)
			}
		})
	}
}

// TestHostileInputs: inputs Predict must refuse, with the input's name and
// what is wrong, and no output.
func TestHostileInputs(t *testing.T) {
	m, err := Load("testdata/mlp_relu/model_k3.keras")
	if err != nil {
		t.Fatal(err)
	}
	name := m.Inputs()[0].Name
	nan := krt.NewTensor(2, 784)
	nan.Data[5] = float32(math.NaN())
	inf := krt.NewTensor(2, 784)
	inf.Data[0] = float32(math.Inf(-1))
	for _, c := range []struct {
		name string
		in   []*Tensor
		want []string
	}{
		{"NaN", []*Tensor{nan}, []string{name, "element 5 is NaN"}},
		{"-Inf", []*Tensor{inf}, []string{name, "element 0 is -Inf"}},
		{"wrong shape", []*Tensor{krt.NewTensor(2, 783)}, []string{name, "(None, 784)", "(2, 783)"}},
		{"wrong rank", []*Tensor{krt.NewTensor(2, 28, 28)}, []string{name, "(None, 784)", "(2, 28, 28)"}},
		{"data does not fit", []*Tensor{{Shape: []int{2, 784}, Data: make([]float32, 10)}}, []string{name, "does not fit its shape"}},
		{"two inputs", []*Tensor{krt.NewTensor(2, 784), krt.NewTensor(2, 784)}, []string{"takes 1 input", "got 2"}},
		{"nil", []*Tensor{nil}, []string{name, "empty"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := m.Predict(c.in...)
			if err == nil || out != nil {
				t.Fatalf("Predict = %v, %v; want no output and an error", out, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// npyFile is a .npy of format version ver with header text h and then
// data.
func npyFile(ver byte, h string, data []byte) []byte {
	b := []byte("\x93NUMPY")
	b = append(b, ver, 0)
	if ver == 1 {
		b = append(b, byte(len(h)), byte(len(h)>>8))
	} else {
		b = append(b, byte(len(h)), byte(len(h)>>8), byte(len(h)>>16), byte(len(h)>>24))
	}
	return append(append(b, h...), data...)
}

// TestHostileNPY: crafted .npy inputs ReadNPYFrom must refuse with the
// exact error, no tensor, and bounded allocation.
func TestHostileNPY(t *testing.T) {
	for _, c := range []struct {
		name     string
		data     []byte
		want     string
		maxAlloc uint64
	}{
		{"header of 4 GiB", append(npyFile(2, "", nil)[:8], 0xff, 0xff, 0xff, 0xff), "npy: malformed: header length 4294967295 exceeds the 65536-byte limit", 1 << 20},
		{"2^40 elements, 8 bytes of data", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }\n", make([]byte, 8)), "npy: malformed: header shape [1099511627776]: element count overflows", 1 << 20},
		{"negative dimension", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }\n", make([]byte, 24)), "npy: malformed: header shape [-2 3]: dimension 0 is not a non-negative integer", 1 << 20},
		{"object dtype", npyFile(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", make([]byte, 16)), "npy: unsupported: dtype \"|O\"", 1 << 20},
		{"truncated data", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", make([]byte, 10)), "npy: malformed: shape [4] of <f4 declares 16 data bytes but the data ends after fewer than 16", 1 << 20},
		{"deeply nested header", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': "+strings.Repeat("(", 5000)+"}\n", nil), "nested deeper than 16", 1 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			x, err := ReadNPYFrom(bytes.NewReader(c.data))
			runtime.ReadMemStats(&after)
			a := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d KiB: %v", a>>10, err)
			if a > c.maxAlloc {
				t.Errorf("allocated %d KiB, bound %d KiB", a>>10, c.maxAlloc>>10)
			}
			if err == nil || x != nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ReadNPYFrom = %v, %v; want no tensor and an error saying %q", x, err, c.want)
			}
		})
	}
}
