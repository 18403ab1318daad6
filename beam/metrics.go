package kerasbeam

import (
	"context"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// inferenceMetrics are Python RunInference's metrics (its _MetricsCollector),
// same names; prefix is the refresh side input's ModelName, as Python
// prefixes "name_" when models come from a side input.
type inferenceMetrics struct {
	inferences, failedBatches           beam.Counter
	batchSize, batchBytes, batchLatency beam.Distribution
	modelBytes, loadLatency             beam.Distribution
}

func newInferenceMetrics(namespace, prefix string) *inferenceMetrics {
	if prefix != "" {
		prefix += "_"
	}
	return &inferenceMetrics{
		inferences:    beam.NewCounter(namespace, prefix+"num_inferences"),
		failedBatches: beam.NewCounter(namespace, prefix+"failed_batches_counter"),
		batchSize:     beam.NewDistribution(namespace, prefix+"inference_request_batch_size"),
		batchBytes:    beam.NewDistribution(namespace, prefix+"inference_request_batch_byte_size"),
		batchLatency:  beam.NewDistribution(namespace, prefix+"inference_batch_latency_micro_secs"),
		modelBytes:    beam.NewDistribution(namespace, prefix+"model_byte_size"),
		loadLatency:   beam.NewDistribution(namespace, prefix+"load_model_latency_milli_secs"),
	}
}

// batch records one predicted batch.
func (m *inferenceMetrics) batch(ctx context.Context, n int, bytes int64, latency time.Duration) {
	m.inferences.Inc(ctx, int64(n))
	m.batchSize.Update(ctx, int64(n))
	m.batchBytes.Update(ctx, bytes)
	m.batchLatency.Update(ctx, latency.Microseconds())
}
