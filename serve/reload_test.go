package serve

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kerasrun/kerasrun"
	"github.com/kerasrun/kerasrun/serve/inferencepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// addVersion copies a model file into repo/NAME/VERSION/.
func addVersion(t *testing.T, repo, name, version, src, dst string) {
	t.Helper()
	dir := filepath.Join(repo, name, version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func servedVersion(t *testing.T, url string) string {
	t.Helper()
	code, b := get(t, url+"/v2/models/mlp")
	if code != 200 {
		t.Fatalf("metadata: %d %s", code, b)
	}
	return string(b)
}

// TestFailedReloadKeepsServing: a new version that does not load leaves
// the old one serving; the next good version replaces it.
func TestFailedReloadKeepsServing(t *testing.T) {
	repo := t.TempDir()
	addVersion(t, repo, "mlp", "1", filepath.Join(mlpDir, "model_k3.keras"), "model.keras")
	s, hs := newTestServer(t, repo, Options{})
	if err := os.MkdirAll(filepath.Join(repo, "mlp", "2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "mlp", "2", "model.keras"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Poll(); err == nil || !strings.Contains(err.Error(), `model "mlp" version 2`) {
		t.Fatalf("Poll with a broken version 2: %v", err)
	}
	if md := servedVersion(t, hs.URL); !strings.Contains(md, `"versions":["1"]`) {
		t.Fatalf("after a failed reload: %s", md)
	}
	x := readNPY(t, filepath.Join(mlpDir, "x.npy"))
	body := mustJSON(t, map[string]any{"inputs": []any{v2JSON("input_layer", x, "FP32")}})
	if code, _, b := post(t, hs.URL+"/v2/models/mlp/infer", nil, body); code != 200 || !strings.Contains(string(b), `"model_version":"1"`) {
		t.Fatalf("infer after a failed reload: %d %s", code, b)
	}
	addVersion(t, repo, "mlp", "3", filepath.Join(mlpDir, "model_k3.h5"), "model.h5")
	if err := s.Poll(); err != nil {
		t.Fatal(err)
	}
	if md := servedVersion(t, hs.URL); !strings.Contains(md, `"versions":["3"]`) {
		t.Fatalf("after version 3: %s", md)
	}
}

// TestHotReloadUnderLoad: requests keep arriving while versions come and
// go; every one is answered.
func TestHotReloadUnderLoad(t *testing.T) {
	repo := t.TempDir()
	addVersion(t, repo, "mlp", "1", filepath.Join(mlpDir, "model_k3.keras"), "model.keras")
	s, hs := newTestServer(t, repo, Options{Batching: true})
	x := readNPY(t, filepath.Join(mlpDir, "x.npy"))
	body := mustJSON(t, map[string]any{"inputs": []any{v2JSON("input_layer", x, "FP32")}})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	answered := 0
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, _, b := post(t, hs.URL+"/v2/models/mlp/infer", nil, body)
				mu.Lock()
				answered++
				if code != 200 || !strings.Contains(string(b), `"activation_1"`) {
					failures = append(failures, string(b))
				}
				mu.Unlock()
			}
		}()
	}
	for v := 2; v <= 5; v++ {
		addVersion(t, repo, "mlp", string(rune('0'+v)), filepath.Join(mlpDir, "model_k3.keras"), "model.keras")
		if err := s.Poll(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed during reloads, first: %s", len(failures), answered, failures[0])
	}
	if md := servedVersion(t, hs.URL); !strings.Contains(md, `"versions":["5"]`) {
		t.Fatalf("after reloads: %s", md)
	}
}

// TestBatchingSplitsResults: concurrent requests of different sizes, run
// together by the dynamic batcher, each get their own rows back.
func TestBatchingSplitsResults(t *testing.T) {
	model := filepath.Join(mlpDir, "model_k3.keras")
	_, hs := newTestServer(t, model, Options{Batching: true, Workers: 1, MaxBatchSize: 16})
	x := readNPY(t, filepath.Join(mlpDir, "x.npy"))
	want := predict(t, model, x)[0]
	rows, width := x.Shape[0], x.Shape[1]
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 32; i++ {
		start, n := i%rows, 1+i%3
		if start+n > rows {
			start = rows - n
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			part, _ := kerasrun.NewTensor([]int{n, width}, x.Data[start*width:(start+n)*width])
			code, _, b := post(t, hs.URL+"/v2/models/model_k3/infer", nil, mustJSON(t, map[string]any{"inputs": []any{v2JSON("input_layer", part, "FP32")}}))
			var r v2Response
			if code != 200 || jsonErr(b, &r) != nil {
				errs <- string(b)
				return
			}
			wantRows := want.Data[start*10 : (start+n)*10]
			for k, v := range r.Outputs[0].Data {
				// Predict on a different batch size may round differently
				// in the last bit; mixed-up rows differ by far more.
				if k >= len(wantRows) || math.Abs(float64(v-wantRows[k])) > 1e-6 || len(r.Outputs[0].Data) != len(wantRows) {
					errs <- fmt.Sprintf("rows %d..%d: element %d is %v, want %v", start, start+n, k, v, wantRows[k])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestGRPC calls the OIP v2 gRPC service on 127.0.0.1.
func TestGRPC(t *testing.T) {
	model := filepath.Join(twoIODir, "model_k3.keras")
	s, err := New(model, quietOptions(Options{ModelName: "two_io"}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(s.GRPCOptions()...)
	s.RegisterGRPC(gs)
	go gs.Serve(lis)
	defer gs.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := inferencepb.NewGRPCInferenceServiceClient(conn)
	ctx := context.Background()
	if r, err := c.ServerReady(ctx, &inferencepb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("ServerReady: %v %v", r, err)
	}
	md, err := c.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: "two_io"})
	if err != nil || len(md.Inputs) != 2 || md.Inputs[1].Name != "in_b" {
		t.Fatalf("ModelMetadata: %v %v", md, err)
	}
	cfg, err := c.ModelConfig(ctx, &inferencepb.ModelConfigRequest{Name: "two_io"})
	if err != nil || cfg.Config.MaxBatchSize != 64 || len(cfg.Config.Input) != 2 || cfg.Config.Input[1].DataType != inferencepb.DataType_TYPE_FP32 || len(cfg.Config.Input[1].Dims) != 1 || cfg.Config.Input[1].Dims[0] != 3 {
		t.Fatalf("ModelConfig: %v %v", cfg, err)
	}
	a, b := readNPY(t, filepath.Join(twoIODir, "x0.npy")), readNPY(t, filepath.Join(twoIODir, "x1.npy"))
	want := predict(t, model, a, b)
	// Raw contents for one input, FP64 typed contents for the other.
	fp64 := make([]float64, len(b.Data))
	for i, v := range b.Data {
		fp64[i] = float64(v)
	}
	req := &inferencepb.ModelInferRequest{ModelName: "two_io", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
		{Name: "in_a", Datatype: "FP32", Shape: int64Shape(a.Shape)},
		{Name: "in_b", Datatype: "FP32", Shape: int64Shape(b.Shape)},
	}, RawInputContents: [][]byte{float32Bytes(a.Data), float32Bytes(b.Data)}}
	resp, err := c.ModelInfer(ctx, req)
	if err != nil || len(resp.RawOutputContents) != 2 {
		t.Fatalf("ModelInfer: %v %v", resp, err)
	}
	for k := range want {
		got, _ := decodeBinary("out", "FP32", resp.RawOutputContents[k], len(want[k].Data))
		equalData(t, resp.Outputs[k].Name, got, want[k])
	}
	req.RawInputContents = nil
	req.Inputs[0].Contents = &inferencepb.InferTensorContents{Fp32Contents: a.Data}
	req.Inputs[1].Datatype, req.Inputs[1].Contents = "FP64", &inferencepb.InferTensorContents{Fp64Contents: fp64}
	if resp, err = c.ModelInfer(ctx, req); err != nil {
		t.Fatal(err)
	}
	got, _ := decodeBinary("out", "FP32", resp.RawOutputContents[1], len(want[1].Data))
	equalData(t, "typed contents", got, want[1])

	req.Inputs[1].Shape = []int64{int64(b.Shape[0]), 4}
	if _, err := c.ModelInfer(ctx, req); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("wrong shape: %v", err)
	}
	if _, err := c.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: "nope", Inputs: req.Inputs}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown model: %v", err)
	}
}
