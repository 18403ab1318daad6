package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/kerasrun/kerasrun"
)

func nan64() float64         { return math.NaN() }
func inf64(sign int) float64 { return math.Inf(sign) }

// registerTFServing mounts TensorFlow Serving's REST API v1: model status,
// metadata and :predict in the row ("instances") and columnar ("inputs")
// formats. Inputs are named by the model's Keras Input names.
func (s *Server) registerTFServing(mux *http.ServeMux) {
	for _, prefix := range []string{"/v1/models/{model}", "/v1/models/{model}/versions/{version}", "/v1/models/{model}/labels/{label}"} {
		mux.HandleFunc("GET "+prefix, func(w http.ResponseWriter, r *http.Request) { s.tfsGet(w, r, false) })
		mux.HandleFunc("GET "+prefix+"/metadata", func(w http.ResponseWriter, r *http.Request) { s.tfsGet(w, r, true) })
		mux.HandleFunc("POST "+prefix, s.tfsPost)
	}
}

// tfsTarget reads model, version and method (":predict") from the path.
// TensorFlow Serving's labels ("stable", "canary") come from its model
// config, which this server has no counterpart for.
func tfsTarget(r *http.Request) (model, version, method string, err error) {
	model, version = r.PathValue("model"), r.PathValue("version")
	last := &model
	if version != "" {
		last = &version
	}
	if label := r.PathValue("label"); label != "" {
		last = &label
		defer func() {
			if err == nil {
				err = notFound("model %q: no version label %q (kerasrun serve assigns no labels; use /versions/N)", model, strings.TrimSuffix(label, method))
			}
		}()
	}
	if i := strings.LastIndexByte(*last, ':'); i >= 0 {
		*last, method = (*last)[:i], (*last)[i:]
	}
	return model, version, method, nil
}

func (s *Server) tfsGet(w http.ResponseWriter, r *http.Request, metadata bool) {
	model, version, _, err := tfsTarget(r)
	if err != nil {
		writeError(w, err)
		return
	}
	mv, err := s.repo.get(model, version)
	if err != nil {
		writeError(w, err)
		return
	}
	if !metadata {
		var status []any
		versions := []int64{mv.version}
		if version == "" {
			versions = s.repo.versionsOf(model)
		}
		for _, v := range versions {
			status = append(status, map[string]any{
				"version": fmt.Sprint(v), "state": "AVAILABLE",
				"status": map[string]string{"error_code": "OK", "error_message": ""},
			})
		}
		writeJSON(w, http.StatusOK, map[string]any{"model_version_status": status})
		return
	}
	sig := func(infos []kerasrun.TensorInfo) map[string]any {
		out := map[string]any{}
		for _, t := range infos {
			var dims []any
			for _, d := range t.Shape {
				dims = append(dims, map[string]string{"size": fmt.Sprint(d), "name": ""})
			}
			out[t.Name] = map[string]any{
				"dtype": "DT_FLOAT", "name": t.Name,
				"tensor_shape": map[string]any{"dim": dims, "unknown_rank": false},
			}
		}
		return out
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"model_spec": map[string]string{"name": mv.name, "signature_name": "", "version": mv.versionLabel()},
		"metadata": map[string]any{"signature_def": map[string]any{"signature_def": map[string]any{
			"serving_default": map[string]any{
				"inputs": sig(mv.inputs), "outputs": sig(mv.outputs), "method_name": "tensorflow/serving/predict",
			},
		}}},
	})
}

