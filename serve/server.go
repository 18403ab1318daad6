// Package serve serves Keras models over the protocols inference clients
// already speak: the Open Inference Protocol v2 (KServe, Triton) over REST
// and gRPC, and TensorFlow Serving's REST API v1, from one model file or a
// repository of models and versions, with dynamic batching, Prometheus
// metrics and hot reloads.
//
//	s, err := serve.New("models/", serve.Options{Batching: true})
//	defer s.Close()
//	http.ListenAndServe(":8080", s.Handler())
//
// A service that has its own mux mounts s.Handler() there; its own gRPC
// server takes s.RegisterGRPC. The package uses only kerasrun's public API
// (Load, Model.Predict, Inputs, Outputs).
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	goruntime "runtime"
	"time"

	"github.com/kerasrun/kerasrun"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Server. The zero value serves without batching, with
// the defaults documented on each field.
type Options struct {
	// ModelName names the model when the source is a single file (default:
	// the file name without its extension).
	ModelName string
	// Weights is the weights file of a single model JSON source.
	Weights string
	// VersionPolicy chooses which versions of each model serve (default:
	// the latest one).
	VersionPolicy VersionPolicy
	// PollInterval is how often the source is checked for new, changed or
	// removed versions; 0 loads once.
	PollInterval time.Duration

	// MaxBatchSize is the most rows one request may carry and the most
	// rows a dynamic batch gathers (default 64).
	MaxBatchSize int
	// Batching turns on the dynamic batcher: queued requests to a model
	// version run together, up to MaxBatchSize rows.
	Batching bool
	// BatchTimeout is how long a batch waits for more requests once its
	// first one has a worker (0: only what is already queued).
	BatchTimeout time.Duration
	// MaxQueue bounds each model version's queue; a request finding it full
	// is refused with 429 (default 256).
	MaxQueue int
	// Workers is how many batches run at once across all models (default
	// GOMAXPROCS).
	Workers int
	// RequestTimeout bounds a request's time in the queue and in the model
	// (default 30s); a request may ask for less (Triton's "timeout"
	// parameter, microseconds).
	RequestTimeout time.Duration
	// MaxRequestBytes bounds a request body (default 64 MiB); larger ones
	// get 413.
	MaxRequestBytes int64

	// Logger receives access and load logs (default slog.Default()).
	Logger *slog.Logger
	// Registerer receives the Prometheus metrics; nil gives the server a
	// registry of its own, served on /metrics.
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() {
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = 64
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 256
	}
	if o.Workers <= 0 {
		o.Workers = goruntime.GOMAXPROCS(0)
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Server serves the models of one source. It is safe for concurrent use.
type Server struct {
	opts    Options
	repo    *repository
	metrics *metrics
	log     *slog.Logger
	workers chan struct{}
	stop    chan struct{}
	polled  chan struct{}
}

// New loads the models of source, a model file (.keras, .h5, model JSON) or
// a repository directory NAME/VERSION/model.{keras,h5,json}, and starts
// polling it when opts.PollInterval is set. Every model must load.
func New(source string, opts Options) (*Server, error) {
	opts.setDefaults()
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		workers: make(chan struct{}, opts.Workers),
		stop:    make(chan struct{}),
		polled:  make(chan struct{}),
	}
	var err error
	if s.metrics, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	if s.repo, err = newRepository(source, s); err != nil {
		return nil, err
	}
	if err := s.repo.poll(true); err != nil {
		s.repo.close()
		return nil, err
	}
	if opts.PollInterval > 0 {
		go s.pollLoop()
	} else {
		close(s.polled)
	}
	return s, nil
}

func (s *Server) pollLoop() {
	defer close(s.polled)
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.repo.poll(false); err != nil {
				s.log.Error("repository poll", "source", s.repo.source, "err", err)
			}
		}
	}
}

// Poll checks the source now for new, changed and removed versions, as the
// periodic poll does. A version that fails to load leaves the versions
// already serving in place; the error says what failed.
func (s *Server) Poll() error { return s.repo.poll(false) }

// Close stops polling, lets every queued and running request finish and
// unloads the models. Requests arriving after Close get 503.
func (s *Server) Close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	<-s.polled
	s.repo.close()
}

// Ready reports whether every model has a loaded, warmed version.
func (s *Server) Ready() bool { return s.repo.ready() }

// Error is a request that failed, with the HTTP status it answers with.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func badRequest(format string, a ...any) error {
	return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &Error{Status: http.StatusNotFound, Msg: fmt.Sprintf(format, a...)}
}

// errorStatus maps any error to its HTTP status.
func errorStatus(err error) int {
	var e *Error
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e.Status
	case errors.As(err, &mb):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return 499 // the client went away (nginx's code)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// infer runs one request on model name, version (empty: the latest): decode
// turns the request into the chosen version's inputs. When a hot reload
// retires that version before the request is queued, infer decodes again
// for the version that replaced it, so no request is lost to a reload.
func (s *Server) infer(ctx context.Context, protocol, name, version string, timeout time.Duration, decode func(*modelVersion) ([]*kerasrun.Tensor, error)) (*modelVersion, []*kerasrun.Tensor, error) {
	if timeout <= 0 || timeout > s.opts.RequestTimeout {
		timeout = s.opts.RequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		v, err := s.repo.get(name, version)
		if err != nil {
			s.metrics.failure("", "", protocol, err)
			return nil, nil, err
		}
		xs, err := decode(v)
		if err == nil {
			err = v.checkInputs(xs, s.opts.MaxBatchSize)
		}
		var out []*kerasrun.Tensor
		if err == nil {
			out, err = v.batcher.do(ctx, xs)
			if errors.Is(err, errRetired) {
				continue
			}
		}
		s.metrics.request(v, protocol)
		if err != nil {
			s.metrics.failure(v.name, v.versionLabel(), protocol, err)
			if errors.Is(err, context.DeadlineExceeded) {
				err = &Error{Status: http.StatusGatewayTimeout, Msg: fmt.Sprintf("model %q version %d: no answer within the request timeout %v", v.name, v.version, timeout)}
			}
			return v, nil, err
		}
		return v, out, nil
	}
}
