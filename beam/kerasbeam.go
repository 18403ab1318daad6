// Package kerasbeam is Apache Beam's RunInference for Keras model files in
// Go: a transform that scores a PCollection with a model kerasrun loads
// from any Beam filesystem (local paths; gs:// or s3:// where the pipeline
// binary links beam/io/filesystem/gcs or s3), batching the elements of a
// bundle, sending the elements that fail to a dead-letter output, and
// reporting the metrics Python's RunInference reports under the same
// names.
//
//	results, failed := kerasbeam.RunInference(s, "gs://bucket/model.keras", rows,
//		kerasbeam.MaxBatchSize(64))
//
// It lives in its own Go module so that the kerasrun core never depends on
// the Beam SDK.
package kerasbeam

import (
	"context"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

// Tensor is one sample's values for one model input or output: Shape
// without the batch dimension, Data row-major. Name is the Keras input or
// output name (optional on input: when set it is matched against the
// model's input names). On input, a nil Shape stands for the input's own
// per-sample shape, which must then be fully known.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Image is an encoded image file (PNG, JPEG, GIF, BMP, TIFF or WebP) for
// an image input: decoded and converted as keras.utils.load_img and
// img_to_array do, with the target size, color mode and data format the
// input's shape implies (kerasrun.Model.ImageOptions: (batch, height,
// width, 1|3|4 channels), or channels first).
type Image []byte

// Example is one element as the model sees it: one tensor per model input
// in Keras's input order.
type Example struct {
	Inputs []Tensor
}

// PredictionResult pairs an example with the model's inference on it, as
// Python's apache_beam.ml.inference.base.PredictionResult does: Example
// is the element converted to the model's inputs, Inference holds one
// tensor per model output (Keras's output order) and ModelID names the
// model file that scored it.
type PredictionResult struct {
	Example   Example
	Inference []Tensor
	ModelID   string
}

// ModelMetadata names a model for the refresh side input (WithModelUpdates),
// as Python's ModelMetadata: ModelID is the model file's URI, ModelName
// prefixes the metric names of the elements it scores ("name_num_inferences").
// WeightsID is the weights file of a model JSON (empty otherwise).
type ModelMetadata struct {
	ModelID   string
	ModelName string
	WeightsID string
}

// Failure is an element that could not be scored, on the dead-letter
// output: Element is the element (and Key its key, for keyed input)
// printed with %v, Error says why, ModelID names the model it was meant
// for.
type Failure struct {
	Key     string
	Element string
	Error   string
	ModelID string
}

func init() {
	beam.RegisterType(reflect.TypeOf((*Tensor)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Image)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Example)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*PredictionResult)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*ModelMetadata)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Failure)(nil)).Elem())
	register.DoFn6x1[context.Context, beam.EventTime, beam.T, func(*ModelMetadata) bool, func(beam.EventTime, PredictionResult), func(beam.EventTime, Failure), error](&inferFn{})
	register.DoFn7x1[context.Context, beam.EventTime, beam.X, beam.Y, func(*ModelMetadata) bool, func(beam.EventTime, beam.X, PredictionResult), func(beam.EventTime, Failure), error](&keyedInferFn{})
	register.Emitter2[beam.EventTime, PredictionResult]()
	register.Emitter3[beam.EventTime, beam.X, PredictionResult]()
	register.Emitter2[beam.EventTime, Failure]()
	register.Iter1[ModelMetadata]()
}

// Option changes RunInference.
type Option func(*config)

type config struct {
	// The fields are exported for Beam's JSON encoding of the DoFn.
	WeightsURI    string
	MaxBatch      int
	MinBatch      int
	MaxBatchBytes int64
	Namespace     string
	updates       *beam.PCollection
}

// MaxBatchSize bounds the number of elements predicted in one call
// (default 32, as Python's BatchElements batches at most max_batch_size).
func MaxBatchSize(n int) Option { return func(c *config) { c.MaxBatch = n } }

// MinBatchSize is the fewest elements a batch closed by the byte bound
// holds (default 1); the last batch of a bundle, flushed in FinishBundle,
// may be smaller.
func MinBatchSize(n int) Option { return func(c *config) { c.MinBatch = n } }

// MaxBatchBytes closes a batch once its inputs hold at least n bytes of
// float32 data (and MinBatchSize elements); 0, the default, sets no bound.
func MaxBatchBytes(n int64) Option { return func(c *config) { c.MaxBatchBytes = n } }

