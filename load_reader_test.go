package kerasrun

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/saving"
)

// TestLoadReader loads every single-file format from memory and predicts
// what Load on the file predicts.
func TestLoadReader(t *testing.T) {
	dir := "testdata/mlp_relu/"
	x, err := ReadNPY(dir + "x.npy")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ model, weights string }{
		{"model_k3.keras", ""},
		{"model_k3.h5", ""},
		{"model_k2.h5", ""},
		{"model_k3.json", "model_k3.weights.h5"},
		{"model_k2.json", "model_k2_weights.h5"},
	} {
		t.Run(c.model, func(t *testing.T) {
			var fileOpts, readerOpts []LoadOption
			if c.weights != "" {
				fileOpts = append(fileOpts, WithWeights(dir+c.weights))
				w := readFile(t, dir+c.weights)
				readerOpts = append(readerOpts, WithWeightsReader(bytes.NewReader(w), int64(len(w))))
			}
			want, err := Load(dir+c.model, fileOpts...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := LoadBytes(readFile(t, dir+c.model), append(readerOpts, WithName(c.model))...)
			if err != nil {
				t.Fatal(err)
			}
			if got.Info().Path != c.model || got.Info().Format != want.Info().Format {
				t.Errorf("Info() = %+v, want path %s and format %v", got.Info(), c.model, want.Info().Format)
			}
			wo, err := want.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			go_, err := got.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			for i := range wo[0].Data {
				if wo[0].Data[i] != go_[0].Data[i] {
					t.Fatalf("output %d: LoadBytes gives %v, Load %v", i, go_[0].Data[i], wo[0].Data[i])
				}
			}
		})
	}
	if _, err := LoadBytes(readFile(t, dir+"model_k3.json")); err == nil || !strings.Contains(err.Error(), "WithWeightsReader") {
		t.Errorf("a JSON without weights: err = %v, want one naming WithWeightsReader", err)
	}
}

// rezipMLP rewrites the mlp_relu archive, each member through member.
func rezipMLP(t *testing.T, member func(zw *zip.Writer, zf *zip.File) error) []byte {
	t.Helper()
	zr, err := zip.OpenReader("testdata/mlp_relu/model_k3.keras")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		if err := member(zw, zf); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// kerasWithWeightsMember is the mlp_relu archive with its
// model.weights.h5 replaced by a deflated member whose stream is
// compressed and whose header declares declared bytes.
func kerasWithWeightsMember(t *testing.T, compressed []byte, declared uint64) []byte {
	return rezipMLP(t, func(zw *zip.Writer, zf *zip.File) error {
		if zf.Name != "model.weights.h5" {
			return zw.Copy(zf)
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: zf.Name, Method: zip.Deflate, CompressedSize64: uint64(len(compressed)), UncompressedSize64: declared})
		if err == nil {
			_, err = w.Write(compressed)
		}
		return err
	})
}

func deflateZeros(t *testing.T, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	if _, err := io.CopyN(fw, zeroReader{}, n); err != nil {
		t.Fatal(err)
	}
	fw.Close()
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestKerasWeightsBomb: a compressed model.weights.h5 is bounded by what
// the model's variables can need, by its compression ratio and by what it
// declares, and is refused before (or while) inflating, never held in
// memory; a deflated archive of the real weights still loads.
func TestKerasWeightsBomb(t *testing.T) {
	bomb := deflateZeros(t, 64<<20) // about 64 KB of deflate
	for _, c := range []struct {
		name     string
		declared uint64
		want     string
	}{
		{"declares 1.5 GiB", 3 << 29, "more than the"},
		{"declares what it holds", 64 << 20, "more than the"},
		{"declares little, inflates much", 1 << 10, "more than the 1024 bytes it declares"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := kerasWithWeightsMember(t, bomb, c.declared)
			m, err := LoadBytes(data, WithName("bomb.keras"))
			if err == nil || m != nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bomb.keras:model.weights.h5") && !strings.Contains(err.Error(), "bomb.keras: model.weights.h5") {
				t.Errorf("err = %v (model %v), want one naming bomb.keras: model.weights.h5 and %q", err, m, c.want)
			}
		})
	}
	t.Run("ratio", func(t *testing.T) {
		if err := saving.CheckRatio(1<<30, 1<<20); err == nil || !strings.Contains(err.Error(), "deflate bomb") {
			t.Errorf("saving.CheckRatio(1 GiB from 1 MiB) = %v, want a deflate bomb refusal", err)
		}
		if err := saving.CheckRatio(1<<30, 1<<28); err != nil {
			t.Errorf("saving.CheckRatio(1 GiB from 256 MiB) = %v", err)
		}
	})
	t.Run("deflated real weights load", func(t *testing.T) {
		deflated := rezipMLP(t, func(zw *zip.Writer, zf *zip.File) error {
			rc, err := zf.Open()
			if err != nil {
				return err
			}
			defer rc.Close()
			w, err := zw.CreateHeader(&zip.FileHeader{Name: zf.Name, Method: zip.Deflate})
			if err == nil {
				_, err = io.Copy(w, rc)
			}
			return err
		})
		p := writeFile(t, t.TempDir(), "deflated.keras", deflated)
		m, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Load("testdata/mlp_relu/model_k3.keras")
		if err != nil {
			t.Fatal(err)
		}
		x, _ := ReadNPY("testdata/mlp_relu/x.npy")
		a, err1 := m.Predict(x)
		b, err2 := want.Predict(x)
		if err1 != nil || err2 != nil || len(a[0].Data) != len(b[0].Data) {
			t.Fatal(err1, err2)
		}
		for i := range a[0].Data {
			if a[0].Data[i] != b[0].Data[i] {
				t.Fatalf("output %d differs: %v vs %v", i, a[0].Data[i], b[0].Data[i])
			}
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	})
}