func (s *Server) tfsPost(w http.ResponseWriter, r *http.Request) {
	model, version, method, err := tfsTarget(r)
	if err == nil && method != ":predict" {
		switch method {
		case ":classify", ":regress":
			err = &Error{Status: http.StatusNotImplemented, Msg: fmt.Sprintf("%s is not supported: kerasrun serves Keras models through :predict only", method)}
		default:
			err = notFound("unknown method %q: want POST /v1/models/NAME[/versions/N]:predict", method)
		}
	}
	var body []byte
	if err == nil {
		body, err = s.readBody(w, r)
	}
	var req any
	if err == nil {
		req, err = parseLenientJSON(body)
	}
	obj, ok := req.(*jsonObject)
	if err == nil && !ok {
		err = badRequest("the predict request must be a JSON object with \"instances\" or \"inputs\"")
	}
	if err != nil {
		s.metrics.failure("", "", protoTFS, err)
		writeError(w, err)
		return
	}
	instances, rowFormat := obj.values["instances"]
	columns, colFormat := obj.values["inputs"]
	if sig, ok := obj.values["signature_name"]; ok && sig != "serving_default" && sig != "" {
		err = badRequest("signature_name %v: the model has one signature, serving_default", sig)
	}
	switch {
	case rowFormat && colFormat:
		err = badRequest("the request has both \"instances\" and \"inputs\"; send one")
	case !rowFormat && !colFormat:
		err = badRequest("the request has neither \"instances\" (row format) nor \"inputs\" (columnar format)")
	}
	if err != nil {
		s.metrics.failure("", "", protoTFS, err)
		writeError(w, err)
		return
	}
	mv, out, err := s.infer(r.Context(), protoTFS, model, version, 0, func(mv *modelVersion) ([]*kerasrun.Tensor, error) {
		if rowFormat {
			return tfsRows(mv, instances, s.opts.MaxRequestBytes)
		}
		return tfsColumns(mv, columns, s.opts.MaxRequestBytes)
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(tfsResponse(mv, out, rowFormat))
}

// tfsRows stacks the row format's instances: one value per row for a
// one-input model, an object keyed by input name otherwise.
func tfsRows(mv *modelVersion, instances any, limit int64) ([]*kerasrun.Tensor, error) {
	rows, ok := instances.([]any)
	if !ok || len(rows) == 0 {
		return nil, badRequest("\"instances\" must be a non-empty list of rows")
	}
	perInput := make([][]any, len(mv.inputs))
	for r, row := range rows {
		obj, named := row.(*jsonObject)
		if named && isB64(obj) {
			named = false
		}
		if !named {
			if len(mv.inputs) != 1 {
				return nil, badRequest("instance %d: model %q takes inputs %v: each instance must be an object keyed by input name", r, mv.name, mv.inputNames())
			}
			perInput[0] = append(perInput[0], row)
			continue
		}
		if err := checkInputKeys(mv, obj, fmt.Sprintf("instance %d", r)); err != nil {
			return nil, err
		}
		for i, in := range mv.inputs {
			perInput[i] = append(perInput[i], obj.values[in.Name])
		}
	}
	xs := make([]*kerasrun.Tensor, len(mv.inputs))
	for i, in := range mv.inputs {
		x, err := tensorFromJSON(in.Name, perInput[i], limit)
		if err != nil {
			return nil, err
		}
		xs[i] = x
	}
	return xs, nil
}

// tfsColumns reads the columnar format: the batch tensor itself for a
// one-input model, or an object of batch tensors keyed by input name.
func tfsColumns(mv *modelVersion, inputs any, limit int64) ([]*kerasrun.Tensor, error) {
	obj, named := inputs.(*jsonObject)
	if named && isB64(obj) {
		named = false
	}
	if !named {
		if len(mv.inputs) != 1 {
			return nil, badRequest("model %q takes inputs %v: \"inputs\" must be an object keyed by input name", mv.name, mv.inputNames())
		}
		x, err := tensorFromJSON(mv.inputs[0].Name, inputs, limit)
		return []*kerasrun.Tensor{x}, err
	}
	if err := checkInputKeys(mv, obj, "\"inputs\""); err != nil {
		return nil, err
	}
	xs := make([]*kerasrun.Tensor, len(mv.inputs))
	for i, in := range mv.inputs {
		x, err := tensorFromJSON(in.Name, obj.values[in.Name], limit)
		if err != nil {
			return nil, err
		}
		xs[i] = x
	}
	return xs, nil
}

func isB64(obj *jsonObject) bool {
	_, ok := obj.values["b64"]
	return ok && len(obj.keys) == 1
}

func checkInputKeys(mv *modelVersion, obj *jsonObject, where string) error {
	for _, k := range obj.keys {
		if mv.inputIndex(k) < 0 {
			return badRequest("%s: model %q has no input %q (inputs: %s)", where, mv.name, k, strings.Join(mv.inputNames(), ", "))
		}
	}
	for _, in := range mv.inputs {
		if _, ok := obj.values[in.Name]; !ok {
			return badRequest("%s: input %q is missing (inputs: %s)", where, in.Name, strings.Join(mv.inputNames(), ", "))
		}
	}
	return nil
}

// tensorFromJSON turns a nested list of numbers into a tensor, checking
// that it is rectangular.
func tensorFromJSON(input string, v any, limit int64) (*kerasrun.Tensor, error) {
	var shape []int
	for x := v; ; {
		l, ok := x.([]any)
		if !ok {
			break
		}
		shape = append(shape, len(l))
		if len(l) == 0 {
			break
		}
		x = l[0]
	}
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
		if n > limit {
			return nil, badRequest("input %q holds more than %d values", input, limit)
		}
	}
	data := make([]float32, 0, n)
	var walk func(x any, depth int) error
	walk = func(x any, depth int) error {
		if depth < len(shape) {
			l, ok := x.([]any)
			if !ok || len(l) != shape[depth] {
				return badRequest("input %q is not a rectangular list: shape %v, a list at depth %d differs", input, shape, depth)
			}
			for _, e := range l {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		switch e := x.(type) {
		case float64:
			if math.IsNaN(e) || math.IsInf(e, 0) {
				return badRequest("input %q: value %v at element %d; the model takes finite numbers", input, e, len(data))
			}
			data = append(data, float32(e))
		case bool:
			data = append(data, map[bool]float32{false: 0, true: 1}[e])
		case *jsonObject:
			if isB64(e) {
				return badRequest("input %q: {\"b64\": ...} carries a string (DT_STRING) tensor; the model's input is DT_FLOAT", input)
			}
			return badRequest("input %q: an object where a number belongs", input)
		case string:
			return badRequest("input %q: string %q where a number belongs (the model's input is DT_FLOAT)", input, e)
		default:
			return badRequest("input %q: %v where a number belongs", input, e)
		}
		return nil
	}
	if err := walk(v, 0); err != nil {
		return nil, err
	}
	t, err := kerasrun.NewTensor(shape, data)
	if err != nil {
		return nil, badRequest("input %q: %v", input, err)
	}
	return t, nil
}

// tfsResponse writes "predictions" (row format: one entry per row, an
// object keyed by output name when there are several outputs) or
// "outputs" (columnar format).
func tfsResponse(mv *modelVersion, out []*kerasrun.Tensor, rowFormat bool) []byte {
	names := mv.outputNames()
	var b []byte
	if !rowFormat {
		b = append(b, `{"outputs":`...)
		if len(out) == 1 {
			b = appendNested(b, out[0].Shape, out[0].Data)
		} else {
			b = append(b, '{')
			for i, y := range out {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendQuoted(b, names[i])
				b = append(b, ':')
				b = appendNested(b, y.Shape, y.Data)
			}
			b = append(b, '}')
		}
		return append(b, '}')
	}
	b = append(b, `{"predictions":[`...)
	rows := out[0].Shape[0]
	for r := 0; r < rows; r++ {
		if r > 0 {
			b = append(b, ',')
		}
		if len(out) == 1 {
			b = appendRow(b, out[0], r)
			continue
		}
		b = append(b, '{')
		for i, y := range out {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, names[i])
			b = append(b, ':')
			b = appendRow(b, y, r)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func appendRow(b []byte, y *kerasrun.Tensor, r int) []byte {
	n := len(y.Data) / y.Shape[0]
	return appendNested(b, y.Shape[1:], y.Data[r*n:(r+1)*n])
}

// appendNested writes data as nested JSON lists of the given shape.
func appendNested(b []byte, shape []int, data []float32) []byte {
	if len(shape) == 0 {
		return appendJSONFloat(b, data[0])
	}
	if len(shape) == 1 {
		return appendJSONFloats(b, data)
	}
	b = append(b, '[')
	n := 0
	if shape[0] > 0 {
		n = len(data) / shape[0]
	}
	for i := 0; i < shape[0]; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNested(b, shape[1:], data[i*n:(i+1)*n])
	}
	return append(b, ']')
}

func appendQuoted(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}
