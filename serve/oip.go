package serve

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kerasrun/kerasrun"
)

// oipInput is one input tensor of an Open Inference Protocol request, from
// REST (JSON or binary) or gRPC (typed or raw contents).
type oipInput struct {
	name, datatype string
	shape          []int64
	// decode returns the n elements as float32.
	decode func(n int) ([]float32, error)
	tensor *kerasrun.Tensor // decoded once, reused across a reload retry
}

// oipRequest is an inference request of either OIP transport.
type oipRequest struct {
	model, version, id string
	inputs             []oipInput
	outputs            []string // requested outputs; empty: all, in model order
	timeout            time.Duration
}

// oipInfer runs a request and returns the version that answered, the
// requested output names and their tensors.
func (s *Server) oipInfer(ctx context.Context, protocol string, req *oipRequest) (*modelVersion, []string, []*kerasrun.Tensor, error) {
	var outIdx []int
	var outNames []string
	mv, out, err := s.infer(ctx, protocol, req.model, req.version, req.timeout, func(mv *modelVersion) ([]*kerasrun.Tensor, error) {
		xs := make([]*kerasrun.Tensor, len(mv.inputs))
		for i := range req.inputs {
			in := &req.inputs[i]
			k := mv.inputIndex(in.name)
			if k < 0 {
				return nil, badRequest("model %q has no input %q (inputs: %s)", mv.name, in.name, strings.Join(mv.inputNames(), ", "))
			}
			if xs[k] != nil {
				return nil, badRequest("input %q is given twice", in.name)
			}
			if in.tensor == nil {
				t, err := in.toTensor(s.opts.MaxRequestBytes)
				if err != nil {
					return nil, err
				}
				in.tensor = t
			}
			xs[k] = in.tensor
		}
		for k, x := range xs {
			if x == nil {
				return nil, badRequest("model %q: input %q is missing (inputs: %s)", mv.name, mv.inputs[k].Name, strings.Join(mv.inputNames(), ", "))
			}
		}
		outIdx, outNames = outIdx[:0], outNames[:0]
		if len(req.outputs) == 0 {
			for k, o := range mv.outputs {
				outIdx, outNames = append(outIdx, k), append(outNames, o.Name)
			}
		}
		for _, name := range req.outputs {
			k := -1
			for j, o := range mv.outputs {
				if o.Name == name {
					k = j
				}
			}
			if k < 0 {
				return nil, badRequest("model %q has no output %q (outputs: %s)", mv.name, name, strings.Join(mv.outputNames(), ", "))
			}
			outIdx, outNames = append(outIdx, k), append(outNames, name)
		}
		return xs, nil
	})
	if err != nil {
		return mv, nil, nil, err
	}
	sel := make([]*kerasrun.Tensor, len(outIdx))
	for i, k := range outIdx {
		sel[i] = out[k]
	}
	return mv, outNames, sel, nil
}

func (in *oipInput) toTensor(limit int64) (*kerasrun.Tensor, error) {
	if len(in.shape) == 0 {
		return nil, badRequest("input %q has no shape", in.name)
	}
	if err := checkDatatype(in.name, in.datatype); err != nil {
		return nil, err
	}
	n, err := elementCount(in.name, in.shape, limit)
	if err != nil {
		return nil, err
	}
	data, err := in.decode(n)
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(in.shape))
	for i, d := range in.shape {
		shape[i] = int(d)
	}
	t, err := kerasrun.NewTensor(shape, data)
	if err != nil {
		return nil, badRequest("input %q: %v", in.name, err)
	}
	return t, nil
}

// serverMetadata is the OIP server metadata.
type serverMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// ServerName and ServerVersion are what the metadata endpoints report.
const (
	ServerName    = "kerasrun"
	ServerVersion = "0.1.0"
	// Platform is the platform the model metadata reports.
	Platform = "keras"
)

func (s *Server) serverMetadata() serverMetadata {
	return serverMetadata{Name: ServerName, Version: ServerVersion, Extensions: []string{"binary_tensor_data", "model_configuration"}}
}

// tensorMetadata describes one input or output.
type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

type modelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions"`
	Platform string           `json:"platform"`
	Inputs   []tensorMetadata `json:"inputs"`
	Outputs  []tensorMetadata `json:"outputs"`
}

func (s *Server) modelMetadata(name, version string) (modelMetadata, error) {
	mv, err := s.repo.get(name, version)
	if err != nil {
		return modelMetadata{}, err
	}
	md := modelMetadata{Name: mv.name, Platform: Platform}
	if version == "" {
		for _, v := range s.repo.versionsOf(name) {
			md.Versions = append(md.Versions, fmt.Sprint(v))
		}
	} else {
		md.Versions = []string{mv.versionLabel()}
	}
	for _, in := range mv.inputs {
		md.Inputs = append(md.Inputs, tensorMetadata{in.Name, modelDatatype, int64Shape(in.Shape)})
	}
	for _, o := range mv.outputs {
		md.Outputs = append(md.Outputs, tensorMetadata{o.Name, modelDatatype, int64Shape(o.Shape)})
	}
	return md, nil
}

// modelConfig is the part of Triton's model configuration that clients
// such as perf_analyzer read: batching and the per-row input and output
// dimensions.
type modelConfig struct {
	Name            string         `json:"name"`
	Platform        string         `json:"platform"`
	Backend         string         `json:"backend"`
	MaxBatchSize    int            `json:"max_batch_size"`
	Input           []configTensor `json:"input"`
	Output          []configTensor `json:"output"`
	DynamicBatching *struct{}      `json:"dynamic_batching,omitempty"`
}

type configTensor struct {
	Name     string  `json:"name"`
	DataType string  `json:"data_type"`
	Dims     []int64 `json:"dims"`
}

func (s *Server) modelConfig(name, version string) (modelConfig, error) {
	mv, err := s.repo.get(name, version)
	if err != nil {
		return modelConfig{}, err
	}
	c := modelConfig{Name: mv.name, Platform: Platform, Backend: ServerName, MaxBatchSize: s.opts.MaxBatchSize}
	if s.opts.Batching {
		c.DynamicBatching = &struct{}{}
	}
	for _, in := range mv.inputs {
		c.Input = append(c.Input, configTensor{in.Name, "TYPE_" + modelDatatype, int64Shape(in.Shape[1:])})
	}
	for _, o := range mv.outputs {
		c.Output = append(c.Output, configTensor{o.Name, "TYPE_" + modelDatatype, int64Shape(o.Shape[1:])})
	}
	return c, nil
}

// modelReady reports whether a model (version "" : any version) serves.
func (s *Server) modelReady(name, version string) (bool, error) {
	_, err := s.repo.get(name, version)
	if err != nil {
		return false, err
	}
	return true, nil
}
