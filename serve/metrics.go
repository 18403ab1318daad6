package serve

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Protocol labels of the request metrics.
const (
	protoV2HTTP = "v2-http"
	protoV2GRPC = "v2-grpc"
	protoTFS    = "tfserving-rest"
)

// metrics are the server's Prometheus collectors.
type metrics struct {
	handler      http.Handler
	requests     *prometheus.CounterVec
	failures     *prometheus.CounterVec
	queueTime    *prometheus.HistogramVec
	inferTime    *prometheus.HistogramVec
	batchSize    *prometheus.HistogramVec
	loaded       *prometheus.GaugeVec
	loadFailures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	var gather prometheus.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gather = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		gather = g
	}
	mv := []string{"model", "version"}
	secs := prometheus.ExponentialBuckets(50e-6, 2, 18) // 50µs .. 6.5s
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kerasrun_inference_requests_total", Help: "Inference requests by model, version and protocol.",
		}, []string{"model", "version", "protocol"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kerasrun_inference_failures_total", Help: "Inference requests that failed, by model, version, protocol and HTTP status (model and version empty when the model is unknown).",
		}, []string{"model", "version", "protocol", "code"}),
		queueTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kerasrun_queue_seconds", Help: "Time a request waited in its model's queue.", Buckets: secs,
		}, mv),
		inferTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kerasrun_inference_seconds", Help: "Time the model took per batch.", Buckets: secs,
		}, mv),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kerasrun_batch_size", Help: "Rows per batch the model ran.", Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}, mv),
		loaded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kerasrun_model_loaded", Help: "1 for every model version serving.",
		}, mv),
		loadFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kerasrun_model_load_failures_total", Help: "Model versions that failed to load or warm up.",
		}, mv),
	}
	for _, c := range []prometheus.Collector{m.requests, m.failures, m.queueTime, m.inferTime, m.batchSize, m.loaded, m.loadFailures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	if gather != nil {
		m.handler = promhttp.HandlerFor(gather, promhttp.HandlerOpts{})
	} else {
		m.handler = http.NotFoundHandler()
	}
	return m, nil
}

func (m *metrics) request(mv *modelVersion, protocol string) {
	m.requests.WithLabelValues(mv.name, mv.versionLabel(), protocol).Inc()
}

func (m *metrics) failure(model, version, protocol string, err error) {
	m.failures.WithLabelValues(model, version, protocol, strconv.Itoa(errorStatus(err))).Inc()
}
