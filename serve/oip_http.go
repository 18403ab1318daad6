package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// registerV2 mounts the Open Inference Protocol v2 REST endpoints (KServe's
// and Triton's HTTP API) with the binary tensor extension.
func (s *Server) registerV2(mux *http.ServeMux) {
	mux.HandleFunc("GET /v2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.serverMetadata())
	})
	mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /v2/health/ready", func(w http.ResponseWriter, r *http.Request) {
		if !s.Ready() {
			writeError(w, &Error{Status: http.StatusServiceUnavailable, Msg: "not ready"})
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	for _, prefix := range []string{"/v2/models/{model}", "/v2/models/{model}/versions/{version}"} {
		mux.HandleFunc("GET "+prefix, func(w http.ResponseWriter, r *http.Request) {
			md, err := s.modelMetadata(r.PathValue("model"), r.PathValue("version"))
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, md)
		})
		mux.HandleFunc("GET "+prefix+"/ready", func(w http.ResponseWriter, r *http.Request) {
			ready, err := s.modelReady(r.PathValue("model"), r.PathValue("version"))
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"name": r.PathValue("model"), "ready": ready})
		})
		mux.HandleFunc("GET "+prefix+"/config", func(w http.ResponseWriter, r *http.Request) {
			c, err := s.modelConfig(r.PathValue("model"), r.PathValue("version"))
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, c)
		})
		mux.HandleFunc("POST "+prefix+"/infer", s.handleV2Infer)
	}
}

// The JSON of an inference request and response. Parameters stay raw: each
// is read with the type its name implies.
type (
	v2InferRequest struct {
		ID         string              `json:"id,omitempty"`
		Parameters v2Params            `json:"parameters,omitempty"`
		Inputs     []v2InputTensor     `json:"inputs"`
		Outputs    []v2RequestedOutput `json:"outputs,omitempty"`
	}
	v2InputTensor struct {
		Name       string          `json:"name"`
		Shape      []int64         `json:"shape"`
		Datatype   string          `json:"datatype"`
		Parameters v2Params        `json:"parameters,omitempty"`
		Data       json.RawMessage `json:"data,omitempty"`
	}
	v2RequestedOutput struct {
		Name       string   `json:"name"`
		Parameters v2Params `json:"parameters,omitempty"`
	}
	v2InferResponse struct {
		ModelName    string           `json:"model_name"`
		ModelVersion string           `json:"model_version"`
		ID           string           `json:"id,omitempty"`
		Outputs      []v2OutputTensor `json:"outputs"`
	}
	v2OutputTensor struct {
		Name       string          `json:"name"`
		Datatype   string          `json:"datatype"`
		Shape      []int64         `json:"shape"`
		Parameters map[string]any  `json:"parameters,omitempty"`
		Data       json.RawMessage `json:"data,omitempty"`
	}
	v2Params map[string]json.RawMessage
)

func (p v2Params) bool(name string) (bool, error) {
	raw, ok := p[name]
	if !ok {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, badRequest("parameter %q is %s, want true or false", name, raw)
	}
	return b, nil
}

func (p v2Params) int(name string) (int64, bool, error) {
	raw, ok := p[name]
	if !ok {
		return 0, false, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
		return 0, false, badRequest("parameter %q is %s, want an integer >= 0", name, raw)
	}
	return n, true, nil
}

// unsupportedParams are Triton parameters this server refuses rather than
// silently ignores.
var unsupportedParams = []string{"shared_memory_region", "classification"}

func (p v2Params) refuseUnsupported(where string) error {
	for _, name := range unsupportedParams {
		if _, ok := p[name]; ok {
			return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf("%s: parameter %q is not supported by kerasrun serve", where, name)}
		}
	}
	return nil
}

const headerLengthKey = "Inference-Header-Content-Length"

