package serve

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBadRequests sends requests a client gets wrong; each gets a 4xx with
// {"error": ...} naming the problem, and the server goes on serving.
func TestBadRequests(t *testing.T) {
	model := filepath.Join(mlpDir, "model_k3.keras")
	_, hs := newTestServer(t, model, Options{MaxRequestBytes: 1 << 20, MaxBatchSize: 8})
	x := readNPY(t, filepath.Join(mlpDir, "x.npy"))
	good := mustJSON(t, map[string]any{"inputs": []any{v2JSON("input_layer", x, "FP32")}})
	v2 := "/v2/models/model_k3/infer"
	row := "[" + strings.Repeat("0,", 783) + "0]"
	binHead := `{"inputs":[{"name":"input_layer","shape":[1,784],"datatype":"FP32","parameters":{"binary_data_size":3136}}]}`
	cases := []struct {
		name, path, body string
		header           map[string]string
		code             int
		msg              string
	}{
		{"malformed JSON", v2, `{"inputs": [`, nil, 400, "malformed"},
		{"unknown model", "/v2/models/nope/infer", string(good), nil, 404, `unknown model "nope"`},
		{"unknown version", "/v2/models/model_k3/versions/7/infer", string(good), nil, 404, `no version "7"`},
		{"wrong shape", v2, `{"inputs":[{"name":"input_layer","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`, nil, 400, "the model takes (None, 784)"},
		{"wrong rank", v2, `{"inputs":[{"name":"input_layer","shape":[784],"datatype":"FP32","data":` + row + `}]}`, nil, 400, "rank 2"},
		{"data shorter than shape", v2, `{"inputs":[{"name":"input_layer","shape":[2,784],"datatype":"FP32","data":` + row + `}]}`, nil, 400, "784 elements, its shape holds 1568"},
		{"BYTES", v2, `{"inputs":[{"name":"input_layer","shape":[1,1],"datatype":"BYTES","data":["a"]}]}`, nil, 400, "BYTES"},
		{"unknown datatype", v2, `{"inputs":[{"name":"input_layer","shape":[1,784],"datatype":"FP8","data":` + row + `}]}`, nil, 400, "unknown datatype"},
		{"string in data", v2, `{"inputs":[{"name":"input_layer","shape":[1,1],"datatype":"FP32","data":["x"]}]}`, nil, 400, "not a number"},
		{"INT8 out of range", v2, `{"inputs":[{"name":"input_layer","shape":[1,1],"datatype":"INT8","data":[300]}]}`, nil, 400, "not a INT8 value"},
		{"unknown input", v2, `{"inputs":[{"name":"pixels","shape":[1,784],"datatype":"FP32","data":` + row + `}]}`, nil, 400, `no input "pixels"`},
		{"unknown output", v2, `{"inputs":[{"name":"input_layer","shape":[1,784],"datatype":"FP32","data":` + row + `}],"outputs":[{"name":"logits"}]}`, nil, 400, `no output "logits"`},
		{"above max batch", v2, `{"inputs":[{"name":"input_layer","shape":[9,784],"datatype":"FP32","data":[` + strings.Repeat(row+",", 8) + row + `]}]}`, nil, 400, "above the max batch size 8"},
		{"truncated binary", v2, binHead + strings.Repeat("\x00", 100), map[string]string{headerLengthKey: strconv.Itoa(len(binHead))}, 400, "binary_data_size 3136, but only 100 bytes"},
		{"header length past the body", v2, binHead, map[string]string{headerLengthKey: "99999"}, 400, headerLengthKey},
		{"huge declared shape", v2, `{"inputs":[{"name":"input_layer","shape":[4294967296,4294967296],"datatype":"FP32","data":[1]}]}`, nil, 413, "more than"},
		{"body above the limit", v2, `{"inputs":[{"name":"input_layer","shape":[1,1],"datatype":"FP32","data":[` + strings.Repeat(" ", 2<<20) + `1]}]}`, nil, 413, "too large"},
		{"classification", v2, `{"inputs":[{"name":"input_layer","shape":[1,784],"datatype":"FP32","data":` + row + `}],"outputs":[{"name":"activation_1","parameters":{"classification":3}}]}`, nil, 400, "not supported"},
		{"NaN input", "/v1/models/model_k3:predict", `{"instances":[[NaN` + strings.Repeat(",0", 783) + `]]}`, nil, 400, "finite"},
		{"TF Serving b64 for a float input", "/v1/models/model_k3:predict", `{"instances":[{"b64":"aGVsbG8="}]}`, nil, 400, "DT_STRING"},
		{"TF Serving ragged rows", "/v1/models/model_k3:predict", `{"instances":[[1,2],[3]]}`, nil, 400, "rectangular"},
		{"TF Serving neither format", "/v1/models/model_k3:predict", `{"signature_name":"serving_default"}`, nil, 400, "neither"},
		{"TF Serving malformed", "/v1/models/model_k3:predict", `{"instances": [1,}`, nil, 400, "malformed JSON"},
		{"TF Serving label", "/v1/models/model_k3/labels/stable:predict", `{"instances":[]}`, nil, 404, "no version label"},
	}
	for _, c := range cases {
		code, _, body := post(t, hs.URL+c.path, c.header, []byte(c.body))
		var e struct{ Error string }
		if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
			t.Errorf("%s: body %.200q is not {\"error\": ...}", c.name, body)
		}
		if code != c.code || !strings.Contains(e.Error, c.msg) {
			t.Errorf("%s: status %d %q, want %d with %q", c.name, code, e.Error, c.code, c.msg)
		}
		if code, _, body := post(t, hs.URL+v2, nil, good); code != http.StatusOK {
			t.Fatalf("after %s: a good request got %d %s", c.name, code, body)
		}
	}
}
