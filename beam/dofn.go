package kerasbeam

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/kerasrun/kerasrun"
)

// pending is one buffered element of a bundle.
type pending struct {
	ts      beam.EventTime
	key     any // nil unless keyed
	keyText string
	example Example
	bytes   int64
}

// batch is the buffered elements bound for one model.
type batch struct {
	meta  ModelMetadata
	model *kerasrun.Model
	elems []pending
	bytes int64
}

// batcher is the state RunInference's DoFns share: it converts elements,
// buffers them per model and predicts full batches. ModelURI and Config
// are exported for Beam's encoding of the DoFn; the rest lives on one
// worker.
type batcher struct {
	ModelURI string
	Config   config

	buf      *batch
	metrics  map[string]*inferenceMetrics // by model name prefix
	finished []loadReport                 // loads to report (Python reports them at bundle end)
}

// output receives a batch's results.
type output struct {
	result func(p *pending, r PredictionResult)
	fail   func(ts beam.EventTime, f Failure)
}

func (b *batcher) setup(ctx context.Context) error {
	b.metrics = map[string]*inferenceMetrics{}
	_, rep, err := loadModel(ctx, b.ModelURI, b.Config.WeightsURI)
	if err != nil {
		return err
	}
	if rep != nil {
		b.finished = append(b.finished, *rep)
	}
	return nil
}

func (b *batcher) metricsFor(name string) *inferenceMetrics {
	if im, ok := b.metrics[name]; ok {
		return im
	}
	im := newInferenceMetrics(b.Config.Namespace, name)
	b.metrics[name] = im
	return im
}

// current reads the refresh side input: the last ModelMetadata it yields,
// else the transform's own model.
func (b *batcher) current(updates func(*ModelMetadata) bool) ModelMetadata {
	meta := ModelMetadata{ModelID: b.ModelURI, WeightsID: b.Config.WeightsURI}
	var m ModelMetadata
	for updates(&m) {
		if m.ModelID != "" {
			meta = m
		}
	}
	return meta
}

// add converts one element and buffers it, predicting the buffered batch
// when it is full or bound for another model.
func (b *batcher) add(ctx context.Context, ts beam.EventTime, key, elem any, meta ModelMetadata, out output) {
	keyText := ""
	if key != nil {
		keyText = fmt.Sprint(key)
	}
	fail := func(err error) {
		out.fail(ts, Failure{Key: keyText, Element: describe(elem), Error: err.Error(), ModelID: meta.ModelID})
	}
	if b.buf != nil && b.buf.meta != meta {
		b.flush(ctx, out)
	}
	if b.buf == nil {
		m, rep, err := loadModel(ctx, meta.ModelID, meta.WeightsID)
		if rep != nil {
			rep.name = meta.ModelName
			b.finished = append(b.finished, *rep)
		}
		if err != nil {
			fail(err)
			return
		}
		b.buf = &batch{meta: meta, model: m}
	}
	ex, err := toExample(elem, b.buf.model.Inputs(), b.buf.model.ImageOptions)
	if err != nil {
		fail(fmt.Errorf("kerasbeam: %s: %w", meta.ModelID, err))
		return
	}
	p := pending{ts: ts, key: key, keyText: keyText, example: ex, bytes: exampleBytes(ex)}
	b.buf.elems = append(b.buf.elems, p)
	b.buf.bytes += p.bytes
	n := len(b.buf.elems)
	c := b.Config
	if n >= c.MaxBatch || (c.MaxBatchBytes > 0 && b.buf.bytes >= c.MaxBatchBytes && n >= c.MinBatch) {
		b.flush(ctx, out)
	}
}