// WeightsURI names the weights file of a model JSON (Keras 2 save_weights
// .h5, Keras 3 .weights.h5) on any Beam filesystem.
func WeightsURI(uri string) Option { return func(c *config) { c.WeightsURI = uri } }

// MetricsNamespace sets the metrics' namespace (default "RunInference",
// Python's default).
func MetricsNamespace(ns string) Option { return func(c *config) { c.Namespace = ns } }

// WithModelUpdates scores each element with the model that updates, a
// PCollection of ModelMetadata used as a side input, names for the
// element's window (the last value the side input yields; the modelURI
// given to RunInference while it yields none). As Python's
// RunInference(model_metadata_pcoll=...) (what WatchFilePattern feeds), a
// streaming pipeline swaps models without a restart: each new ModelID is
// loaded once per worker process and kept in the process-wide cache.
func WithModelUpdates(updates beam.PCollection) Option {
	return func(c *config) { c.updates = &updates }
}

// RunInference scores every element of col with the Keras model at
// modelURI and returns the PredictionResults and the dead-letter
// Failures. Elements of col may be:
//
//   - []float32, []float64, any slice or array of numbers, nested ones
//     too ([][]float32, [28][28]uint8): one sample of a single-input model
//     whose per-sample shape is fixed, the values in row-major order
//     (a []uint8 is pixel or token values, not an encoded image);
//   - Image: an encoded image file for a single-input image model;
//   - Tensor: one sample of a single-input model with an explicit shape
//     (the way to feed an input with an unknown dimension);
//   - Example: one Tensor per model input, in order or by Name;
//   - map[string][]float32: values by model input name;
//   - a struct (a Beam schema row, as the Go SDK decodes rows into
//     structs), or a pointer to one: the field tagged `keras:"input_name"`,
//     else the field whose schema name (`beam:"name"` tag) or Go name is
//     the input's (case-insensitive, ignoring underscores), holds each
//     input: numbers as above, a number (an input of one value), an
//     Image or a Tensor.
//
// A KV<K, V> col is keyed, as with Python's KeyedModelHandler: each V is
// converted as above and the result is KV<K, PredictionResult>.
//
// The model is loaded once per worker process (a process-wide cache keyed
// by URI, shared by every DoFn instance) from any registered Beam
// filesystem, in any format kerasrun reads (.keras, .h5, model JSON with
// WeightsURI). Elements are buffered per bundle and predicted in batches
// (MaxBatchSize, MinBatchSize, MaxBatchBytes; the rest in FinishBundle).
// An element that cannot be converted, or whose batch fails and then fails
// alone (a wrong shape, NaN or infinite values), goes to the dead-letter
// output with its error; the rest of the pipeline goes on. Results carry
// their element's event time and land in the global window (a batch can
// hold elements of several windows): window them again as needed.
//
// Metrics (namespace "RunInference", Python's names): num_inferences,
// failed_batches_counter, inference_batch_latency_micro_secs,
// inference_request_batch_size, inference_request_batch_byte_size,
// load_model_latency_milli_secs and model_byte_size (here the bytes read
// from the filesystem, where Python measures the process's memory growth).
func RunInference(s beam.Scope, modelURI string, col beam.PCollection, opts ...Option) (results, failed beam.PCollection) {
	s = s.Scope("kerasbeam.RunInference")
	c := config{MaxBatch: 32, MinBatch: 1, Namespace: "RunInference"}
	for _, o := range opts {
		o(&c)
	}
	if c.MaxBatch < 1 || c.MinBatch < 1 || c.MinBatch > c.MaxBatch || c.MaxBatchBytes < 0 {
		panic(fmt.Sprintf("kerasbeam.RunInference: batch bounds min %d, max %d, bytes %d do not make sense", c.MinBatch, c.MaxBatch, c.MaxBatchBytes))
	}
	var updates beam.PCollection
	if c.updates != nil {
		updates = *c.updates
	} else {
		updates = beam.CreateList(s, []ModelMetadata{})
	}
	side := beam.SideInput{Input: updates}
	base := batcher{ModelURI: modelURI, Config: c}
	var outs []beam.PCollection
	if typex.IsKV(col.Type()) {
		outs = beam.ParDoN(s, &keyedInferFn{batcher: base}, col, side)
	} else {
		outs = beam.ParDoN(s, &inferFn{batcher: base}, col, side)
	}
	// Results are emitted at the end of their batch, not in their own
	// element's window: put them all in the global window.
	return beam.WindowInto(s, window.NewGlobalWindows(), outs[0]), beam.WindowInto(s, window.NewGlobalWindows(), outs[1])
}
