package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kerasrun/kerasrun"
)

const (
	mlpDir   = "../testdata/mlp_relu"
	twoIODir = "../testdata/func_two_io"
)

func quietOptions(o Options) Options {
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return o
}

func newTestServer(t *testing.T, source string, o Options) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(source, quietOptions(o))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Close() })
	return s, hs
}

func readNPY(t *testing.T, path string) *kerasrun.Tensor {
	t.Helper()
	x, err := kerasrun.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// predict is the reference: kerasrun's own Predict on the same file.
func predict(t *testing.T, model string, xs ...*kerasrun.Tensor) []*kerasrun.Tensor {
	t.Helper()
	m, err := kerasrun.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Predict(xs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func post(t *testing.T, url string, header map[string]string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func v2JSON(name string, x *kerasrun.Tensor, datatype string) map[string]any {
	data := make([]any, len(x.Data))
	for i, v := range x.Data {
		data[i] = float64(v)
	}
	return map[string]any{"name": name, "shape": x.Shape, "datatype": datatype, "data": data}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// equalData checks a served output against Predict's, element for element.
func equalData(t *testing.T, what string, got []float32, want *kerasrun.Tensor) {
	t.Helper()
	if len(got) != len(want.Data) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want.Data))
	}
	for i := range got {
		if got[i] != want.Data[i] {
			t.Fatalf("%s: element %d is %v, Predict gives %v", what, i, got[i], want.Data[i])
		}
	}
}

// withinKeras checks an output against the fixture's Keras numbers with the
// fixture's default tolerance.
func withinKeras(t *testing.T, what string, got []float32, want *kerasrun.Tensor) {
	t.Helper()
	for i := range got {
		if d := math.Abs(float64(got[i] - want.Data[i])); d > 1e-5+1e-4*math.Abs(float64(want.Data[i])) {
			t.Fatalf("%s: element %d is %v, Keras gives %v", what, i, got[i], want.Data[i])
		}
	}
}

type v2Response struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	Outputs      []struct {
		Name       string         `json:"name"`
		Datatype   string         `json:"datatype"`
		Shape      []int          `json:"shape"`
		Parameters map[string]int `json:"parameters"`
		Data       []float32      `json:"data"`
	} `json:"outputs"`
}

func TestV2InferMatchesPredict(t *testing.T) {
	model := filepath.Join(mlpDir, "model_k3.keras")
	_, hs := newTestServer(t, model, Options{})
	x := readNPY(t, filepath.Join(mlpDir, "x.npy"))
	want := predict(t, model, x)[0]
	keras := readNPY(t, filepath.Join(mlpDir, "k3_keras_pred0.npy"))
	url := hs.URL + "/v2/models/model_k3/infer"

	for _, dt := range []string{"FP32", "FP64"} {
		body := mustJSON(t, map[string]any{"id": "r1", "inputs": []any{v2JSON("input_layer", x, dt)}})
		code, _, b := post(t, url, nil, body)
		if code != 200 {
			t.Fatalf("%s: status %d: %s", dt, code, b)
		}
		var r v2Response
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.ModelName != "model_k3" || r.ModelVersion != "1" || len(r.Outputs) != 1 || r.Outputs[0].Name != "activation_1" || fmt.Sprint(r.Outputs[0].Shape) != fmt.Sprint(want.Shape) {
			t.Fatalf("%s: response %s", dt, b)
		}
		equalData(t, dt+" JSON", r.Outputs[0].Data, want)
		withinKeras(t, dt+" JSON", r.Outputs[0].Data, keras)
	}

	// Binary tensors both ways, as tritonclient sends by default.
	raw := float32Bytes(x.Data)
	head := mustJSON(t, map[string]any{
		"inputs":  []any{map[string]any{"name": "input_layer", "shape": x.Shape, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": len(raw)}}},
		"outputs": []any{map[string]any{"name": "activation_1", "parameters": map[string]any{"binary_data": true}}},
	})
	code, h, b := post(t, url, map[string]string{headerLengthKey: strconv.Itoa(len(head))}, append(head, raw...))
	if code != 200 {
		t.Fatalf("binary: status %d: %s", code, b)
	}
	n, err := strconv.Atoi(h.Get(headerLengthKey))
	if err != nil || n > len(b) {
		t.Fatalf("binary: %s %q", headerLengthKey, h.Get(headerLengthKey))
	}
	var r v2Response
	if err := json.Unmarshal(b[:n], &r); err != nil {
		t.Fatal(err)
	}
	if r.Outputs[0].Parameters["binary_data_size"] != len(b)-n || len(b)-n != 4*len(want.Data) {
		t.Fatalf("binary: header %s with %d bytes after it", b[:n], len(b)-n)
	}
	got := make([]float32, len(want.Data))
	for i := range got {
		got[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[n+4*i:]))
	}
	equalData(t, "binary", got, want)
}

func TestV2TwoInputs(t *testing.T) {
	model := filepath.Join(twoIODir, "model_k3.keras")
	_, hs := newTestServer(t, model, Options{ModelName: "two_io"})
	a, b := readNPY(t, filepath.Join(twoIODir, "x0.npy")), readNPY(t, filepath.Join(twoIODir, "x1.npy"))
	want := predict(t, model, a, b)
	// Inputs in the other order, one output requested by name.
	body := mustJSON(t, map[string]any{
		"inputs":  []any{v2JSON("in_b", b, "FP32"), v2JSON("in_a", a, "FP32")},
		"outputs": []any{map[string]any{"name": "out_cls"}},
	})
	code, _, resp := post(t, hs.URL+"/v2/models/two_io/versions/1/infer", nil, body)
	if code != 200 {
		t.Fatalf("status %d: %s", code, resp)
	}
	var r v2Response
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Outputs) != 1 || r.Outputs[0].Name != "out_cls" {
		t.Fatalf("response %s", resp)
	}
	equalData(t, "out_cls", r.Outputs[0].Data, want[1])
	withinKeras(t, "out_cls", r.Outputs[0].Data, readNPY(t, filepath.Join(twoIODir, "k3_keras_pred1.npy")))

	code, md := get(t, hs.URL+"/v2/models/two_io")
	var meta modelMetadata
	if err := json.Unmarshal(md, &meta); code != 200 || err != nil || len(meta.Inputs) != 2 || meta.Inputs[0].Name != "in_a" || fmt.Sprint(meta.Inputs[1].Shape) != "[-1 3]" || meta.Outputs[1].Name != "out_cls" {
		t.Fatalf("metadata: %d %s", code, md)
	}
}

// nested writes a tensor as nested JSON lists.
func nested(x *kerasrun.Tensor) json.RawMessage { return appendNested(nil, x.Shape, x.Data) }

func TestTFServingPredict(t *testing.T) {
	model := filepath.Join(twoIODir, "model_k3.keras")
	_, hs := newTestServer(t, model, Options{ModelName: "two_io"})
	a, b := readNPY(t, filepath.Join(twoIODir, "x0.npy")), readNPY(t, filepath.Join(twoIODir, "x1.npy"))
	want := predict(t, model, a, b)
	rows := a.Shape[0]

	// Row format: one object per instance, keyed by the Keras Input names.
	var instances []map[string]json.RawMessage
	for r := 0; r < rows; r++ {
		instances = append(instances, map[string]json.RawMessage{
			"in_a": appendRow(nil, a, r), "in_b": appendRow(nil, b, r),
		})
	}
	code, _, resp := post(t, hs.URL+"/v1/models/two_io:predict", nil, mustJSON(t, map[string]any{"instances": instances}))
	if code != 200 {
		t.Fatalf("row: %d %s", code, resp)
	}
	var row struct{ Predictions []map[string][]float32 }
	if err := json.Unmarshal(resp, &row); err != nil || len(row.Predictions) != rows {
		t.Fatalf("row: %v %s", err, resp)
	}
	var cls []float32
	for _, p := range row.Predictions {
		cls = append(cls, p["out_cls"]...)
	}
	equalData(t, "row out_cls", cls, want[1])

	// Columnar format.
	code, _, resp = post(t, hs.URL+"/v1/models/two_io/versions/1:predict", nil, mustJSON(t, map[string]any{"inputs": map[string]any{"in_a": nested(a), "in_b": nested(b)}}))
	if code != 200 {
		t.Fatalf("columnar: %d %s", code, resp)
	}
	var col struct{ Outputs map[string][][]float32 }
	if err := json.Unmarshal(resp, &col); err != nil {
		t.Fatal(err)
	}
	var reg []float32
	for _, r := range col.Outputs["out_reg"] {
		reg = append(reg, r...)
	}
	equalData(t, "columnar out_reg", reg, want[0])

	for path, wantCode := range map[string]int{"/v1/models/two_io": 200, "/v1/models/two_io/metadata": 200, "/v1/models/nope": 404} {
		if code, body := get(t, hs.URL+path); code != wantCode {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	code, _, resp = post(t, hs.URL+"/v1/models/two_io:classify", nil, []byte(`{"examples":[]}`))
	if code != http.StatusNotImplemented || !bytes.Contains(resp, []byte("not supported")) {
		t.Errorf(":classify: %d %s", code, resp)
	}
}

func jsonErr(b []byte, v any) error { return json.Unmarshal(b, v) }