// flush predicts the buffered batch. A batch that fails is counted in
// failed_batches_counter and its elements are predicted one by one, so
// that only the bad ones go to the dead-letter output.
func (b *batcher) flush(ctx context.Context, out output) {
	bt := b.buf
	b.buf = nil
	if bt == nil || len(bt.elems) == 0 {
		return
	}
	im := b.metricsFor(bt.meta.ModelName)
	start := time.Now()
	res, err := predict(bt.model, bt.elems)
	if err == nil {
		im.batch(ctx, len(bt.elems), bt.bytes, time.Since(start))
		for i := range bt.elems {
			out.result(&bt.elems[i], PredictionResult{Example: bt.elems[i].example, Inference: res[i], ModelID: bt.meta.ModelID})
		}
		return
	}
	im.failedBatches.Inc(ctx, 1)
	if len(bt.elems) == 1 {
		p := &bt.elems[0]
		out.fail(p.ts, Failure{Key: p.keyText, Element: describe(p.example), Error: err.Error(), ModelID: bt.meta.ModelID})
		return
	}
	for _, p := range bt.elems {
		b.buf = &batch{meta: bt.meta, model: bt.model, elems: []pending{p}, bytes: p.bytes}
		b.flush(ctx, out)
	}
}

func (b *batcher) finishBundle(ctx context.Context, out output) {
	b.flush(ctx, out)
	for _, r := range b.finished {
		im := b.metricsFor(r.name)
		im.loadLatency.Update(ctx, r.latency.Milliseconds())
		im.modelBytes.Update(ctx, r.bytes)
	}
	b.finished = nil
}

// inferFn is RunInference's DoFn on unkeyed elements.
type inferFn struct {
	batcher
}

// Setup loads the transform's model (once per process).
func (f *inferFn) Setup(ctx context.Context) error { return f.setup(ctx) }

// ProcessElement buffers one element.
func (f *inferFn) ProcessElement(ctx context.Context, ts beam.EventTime, elem beam.T, updates func(*ModelMetadata) bool, emit func(beam.EventTime, PredictionResult), dead func(beam.EventTime, Failure)) error {
	f.add(ctx, ts, nil, elem, f.current(updates), f.out(emit, dead))
	return nil
}

// FinishBundle predicts what the bundle left buffered. (Beam requires
// it to take ProcessElement's side input; the buffered batch already
// knows its model.)
func (f *inferFn) FinishBundle(ctx context.Context, _ func(*ModelMetadata) bool, emit func(beam.EventTime, PredictionResult), dead func(beam.EventTime, Failure)) error {
	f.finishBundle(ctx, f.out(emit, dead))
	return nil
}

func (f *inferFn) out(emit func(beam.EventTime, PredictionResult), dead func(beam.EventTime, Failure)) output {
	return output{result: func(p *pending, r PredictionResult) { emit(p.ts, r) }, fail: dead}
}

// keyedInferFn is RunInference's DoFn on KV elements (Python's
// KeyedModelHandler): the key passes through to the result.
type keyedInferFn struct {
	batcher
}

// Setup loads the transform's model (once per process).
func (f *keyedInferFn) Setup(ctx context.Context) error { return f.setup(ctx) }

// ProcessElement buffers one keyed element.
func (f *keyedInferFn) ProcessElement(ctx context.Context, ts beam.EventTime, key beam.X, elem beam.Y, updates func(*ModelMetadata) bool, emit func(beam.EventTime, beam.X, PredictionResult), dead func(beam.EventTime, Failure)) error {
	f.add(ctx, ts, key, elem, f.current(updates), f.out(emit, dead))
	return nil
}

// FinishBundle predicts what the bundle left buffered.
func (f *keyedInferFn) FinishBundle(ctx context.Context, _ func(*ModelMetadata) bool, emit func(beam.EventTime, beam.X, PredictionResult), dead func(beam.EventTime, Failure)) error {
	f.finishBundle(ctx, f.out(emit, dead))
	return nil
}

func (f *keyedInferFn) out(emit func(beam.EventTime, beam.X, PredictionResult), dead func(beam.EventTime, Failure)) output {
	return output{result: func(p *pending, r PredictionResult) { emit(p.ts, p.key, r) }, fail: dead}
}
