package serve

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/kerasrun/kerasrun/serve/inferencepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RegisterGRPC adds the Open Inference Protocol v2 gRPC service
// (inference.GRPCInferenceService) to a gRPC server. Create the server
// with GRPCOptions to get the request size limit and access logs.
func (s *Server) RegisterGRPC(g grpc.ServiceRegistrar) {
	inferencepb.RegisterGRPCInferenceServiceServer(g, &grpcService{s: s})
}

// GRPCOptions are the gRPC server options matching the server's Options:
// the largest message MaxRequestBytes, each call logged.
func (s *Server) GRPCOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(min(s.opts.MaxRequestBytes, math.MaxInt32))),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			start := time.Now()
			resp, err := handler(ctx, req)
			s.log.Info("grpc", "method", info.FullMethod, "code", status.Code(err).String(), "took", time.Since(start))
			return resp, err
		}),
	}
}

type grpcService struct {
	inferencepb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

// grpcError maps an error's HTTP status to its gRPC code.
func grpcError(err error) error {
	code := codes.Internal
	switch errorStatus(err) {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		code = codes.InvalidArgument
	case http.StatusNotFound:
		code = codes.NotFound
	case http.StatusTooManyRequests:
		code = codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		code = codes.Unavailable
	case http.StatusGatewayTimeout:
		code = codes.DeadlineExceeded
	case http.StatusNotImplemented:
		code = codes.Unimplemented
	case 499:
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

func (g *grpcService) ServerLive(context.Context, *inferencepb.ServerLiveRequest) (*inferencepb.ServerLiveResponse, error) {
	return &inferencepb.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *inferencepb.ServerReadyRequest) (*inferencepb.ServerReadyResponse, error) {
	return &inferencepb.ServerReadyResponse{Ready: g.s.Ready()}, nil
}

func (g *grpcService) ModelReady(_ context.Context, r *inferencepb.ModelReadyRequest) (*inferencepb.ModelReadyResponse, error) {
	ready, err := g.s.modelReady(r.Name, r.Version)
	if err != nil {
		return nil, grpcError(err)
	}
	return &inferencepb.ModelReadyResponse{Ready: ready}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *inferencepb.ServerMetadataRequest) (*inferencepb.ServerMetadataResponse, error) {
	md := g.s.serverMetadata()
	return &inferencepb.ServerMetadataResponse{Name: md.Name, Version: md.Version, Extensions: md.Extensions}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, r *inferencepb.ModelMetadataRequest) (*inferencepb.ModelMetadataResponse, error) {
	md, err := g.s.modelMetadata(r.Name, r.Version)
	if err != nil {
		return nil, grpcError(err)
	}
	tensors := func(ts []tensorMetadata) []*inferencepb.ModelMetadataResponse_TensorMetadata {
		var out []*inferencepb.ModelMetadataResponse_TensorMetadata
		for _, t := range ts {
			out = append(out, &inferencepb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
		}
		return out
	}
	return &inferencepb.ModelMetadataResponse{Name: md.Name, Versions: md.Versions, Platform: md.Platform, Inputs: tensors(md.Inputs), Outputs: tensors(md.Outputs)}, nil
}

func (g *grpcService) ModelInfer(ctx context.Context, r *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	req, err := grpcRequest(r)
	if err != nil {
		g.s.metrics.failure("", "", protoV2GRPC, err)
		return nil, grpcError(err)
	}
	mv, names, out, err := g.s.oipInfer(ctx, protoV2GRPC, req)
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &inferencepb.ModelInferResponse{ModelName: mv.name, ModelVersion: mv.versionLabel(), Id: r.Id}
	for i, y := range out {
		resp.Outputs = append(resp.Outputs, &inferencepb.ModelInferResponse_InferOutputTensor{Name: names[i], Datatype: modelDatatype, Shape: int64Shape(y.Shape)})
		resp.RawOutputContents = append(resp.RawOutputContents, float32Bytes(y.Data))
	}
	return resp, nil
}

// grpcRequest reads a ModelInferRequest: raw_input_contents (one entry
// per input, as Triton's clients send) or typed contents.
func grpcRequest(r *inferencepb.ModelInferRequest) (*oipRequest, error) {
	req := &oipRequest{model: r.ModelName, version: r.ModelVersion, id: r.Id}
	if p := r.Parameters["timeout"]; p != nil {
		if us := p.GetInt64Param(); us > 0 {
			req.timeout = time.Duration(us) * time.Microsecond
		}
	}
	for _, name := range unsupportedParams {
		if r.Parameters[name] != nil {
			return nil, badRequest("request: parameter %q is not supported by kerasrun serve", name)
		}
	}
	if len(r.Inputs) == 0 {
		return nil, badRequest("the request has no inputs")
	}
	raw := r.RawInputContents
	if len(raw) > 0 && len(raw) != len(r.Inputs) {
		return nil, badRequest("raw_input_contents has %d entries for %d inputs", len(raw), len(r.Inputs))
	}
	for i, in := range r.Inputs {
		oi := oipInput{name: in.Name, datatype: in.Datatype, shape: in.Shape}
		for _, name := range unsupportedParams {
			if in.Parameters[name] != nil {
				return nil, badRequest("input %q: parameter %q is not supported by kerasrun serve", in.Name, name)
			}
		}
		switch {
		case len(raw) > 0:
			if in.Contents != nil {
				return nil, badRequest("input %q has both contents and raw_input_contents", in.Name)
			}
			b := raw[i]
			oi.decode = func(n int) ([]float32, error) { return decodeBinary(oi.name, oi.datatype, b, n) }
		case in.Contents != nil:
			c := in.Contents
			oi.decode = func(n int) ([]float32, error) { return decodeContents(oi.name, oi.datatype, c, n) }
		default:
			return nil, badRequest("input %q has neither contents nor raw_input_contents", in.Name)
		}
		req.inputs = append(req.inputs, oi)
	}
	for _, o := range r.Outputs {
		for _, name := range unsupportedParams {
			if o.Parameters[name] != nil {
				return nil, badRequest("output %q: parameter %q is not supported by kerasrun serve", o.Name, name)
			}
		}
		req.outputs = append(req.outputs, o.Name)
	}
	return req, nil
}

// decodeContents converts typed tensor contents, found in the field of the
// input's datatype, to float32.
func decodeContents(input, dt string, c *inferencepb.InferTensorContents, n int) ([]float32, error) {
	out := make([]float32, 0, n)
	var got int
	switch dt {
	case "FP32":
		got, out = len(c.Fp32Contents), append(out, c.Fp32Contents...)
	case "FP64":
		got = len(c.Fp64Contents)
		for _, v := range c.Fp64Contents {
			out = append(out, float32(v))
		}
	case "INT8", "INT16", "INT32":
		got = len(c.IntContents)
		for _, v := range c.IntContents {
			out = append(out, float32(v))
		}
	case "INT64":
		got = len(c.Int64Contents)
		for _, v := range c.Int64Contents {
			out = append(out, float32(v))
		}
	case "UINT8", "UINT16", "UINT32":
		got = len(c.UintContents)
		for _, v := range c.UintContents {
			out = append(out, float32(v))
		}
	case "UINT64":
		got = len(c.Uint64Contents)
		for _, v := range c.Uint64Contents {
			out = append(out, float32(v))
		}
	case "BOOL":
		got = len(c.BoolContents)
		for _, v := range c.BoolContents {
			out = append(out, map[bool]float32{false: 0, true: 1}[v])
		}
	case "FP16":
		return nil, badRequest("input %q: FP16 has no typed contents field; send it in raw_input_contents", input)
	default:
		return nil, checkDatatype(input, dt)
	}
	if got != n {
		return nil, badRequest("input %q: contents hold %d %s elements, its shape holds %d", input, got, dt, n)
	}
	return out, checkFinite(input, out)
}

// ModelConfig answers Triton's model configuration RPC with the same
// content as GET /v2/models/NAME/config.
func (g *grpcService) ModelConfig(_ context.Context, r *inferencepb.ModelConfigRequest) (*inferencepb.ModelConfigResponse, error) {
	c, err := g.s.modelConfig(r.Name, r.Version)
	if err != nil {
		return nil, grpcError(err)
	}
	cfg := &inferencepb.ModelConfig{Name: c.Name, Platform: c.Platform, Backend: c.Backend, MaxBatchSize: int32(c.MaxBatchSize)}
	dt := inferencepb.DataType(inferencepb.DataType_value["TYPE_"+modelDatatype])
	for _, in := range c.Input {
		cfg.Input = append(cfg.Input, &inferencepb.ModelInput{Name: in.Name, DataType: dt, Dims: in.Dims})
	}
	for _, o := range c.Output {
		cfg.Output = append(cfg.Output, &inferencepb.ModelOutput{Name: o.Name, DataType: dt, Dims: o.Dims})
	}
	if c.DynamicBatching != nil {
		cfg.DynamicBatching = &inferencepb.ModelDynamicBatching{}
	}
	return &inferencepb.ModelConfigResponse{Config: cfg}, nil
}
