package serve

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kerasrun/kerasrun"
	"github.com/kerasrun/kerasrun/serve/inferencepb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The request decoders under fuzzing: arbitrary request bodies on the
// TF Serving and Open Inference Protocol routes, and arbitrary
// ModelInferRequest messages on the gRPC service, against the two-input
// model. A request is refused with a client error or answered; a panic,
// a 500 or codes.Internal fails the target (503 and 504 are the load the
// machine may be under, not a decoder's answer).

// fuzzServer is one server for a whole fuzz target: the request path is
// what is fuzzed, not model loading.
func fuzzServer(f *testing.F) *Server {
	s, err := New(filepath.Join(twoIODir, "model_k3.keras"), quietOptions(Options{
		ModelName: "two_io", MaxRequestBytes: 1 << 20, MaxBatchSize: 8, RequestTimeout: 10 * time.Minute,
	}))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	return s
}

// fuzzRoutes are the routes FuzzServeHTTP posts to; the input's route
// byte picks one (modulo their count).
var fuzzRoutes = []struct {
	path string
	// binary: the header length comes from the input (the V2 binary
	// extension); gzip: the body is sent gzip-compressed.
	binary, gzip bool
}{
	{path: "/v1/models/two_io:predict"},
	{path: "/v1/models/two_io/versions/1:predict", gzip: true},
	{path: "/v2/models/two_io/infer"},
	{path: "/v2/models/two_io/versions/1/infer", binary: true},
	{path: "/v2/models/two_io/infer", gzip: true},
}

func fuzzSeedInputs(f *testing.F) (a, b []float32, shapeA, shapeB []int) {
	x0, err := kerasrun.ReadNPY(filepath.Join(twoIODir, "x0.npy"))
	if err != nil {
		f.Fatal(err)
	}
	x1, err := kerasrun.ReadNPY(filepath.Join(twoIODir, "x1.npy"))
	if err != nil {
		f.Fatal(err)
	}
	return x0.Data, x1.Data, x0.Shape, x1.Shape
}

