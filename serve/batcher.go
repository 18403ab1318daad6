package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/kerasrun/kerasrun"
)

// errRetired says a version stopped taking requests (a reload replaced it);
// the caller asks the repository again.
var errRetired = errors.New("serve: model version retired")

// job is one request waiting for its outputs.
type job struct {
	ctx      context.Context
	inputs   []*kerasrun.Tensor
	rows     int
	enqueued time.Time
	done     chan jobResult
}

type jobResult struct {
	outputs []*kerasrun.Tensor
	err     error
}

// batcher queues the requests of one model version and runs them, one at a
// time or gathered into batches (Triton's dynamic batcher, TensorFlow
// Serving's --enable_batching), on the server's shared workers.
type batcher struct {
	mv      *modelVersion
	s       *Server
	queue   chan *job
	mu      sync.Mutex
	closed  bool
	pending sync.WaitGroup // submitted jobs not yet answered
	stop    chan struct{}  // closed once closed and pending is zero
	exited  chan struct{}
}

func newBatcher(mv *modelVersion, s *Server) *batcher {
	b := &batcher{mv: mv, s: s, queue: make(chan *job, s.opts.MaxQueue), stop: make(chan struct{}), exited: make(chan struct{})}
	go b.run()
	return b
}

// do queues one request and waits for its outputs.
func (b *batcher) do(ctx context.Context, xs []*kerasrun.Tensor) ([]*kerasrun.Tensor, error) {
	j := &job{ctx: ctx, inputs: xs, rows: xs[0].Shape[0], enqueued: time.Now(), done: make(chan jobResult, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errRetired
	}
	b.pending.Add(1)
	b.mu.Unlock()
	select {
	case b.queue <- j:
	default:
		b.pending.Done()
		return nil, &Error{Status: http.StatusTooManyRequests, Msg: fmt.Sprintf("model %q version %d: the queue of %d requests is full; retry later", b.mv.name, b.mv.version, cap(b.queue))}
	}
	select {
	case r := <-j.done:
		return r.outputs, r.err
	case <-ctx.Done():
		// The dispatcher or a worker answers j later; nobody reads it.
		return nil, ctx.Err()
	}
}

// retire refuses new requests; the queued ones still run.
func (b *batcher) retire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	go func() {
		b.pending.Wait()
		close(b.stop)
	}()
}

// wait returns once a retired batcher has answered every request.
func (b *batcher) wait() { <-b.exited }

func (b *batcher) finish(j *job, out []*kerasrun.Tensor, err error) {
	j.done <- jobResult{out, err}
	b.pending.Done()
}

func (b *batcher) run() {
	defer close(b.exited)
	opts := &b.s.opts
	var carry *job
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case <-b.stop:
				return
			}
		}
		if err := expired(first.ctx); err != nil {
			b.finish(first, nil, err)
			continue
		}
		select {
		case b.s.workers <- struct{}{}:
		case <-first.ctx.Done():
			b.finish(first, nil, first.ctx.Err())
			continue
		}
		batch, rows := []*job{first}, first.rows
		if opts.Batching {
			var timeout <-chan time.Time
			var timer *time.Timer
			if opts.BatchTimeout > 0 {
				timer = time.NewTimer(opts.BatchTimeout)
				timeout = timer.C
			}
		gather:
			for rows < opts.MaxBatchSize {
				var j *job
				select {
				case j = <-b.queue:
				default:
					if timeout == nil {
						break gather
					}
					select {
					case j = <-b.queue:
					case <-timeout:
						break gather
					}
				}
				if err := expired(j.ctx); err != nil {
					b.finish(j, nil, err)
					continue
				}
				if rows+j.rows > opts.MaxBatchSize || !sameRowShapes(first, j) {
					carry = j
					break
				}
				batch = append(batch, j)
				rows += j.rows
			}
			if timer != nil {
				timer.Stop()
			}
		}
		go b.execute(batch, rows)
	}
}

// sameRowShapes reports whether two requests' inputs agree in every
// dimension but the batch, so that they can be stacked.
func sameRowShapes(a, b *job) bool {
	for i := range a.inputs {
		if !slices.Equal(a.inputs[i].Shape[1:], b.inputs[i].Shape[1:]) {
			return false
		}
	}
	return true
}

// execute runs a batch on the worker the dispatcher took and answers each
// of its requests with its own rows.
func (b *batcher) execute(batch []*job, rows int) {
	defer func() { <-b.s.workers }()
	start := time.Now()
	m := b.s.metrics
	for _, j := range batch {
		m.queueTime.WithLabelValues(b.mv.name, b.mv.versionLabel()).Observe(start.Sub(j.enqueued).Seconds())
	}
	m.batchSize.WithLabelValues(b.mv.name, b.mv.versionLabel()).Observe(float64(rows))
	defer func() {
		m.inferTime.WithLabelValues(b.mv.name, b.mv.versionLabel()).Observe(time.Since(start).Seconds())
	}()
	if len(batch) == 1 {
		out, err := b.mv.model.Predict(batch[0].inputs...)
		b.finish(batch[0], out, predictError(err))
		return
	}
	xs := make([]*kerasrun.Tensor, len(b.mv.inputs))
	for i := range xs {
		shape := append([]int{rows}, batch[0].inputs[i].Shape[1:]...)
		data := make([]float32, 0, rows*len(batch[0].inputs[i].Data)/batch[0].rows)
		for _, j := range batch {
			data = append(data, j.inputs[i].Data...)
		}
		x, err := kerasrun.NewTensor(shape, data)
		if err != nil {
			b.runAlone(batch)
			return
		}
		xs[i] = x
	}
	out, err := b.mv.model.Predict(xs...)
	if err != nil || !batchMajor(out, rows) {
		// One request's input broke the batch (or the model's outputs do
		// not follow the batch): answer each request on its own.
		b.runAlone(batch)
		return
	}
	off := 0
	for _, j := range batch {
		part := make([]*kerasrun.Tensor, len(out))
		for k, y := range out {
			row := len(y.Data) / rows
			shape := append([]int{j.rows}, y.Shape[1:]...)
			part[k], _ = kerasrun.NewTensor(shape, slices.Clone(y.Data[off*row:(off+j.rows)*row]))
		}
		off += j.rows
		b.finish(j, part, nil)
	}
}

func (b *batcher) runAlone(batch []*job) {
	for _, j := range batch {
		out, err := b.mv.model.Predict(j.inputs...)
		b.finish(j, out, predictError(err))
	}
}

func batchMajor(out []*kerasrun.Tensor, rows int) bool {
	for _, y := range out {
		if len(y.Shape) == 0 || y.Shape[0] != rows {
			return false
		}
	}
	return true
}

// predictError marks the model's refusals of an input as bad requests.
func predictError(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Status: http.StatusBadRequest, Msg: err.Error()}
}

// expired is ctx.Err(), also when the deadline has passed but the timer that
// cancels ctx has not fired yet (under load it runs late): a request whose
// time is up never starts a prediction.
func expired(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}
