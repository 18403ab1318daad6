package kerasbeam

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// The tests run their pipelines on Beam's Prism runner, in this process.
func TestMain(m *testing.M) { os.Exit(ptest.MainRetWithDefault(m, "prism")) }

// keyedExample is sample K of a fixture.
type keyedExample struct {
	K int
	E Example
}

func toKV(r keyedExample) (int, Example) { return r.K, r.E }

// twoIO is a schema row for func_two_io's named inputs.
type twoIO struct {
	A  []float32 `keras:"in_a"`
	B  []float32 `keras:"in_b"`
	ID string
}

// missingB is a row for func_two_io without its second input.
type missingB struct {
	A []float32 `keras:"in_a"`
}

// timedRow is a sample to score at second Sec of event time.
type timedRow struct {
	Sec int
	X   []float32
}

func stamp(r timedRow, emit func(beam.EventTime, []float32)) {
	emit(beam.EventTime(int64(r.Sec)*1000), r.X)
}

func stampMeta(m ModelMetadata, emit func(beam.EventTime, ModelMetadata)) {
	sec := 0
	if strings.Contains(m.ModelName, "sigmoid") {
		sec = 10
	}
	emit(beam.EventTime(int64(sec)*1000), m)
}

func failureText(f Failure) string { return f.Error }

func init() {
	register.Function1x2(toKV)
	register.Function2x0(stamp)
	register.Function2x0(stampMeta)
	register.Function1x1(failureText)
	register.DoFn2x0[string, func(string)](&containsFn{})
	register.DoFn2x0[PredictionResult, func(PredictionResult)](&modelIsFn{})
	register.Emitter1[PredictionResult]()
	register.Emitter2[beam.EventTime, []float32]()
	register.Emitter2[beam.EventTime, ModelMetadata]()
	beam.RegisterType(reflectTypeOf[keyedExample]())
	beam.RegisterType(reflectTypeOf[twoIO]())
	beam.RegisterType(reflectTypeOf[timedRow]())
	beam.RegisterType(reflectTypeOf[missingB]())
}