func FuzzServeHTTP(f *testing.F) {
	a, b, sa, sb := fuzzSeedInputs(f)
	js := func(v any) []byte {
		out, err := json.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		return out
	}
	nestedA, nestedB := appendNested(nil, sa, a), appendNested(nil, sb, b)
	var instances []map[string]json.RawMessage
	for r := range sa[0] {
		instances = append(instances, map[string]json.RawMessage{
			"in_a": appendNested(nil, sa[1:], a[r*len(a)/sa[0]:(r+1)*len(a)/sa[0]]),
			"in_b": appendNested(nil, sb[1:], b[r*len(b)/sb[0]:(r+1)*len(b)/sb[0]]),
		})
	}
	rows := js(map[string]any{"instances": instances})
	cols := js(map[string]any{"inputs": map[string]json.RawMessage{"in_a": nestedA, "in_b": nestedB}})
	for route := range fuzzRoutes[:2] {
		f.Add(uint8(route), int64(0), rows)
		f.Add(uint8(route), int64(0), cols)
	}
	f.Add(uint8(0), int64(0), []byte(`{"signature_name":"serving_default","instances":[{"in_a":{"b64":"AAAA"}}]}`))
	// Each datatype's JSON data: floats, small non-negative integers, bools.
	typed := func(dt string, xs []float32) any {
		switch dt {
		case "INT8", "UINT64":
			out := make([]int, len(xs))
			for i, x := range xs {
				out[i] = int(min(max(x*10, 0), 100))
			}
			return out
		case "BOOL":
			out := make([]bool, len(xs))
			for i, x := range xs {
				out[i] = x > 0
			}
			return out
		}
		return xs
	}
	for _, dt := range []string{"FP32", "FP64", "FP16", "INT8", "UINT64", "BOOL"} {
		v2 := js(map[string]any{"id": "r", "inputs": []any{
			map[string]any{"name": "in_a", "shape": sa, "datatype": dt, "data": typed(dt, a)},
			map[string]any{"name": "in_b", "shape": sb, "datatype": dt, "data": typed(dt, b)},
		}, "outputs": []any{map[string]any{"name": "out_cls"}}})
		f.Add(uint8(2), int64(0), v2)
		f.Add(uint8(4), int64(0), v2)
	}
	rawA, rawB := float32Bytes(a), float32Bytes(b)
	head := js(map[string]any{
		"inputs": []any{
			map[string]any{"name": "in_a", "shape": sa, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": len(rawA)}},
			map[string]any{"name": "in_b", "shape": sb, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": len(rawB)}},
		},
		"outputs":    []any{map[string]any{"name": "out_cls", "parameters": map[string]any{"binary_data": true}}},
		"parameters": map[string]any{"timeout": 60000000},
	})
	f.Add(uint8(3), int64(len(head)), append(append(head, rawA...), rawB...))

	h := fuzzServer(f).Handler()
	f.Fuzz(func(t *testing.T, route uint8, headerLen int64, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		send := body
		if r.gzip {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(body)
			zw.Close()
			send = buf.Bytes()
		}
		req := httptest.NewRequest("POST", r.path, bytes.NewReader(send))
		req.Header.Set("Content-Type", "application/json")
		if r.gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
		if r.binary {
			req.Header.Set(headerLengthKey, strconv.FormatInt(headerLen, 10))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch code := rec.Code; {
		case code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		case code >= 500:
			t.Fatalf("%s: status %d: %s", r.path, code, rec.Body.Bytes())
		case code == http.StatusOK && rec.Body.Len() == 0:
			t.Fatalf("%s: 200 with an empty body", r.path)
		}
	})
}

func FuzzServeGRPC(f *testing.F) {
	a, b, sa, sb := fuzzSeedInputs(f)
	add := func(m *inferencepb.ModelInferRequest) {
		data, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	shape := func(s []int) []int64 { return int64Shape(s) }
	input := func(name string, s []int, dt string, c *inferencepb.InferTensorContents) *inferencepb.ModelInferRequest_InferInputTensor {
		return &inferencepb.ModelInferRequest_InferInputTensor{Name: name, Datatype: dt, Shape: shape(s), Contents: c}
	}
	add(&inferencepb.ModelInferRequest{
		ModelName: "two_io", Id: "raw",
		Inputs:           []*inferencepb.ModelInferRequest_InferInputTensor{input("in_a", sa, "FP32", nil), input("in_b", sb, "FP32", nil)},
		Outputs:          []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "out_cls"}},
		RawInputContents: [][]byte{float32Bytes(a), float32Bytes(b)},
	})
	f64 := func(xs []float32) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = float64(x)
		}
		return out
	}
	i32 := func(xs []float32) []int32 {
		out := make([]int32, len(xs))
		for i, x := range xs {
			out[i] = int32(x * 10)
		}
		return out
	}
	add(&inferencepb.ModelInferRequest{
		ModelName: "two_io", ModelVersion: "1",
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			input("in_a", sa, "FP32", &inferencepb.InferTensorContents{Fp32Contents: a}),
			input("in_b", sb, "FP64", &inferencepb.InferTensorContents{Fp64Contents: f64(b)}),
		},
	})
	add(&inferencepb.ModelInferRequest{
		ModelName:  "two_io",
		Parameters: map[string]*inferencepb.InferParameter{"timeout": {ParameterChoice: &inferencepb.InferParameter_Int64Param{Int64Param: 60000000}}},
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			input("in_b", sb, "INT32", &inferencepb.InferTensorContents{IntContents: i32(b)}),
			input("in_a", sa, "INT32", &inferencepb.InferTensorContents{IntContents: i32(a)}),
		},
	})

	g := &grpcService{s: fuzzServer(f)}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req inferencepb.ModelInferRequest
		if proto.Unmarshal(data, &req) != nil {
			return
		}
		resp, err := g.ModelInfer(context.Background(), &req)
		if err != nil {
			if resp != nil {
				t.Fatalf("a response came back with the error %v", err)
			}
			switch status.Code(err) {
			case codes.Internal, codes.Unknown:
				t.Fatalf("%v", err)
			}
			return
		}
		if len(resp.Outputs) != len(resp.RawOutputContents) {
			t.Fatalf("%d outputs with %d raw contents", len(resp.Outputs), len(resp.RawOutputContents))
		}
		for i, o := range resp.Outputs {
			n := int64(4)
			for _, d := range o.Shape {
				n *= d
			}
			if n != int64(len(resp.RawOutputContents[i])) {
				t.Fatalf("output %s of shape %v has %d bytes", o.Name, o.Shape, len(resp.RawOutputContents[i]))
			}
		}
	})
}
