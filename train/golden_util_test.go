package train

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// goldenArray is a tensor as export_train.py writes it.
type goldenArray struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (a *goldenArray) tensor() *runtime.Tensor {
	if a == nil {
		return nil
	}
	t := runtime.NewTensor(a.Shape...)
	for i, v := range a.Data {
		t.Data[i] = float32(v)
	}
	return t
}

// loadGolden decodes testdata/name into v, keeping numbers in configs as
// json.Number the way kerasjson does.
func loadGolden(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read golden: %v (regenerate with compat/python/export_train.py)", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

// decodeConfig turns a raw JSON config (string or object) into an Object.
func decodeConfig(t *testing.T, raw json.RawMessage) *kerasjson.Object {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode config: %v", err)
	}
	o, err := kerasjson.DecodeObject(v)
	if err != nil {
		t.Fatalf("decode config: %v", err)
	}
	return o
}

// tolerance is the golden comparison bound |got-want| <= 1e-5 + 1e-4*|want|.
func close(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= 1e-5+1e-4*math.Abs(want)
}

func checkSlice(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if !close(float64(got[i]), want[i]) {
			t.Errorf("%s[%d] = %.8g, want %.8g", what, i, got[i], want[i])
			return
		}
	}
}