// resetCache empties the process-wide model cache, so that a test sees
// its own loads.
func resetCache() {
	cache.Lock()
	cache.entries = map[string]*cacheEntry{}
	cache.Unlock()
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestPredictionsMatchKeras scores each fixture sample with every model
// file Keras wrote for mlp_relu and func_two_io (.keras, Keras 3 .h5,
// Keras 3 JSON + .weights.h5, Keras 2 .h5, Keras 2 JSON + weights .h5)
// and checks each result against Keras's own outputs, keyed and unkeyed
// and with every element type.
func TestPredictionsMatchKeras(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	for _, name := range []string{"mlp_relu", "func_two_io"} {
		c := readCase(t, name)
		for _, m := range c.models {
			label := name + "/" + m.id
			s := s.Scope(label)
			opts := []Option{MaxBatchSize(3)}
			if m.weights != "" {
				opts = append(opts, WeightsURI(m.weights))
			}
			names := inputNames(t, m)
			// Keyed Examples (KV<int, Example>).
			var keyed []keyedExample
			for i := 0; i < c.samples(); i++ {
				keyed = append(keyed, keyedExample{K: i, E: c.example(i, names)})
			}
			kv := beam.ParDo(s, toKV, beam.CreateList(s, keyed))
			res, failed := RunInference(s, m.model, kv, opts...)
			passert.Empty(s, failed)
			ok, bad := beam.ParDo2(s, &keyCheckFn{*c.check(label, m)}, res)
			passert.Empty(s, bad)
			passert.Equals(s, ok, anys(labels(label, seq(c.samples())))...)

			// Unkeyed rows: []float32 for the one-input MLP, a tagged
			// struct for the two named inputs.
			var rows beam.PCollection
			if name == "mlp_relu" {
				var xs [][]float32
				for i := 0; i < c.samples(); i++ {
					xs = append(xs, row(c.inputs, i)[0])
				}
				rows = beam.CreateList(s, xs)
			} else {
				var xs []twoIO
				for i := 0; i < c.samples(); i++ {
					r := row(c.inputs, i)
					xs = append(xs, twoIO{A: r[0], B: r[1], ID: fmt.Sprint(i)})
				}
				rows = beam.CreateList(s, xs)
			}
			res2, failed2 := RunInference(s, m.model, rows, opts...)
			passert.Empty(s, failed2)
			checkResults(s, res2, c.check(label+"/rows", m), labels(label+"/rows", seq(c.samples())))
		}
	}
	ptest.RunAndValidate(t, p)
}

func queryMetric(pr beam.PipelineResult, name string) metrics.QueryResults {
	return pr.Metrics().Query(func(r metrics.SingleResult) bool { return r.Name() == name && r.Namespace() == "RunInference" })
}

func counter(pr beam.PipelineResult, name string) int64 {
	var n int64
	for _, c := range queryMetric(pr, name).Counters() {
		n += c.Result()
	}
	return n
}

func distribution(pr beam.PipelineResult, name string) metrics.DistributionValue {
	var d metrics.DistributionValue
	for i, r := range queryMetric(pr, name).Distributions() {
		v := r.Result()
		if i == 0 || v.Min < d.Min {
			d.Min = v.Min
		}
		d.Max = max(d.Max, v.Max)
		d.Count += v.Count
		d.Sum += v.Sum
	}
	return d
}

// TestBatchBoundaries scores 1, MaxBatchSize, MaxBatchSize+1 and an uneven
// 2*MaxBatchSize+3 elements (over several bundles, after a Reshuffle),
// and batches bounded by bytes: every element is scored once and right,
// no batch is larger than its bounds, and the metrics count them all.
func TestBatchBoundaries(t *testing.T) {
	c := readCase(t, "mlp_relu")
	m := c.models[0]
	const maxBatch = 4
	per := int64(len(row(c.inputs, 0)[0]) * 4) // bytes of one sample
	for _, tc := range []struct {
		name      string
		n         int
		reshuffle bool
		opts      []Option
		maxSeen   int64
	}{
		{"one", 1, false, []Option{MaxBatchSize(maxBatch)}, maxBatch},
		{"max", maxBatch, false, []Option{MaxBatchSize(maxBatch)}, maxBatch},
		{"max+1", maxBatch + 1, false, []Option{MaxBatchSize(maxBatch)}, maxBatch},
		{"uneven", 2*maxBatch + 3, true, []Option{MaxBatchSize(maxBatch)}, maxBatch},
		{"bytes", 11, false, []Option{MaxBatchSize(100), MaxBatchBytes(3 * per)}, 3},
		{"bytes-min", 11, false, []Option{MaxBatchSize(100), MaxBatchBytes(per), MinBatchSize(2)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			var xs [][]float32
			var want []int
			for i := 0; i < tc.n; i++ {
				xs = append(xs, row(c.inputs, i%c.samples())[0])
				want = append(want, i%c.samples())
			}
			col := beam.CreateList(s, xs)
			if tc.reshuffle {
				col = beam.Reshuffle(s, col)
			}
			res, failed := RunInference(s, m.model, col, tc.opts...)
			passert.Empty(s, failed)
			checkResults(s, res, c.check("mlp", m), labels("mlp", want))
			pr := ptest.RunAndValidate(t, p)
			if got := counter(pr, "num_inferences"); got != int64(tc.n) {
				t.Errorf("num_inferences = %d, want %d", got, tc.n)
			}
			d := distribution(pr, "inference_request_batch_size")
			if d.Sum != int64(tc.n) || d.Max > tc.maxSeen || d.Count < (int64(tc.n)+tc.maxSeen-1)/tc.maxSeen {
				t.Errorf("batch sizes %+v: want %d elements in batches of at most %d", d, tc.n, tc.maxSeen)
			}
			if b := distribution(pr, "inference_request_batch_byte_size"); b.Sum != int64(tc.n)*per {
				t.Errorf("batch bytes sum %d, want %d", b.Sum, int64(tc.n)*per)
			}
			if l := distribution(pr, "inference_batch_latency_micro_secs"); l.Count != d.Count {
				t.Errorf("%d batch latencies for %d batches", l.Count, d.Count)
			}
			if f := counter(pr, "failed_batches_counter"); f != 0 {
				t.Errorf("failed_batches_counter = %d", f)
			}
		})
	}
}

// TestDeadLetter mixes bad elements (wrong length, NaN, infinity, a row
// without the model's input) with good ones: the bad ones reach the
// dead-letter output with their error, the good ones are scored right.
func TestDeadLetter(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	mlp := readCase(t, "mlp_relu")
	nan := append([]float32(nil), row(mlp.inputs, 1)[0]...)
	nan[5] = float32(nanValue())
	inf := append([]float32(nil), row(mlp.inputs, 2)[0]...)
	inf[7] = float32(infValue())
	xs := [][]float32{row(mlp.inputs, 0)[0], {1, 2, 3}, nan, row(mlp.inputs, 3)[0], inf, row(mlp.inputs, 4)[0]}
	res, failed := RunInference(s, mlp.models[0].model, beam.CreateList(s, xs), MaxBatchSize(8))
	checkResults(s, res, mlp.check("mlp", mlp.models[0]), labels("mlp", []int{0, 3, 4}))
	errs := beam.ParDo(s, failureText, failed)
	passert.Count(s, errs, "failures", 3)
	for _, want := range []string{"3 values do not fill shape [784]", "is NaN", "is +Inf"} {
		passert.Count(s, beam.ParDo(s, &containsFn{Sub: want}, errs), want, 1)
	}

	two := readCase(t, "func_two_io")
	res2, failed2 := RunInference(s, two.models[0].model, beam.CreateList(s, []missingB{{A: []float32{1, 2, 3, 4}}}))
	passert.Empty(s, res2)
	errs2 := beam.ParDo(s, failureText, failed2)
	passert.Count(s, beam.ParDo(s, &containsFn{Sub: `no field for input "in_b"`}, errs2), "missing", 1)

	pr := ptest.RunAndValidate(t, p)
	// The batch of six fails on its NaN; so do the single NaN and Inf
	// retries (a batch of one each).
	if f := counter(pr, "failed_batches_counter"); f < 3 {
		t.Errorf("failed_batches_counter = %d, want at least 3", f)
	}
	if n := counter(pr, "num_inferences"); n != 3 {
		t.Errorf("num_inferences = %d, want 3", n)
	}
}

// containsFn keeps the strings holding Sub.
type containsFn struct{ Sub string }

func (c *containsFn) ProcessElement(s string, emit func(string)) {
	if strings.Contains(s, c.Sub) {
		emit(s)
	}
}

// TestModelLoadedOncePerProcess runs two RunInference transforms on the
// same model over many bundles: the process loads the file once (one
// load_model_latency_milli_secs sample, model_byte_size its size).
func TestModelLoadedOncePerProcess(t *testing.T) {
	resetCache()
	c := readCase(t, "mlp_relu")
	m := c.models[0]
	p, s := beam.NewPipelineWithRoot()
	var xs [][]float32
	for i := 0; i < 40; i++ {
		xs = append(xs, row(c.inputs, i%c.samples())[0])
	}
	col := beam.Reshuffle(s, beam.CreateList(s, xs))
	for _, name := range []string{"a", "b"} {
		res, failed := RunInference(s.Scope(name), m.model, col, MaxBatchSize(2))
		passert.Empty(s, failed)
		passert.Count(s, res, name, len(xs))
	}
	pr := ptest.RunAndValidate(t, p)
	st, err := os.Stat(m.model)
	if err != nil {
		t.Fatal(err)
	}
	if d := distribution(pr, "load_model_latency_milli_secs"); d.Count != 1 {
		t.Errorf("the model was loaded %d times, want once", d.Count)
	}
	if d := distribution(pr, "model_byte_size"); d.Count != 1 || d.Sum != st.Size() {
		t.Errorf("model_byte_size %+v, want one sample of %d", d, st.Size())
	}
	if n := counter(pr, "num_inferences"); n != 2*int64(len(xs)) {
		t.Errorf("num_inferences = %d, want %d", n, 2*len(xs))
	}
}

// TestModelRefresh swaps models mid-stream through the side input: the
// elements of the first 10 s window are scored by mlp_relu, those of the
// next by mlp_sigmoid (the side input names a new ModelID in that window),
// each exactly once and as Keras scores it; the metrics carry each
// model's name as prefix.
func TestModelRefresh(t *testing.T) {
	relu, sig := readCase(t, "mlp_relu"), readCase(t, "mlp_sigmoid")
	mr, ms := relu.models[0], sig.models[0]
	p, s := beam.NewPipelineWithRoot()
	var rows []timedRow
	for i := 0; i < relu.samples(); i++ {
		rows = append(rows, timedRow{Sec: i, X: row(relu.inputs, i)[0]})
	}
	for i := 0; i < sig.samples(); i++ {
		rows = append(rows, timedRow{Sec: 10 + i, X: row(sig.inputs, i)[0]})
	}
	fixed := window.NewFixedWindows(10 * time.Second)
	col := beam.WindowInto(s, fixed, beam.ParDo(s, stamp, beam.CreateList(s, rows)))
	updates := beam.WindowInto(s, fixed, beam.ParDo(s, stampMeta, beam.CreateList(s, []ModelMetadata{
		{ModelID: mr.model, ModelName: "relu"},
		{ModelID: ms.model, ModelName: "sigmoid"},
	})))
	// The transform's own model is neither: the side input decides.
	res, failed := RunInference(s, relu.models[3].model, col, WithModelUpdates(updates), MaxBatchSize(3))
	passert.Empty(s, failed)
	fr, fs := relu.check("relu", mr), sig.check("sigmoid", ms)
	okR, badR := beam.ParDo2(s, fr, beam.ParDo(s, &modelIsFn{ModelID: mr.model}, res))
	okS, badS := beam.ParDo2(s, fs, beam.ParDo(s, &modelIsFn{ModelID: ms.model}, res))
	passert.Empty(s, badR)
	passert.Empty(s, badS)
	passert.Count(s, res, "all", len(rows))
	passert.Equals(s, beam.Flatten(s, okR, okS), anys(append(labels("relu", seq(relu.samples())), labels("sigmoid", seq(sig.samples()))...))...)
	pr := ptest.RunAndValidate(t, p)
	if n := counter(pr, "relu_num_inferences"); n != int64(relu.samples()) {
		t.Errorf("relu_num_inferences = %d, want %d", n, relu.samples())
	}
	if n := counter(pr, "sigmoid_num_inferences"); n != int64(sig.samples()) {
		t.Errorf("sigmoid_num_inferences = %d, want %d", n, sig.samples())
	}
}

// modelIsFn keeps the results scored by ModelID.
type modelIsFn struct{ ModelID string }

func (m *modelIsFn) ProcessElement(r PredictionResult, emit func(PredictionResult)) {
	if r.ModelID == m.ModelID {
		emit(r)
	}
}
