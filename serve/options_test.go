package serve

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionPolicy(t *testing.T) {
	available := []int64{1, 2, 5, 9}
	for _, c := range []struct {
		policy, want string
	}{
		{"latest", "[9]"}, {"latest:2", "[5 9]"}, {"latest:10", "[1 2 5 9]"},
		{"all", "[1 2 5 9]"}, {"specific:2,9,4", "[2 9]"},
	} {
		p, err := ParseVersionPolicy(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(p.choose(available)); got != c.want {
			t.Errorf("%s chooses %s from %v, want %s", c.policy, got, available, c.want)
		}
	}
	for _, bad := range []string{"newest", "latest:0", "latest:x", "specific:", "specific:1,-2"} {
		if _, err := ParseVersionPolicy(bad); err == nil {
			t.Errorf("ParseVersionPolicy(%q) accepted", bad)
		}
	}
}

// TestBinaryDatatypes feeds the same values in every datatype's binary
// layout; each converts to the same float32 input.
func TestBinaryDatatypes(t *testing.T) {
	values := []float64{0, 1, 2, 100, 7}
	le := binary.LittleEndian
	enc := map[string]func(v float64) []byte{
		"FP32":   func(v float64) []byte { return le.AppendUint32(nil, math.Float32bits(float32(v))) },
		"FP64":   func(v float64) []byte { return le.AppendUint64(nil, math.Float64bits(v)) },
		"INT8":   func(v float64) []byte { return []byte{byte(int8(v))} },
		"INT16":  func(v float64) []byte { return le.AppendUint16(nil, uint16(int16(v))) },
		"INT32":  func(v float64) []byte { return le.AppendUint32(nil, uint32(int32(v))) },
		"INT64":  func(v float64) []byte { return le.AppendUint64(nil, uint64(int64(v))) },
		"UINT8":  func(v float64) []byte { return []byte{byte(v)} },
		"UINT16": func(v float64) []byte { return le.AppendUint16(nil, uint16(v)) },
		"UINT32": func(v float64) []byte { return le.AppendUint32(nil, uint32(v)) },
		"UINT64": func(v float64) []byte { return le.AppendUint64(nil, uint64(v)) },
	}
	for dt, f := range enc {
		var raw []byte
		for _, v := range values {
			raw = append(raw, f(v)...)
		}
		got, err := decodeBinary("x", dt, raw, len(values))
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		for i, v := range values {
			if got[i] != float32(v) {
				t.Errorf("%s: element %d is %v, want %v", dt, i, got[i], v)
			}
		}
	}
	// IEEE 754 binary16 encodings: 1, -2, the largest normal, the smallest
	// subnormal, 0.5.
	half := map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: float32(math.Ldexp(1, -24)), 0x3800: 0.5}
	for h, want := range half {
		if got := halfToFloat32(h); got != want {
			t.Errorf("half %#04x is %v, want %v", h, got, want)
		}
	}
	if _, err := decodeBinary("x", "BOOL", []byte{0, 1, 2}, 3); err == nil || !strings.Contains(err.Error(), "want 0 or 1") {
		t.Errorf("BOOL byte 2: %v", err)
	}
	if _, err := decodeBinary("x", "FP16", []byte{0x00, 0x7c}, 1); err == nil || !strings.Contains(err.Error(), "finite") {
		t.Errorf("FP16 infinity: %v", err)
	}
}

func TestGzipAndMetrics(t *testing.T) {
	_, hs := newTestServer(t, filepath.Join(mlpDir, "model_k3.keras"), Options{})
	x := readNPY(t, filepath.Join(mlpDir, "x.npy"))
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(mustJSON(t, map[string]any{"inputs": []any{v2JSON("input_layer", x, "FP32")}}))
	zw.Close()
	if code, _, b := post(t, hs.URL+"/v2/models/model_k3/infer", map[string]string{"Content-Encoding": "gzip"}, z.Bytes()); code != 200 {
		t.Fatalf("gzip body: %d %s", code, b)
	}
	post(t, hs.URL+"/v2/models/model_k3/infer", nil, []byte("{"))
	_, m := get(t, hs.URL+"/metrics")
	for _, want := range []string{
		`kerasrun_inference_requests_total{model="model_k3",protocol="v2-http",version="1"} 1`,
		`kerasrun_inference_failures_total{code="400",model="",protocol="v2-http",version=""} 1`,
		`kerasrun_model_loaded{model="model_k3",version="1"} 1`,
		`kerasrun_batch_size_count{model="model_k3",version="1"} 1`,
	} {
		if !bytes.Contains(m, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestRequestTimeout: a request asking for a 1µs timeout (Triton's
// "timeout" parameter) cannot be answered in time and gets 504.
func TestRequestTimeout(t *testing.T) {
	_, hs := newTestServer(t, filepath.Join(mlpDir, "model_k3.keras"), Options{})
	x := readNPY(t, filepath.Join(mlpDir, "x.npy"))
	body := mustJSON(t, map[string]any{"parameters": map[string]any{"timeout": 1}, "inputs": []any{v2JSON("input_layer", x, "FP32")}})
	if code, _, b := post(t, hs.URL+"/v2/models/model_k3/infer", nil, body); code != 504 || !strings.Contains(string(b), "timeout") {
		t.Fatalf("1µs timeout: %d %s", code, b)
	}
}