func (s *Server) handleV2Infer(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.metrics.failure("", "", protoV2HTTP, err)
		writeError(w, err)
		return
	}
	req, binaryOut, err := s.parseV2Infer(r, body)
	if err != nil {
		s.metrics.failure("", "", protoV2HTTP, err)
		writeError(w, err)
		return
	}
	mv, names, out, err := s.oipInfer(r.Context(), protoV2HTTP, req)
	if err != nil {
		writeError(w, err)
		return
	}
	resp := v2InferResponse{ModelName: mv.name, ModelVersion: mv.versionLabel(), ID: req.id}
	var blobs [][]byte
	for i, y := range out {
		o := v2OutputTensor{Name: names[i], Datatype: modelDatatype, Shape: int64Shape(y.Shape)}
		if binaryOut[names[i]] {
			b := float32Bytes(y.Data)
			o.Parameters = map[string]any{"binary_data_size": len(b)}
			blobs = append(blobs, b)
		} else {
			o.Data = appendJSONFloats(nil, y.Data)
		}
		resp.Outputs = append(resp.Outputs, o)
	}
	head, err := json.Marshal(resp)
	if err != nil {
		writeError(w, err)
		return
	}
	if len(blobs) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Write(head)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(headerLengthKey, strconv.Itoa(len(head)))
	size := len(head)
	for _, b := range blobs {
		size += len(b)
	}
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.Write(head)
	for _, b := range blobs {
		w.Write(b)
	}
}

// parseV2Infer reads a JSON request, or a JSON header followed by binary
// tensors when Inference-Header-Content-Length is set. It returns the
// request and which outputs to send as binary.
func (s *Server) parseV2Infer(r *http.Request, body []byte) (*oipRequest, map[string]bool, error) {
	head, rest := body, []byte(nil)
	if h := r.Header.Get(headerLengthKey); h != "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n < 0 || n > int64(len(body)) {
			return nil, nil, badRequest("%s is %q; the body has %d bytes", headerLengthKey, h, len(body))
		}
		head, rest = body[:n], body[n:]
	}
	var jr v2InferRequest
	if err := json.Unmarshal(head, &jr); err != nil {
		return nil, nil, badRequest("malformed inference request JSON: %v", err)
	}
	if err := jr.Parameters.refuseUnsupported("request"); err != nil {
		return nil, nil, err
	}
	req := &oipRequest{model: r.PathValue("model"), version: r.PathValue("version"), id: jr.ID}
	if us, ok, err := jr.Parameters.int("timeout"); err != nil {
		return nil, nil, err
	} else if ok && us > 0 {
		req.timeout = time.Duration(us) * time.Microsecond
	}
	if len(jr.Inputs) == 0 {
		return nil, nil, badRequest("the request has no inputs")
	}
	for _, in := range jr.Inputs {
		if err := in.Parameters.refuseUnsupported(fmt.Sprintf("input %q", in.Name)); err != nil {
			return nil, nil, err
		}
		size, isBinary, err := in.Parameters.int("binary_data_size")
		if err != nil {
			return nil, nil, err
		}
		oi := oipInput{name: in.Name, datatype: in.Datatype, shape: in.Shape}
		switch {
		case isBinary:
			if size > int64(len(rest)) {
				return nil, nil, badRequest("input %q: binary_data_size %d, but only %d bytes of binary data follow", in.Name, size, len(rest))
			}
			raw := rest[:size]
			rest = rest[size:]
			oi.decode = func(n int) ([]float32, error) { return decodeBinary(oi.name, oi.datatype, raw, n) }
		case len(in.Data) == 0:
			return nil, nil, badRequest("input %q has neither data nor binary_data_size", in.Name)
		default:
			data := in.Data
			oi.decode = func(n int) ([]float32, error) { return decodeJSONData(oi.name, oi.datatype, data, n) }
		}
		req.inputs = append(req.inputs, oi)
	}
	if len(rest) != 0 {
		return nil, nil, badRequest("%d bytes of binary data follow the inputs' binary_data_size", len(rest))
	}
	allBinary, err := jr.Parameters.bool("binary_data_output")
	if err != nil {
		return nil, nil, err
	}
	binaryOut := map[string]bool{}
	for _, o := range jr.Outputs {
		if err := o.Parameters.refuseUnsupported(fmt.Sprintf("output %q", o.Name)); err != nil {
			return nil, nil, err
		}
		b, err := o.Parameters.bool("binary_data")
		if err != nil {
			return nil, nil, err
		}
		if _, ok := o.Parameters["binary_data"]; !ok {
			b = allBinary
		}
		binaryOut[o.Name] = b
		req.outputs = append(req.outputs, o.Name)
	}
	if len(jr.Outputs) == 0 && allBinary {
		s.markAllBinary(req, binaryOut)
	}
	return req, binaryOut, nil
}

// markAllBinary asks for every output of the model in binary, for a
// request that names no outputs but sets binary_data_output.
func (s *Server) markAllBinary(req *oipRequest, binaryOut map[string]bool) {
	mv, err := s.repo.get(req.model, req.version)
	if err != nil {
		return // infer reports the unknown model
	}
	for _, name := range mv.outputNames() {
		binaryOut[name] = true
	}
}
