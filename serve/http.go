package serve

import (
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Handler serves every REST endpoint: the Open Inference Protocol v2 under
// /v2, TensorFlow Serving's REST API under /v1 and Prometheus metrics on
// /metrics, each request logged.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.registerV2(mux)
	s.registerTFServing(mux)
	mux.Handle("GET /metrics", s.metrics.handler)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound("no endpoint %s %s (the Open Inference Protocol is under /v2, TensorFlow Serving's REST API under /v1/models)", r.Method, r.URL.Path))
	})
	return s.accessLog(mux)
}

// statusWriter remembers the status and size of a response for the access
// log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.log.Info("http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "bytes", sw.bytes, "took", time.Since(start), "remote", r.RemoteAddr)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// writeError answers {"error": "..."} with the error's status, as both
// protocols do.
func writeError(w http.ResponseWriter, err error) {
	status := errorStatus(err)
	msg := err.Error()
	if status == http.StatusRequestEntityTooLarge {
		msg = "request body too large: " + msg
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// readBody reads a request body of at most MaxRequestBytes, inflating a
// gzip or deflate Content-Encoding within the same bound.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.opts.MaxRequestBytes
	body := io.Reader(http.MaxBytesReader(w, r.Body, limit))
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, badRequest("Content-Encoding gzip: %v", err)
		}
		body = zr
	case "deflate":
		zr, err := zlib.NewReader(body)
		if err != nil {
			return nil, badRequest("Content-Encoding deflate: %v", err)
		}
		body = zr
	default:
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Msg: fmt.Sprintf("Content-Encoding %q is not supported (want gzip or deflate)", enc)}
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		if errorStatus(err) == http.StatusRequestEntityTooLarge {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body above the limit of %d bytes", limit)}
		}
		return nil, badRequest("reading the request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body inflates above the limit of %d bytes", limit)}
	}
	return b, nil
}
