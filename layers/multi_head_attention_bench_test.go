package layers

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kerasrun/kerasrun/runtime"
)

// BenchmarkTransformerEncoder times a 2-block transformer encoder (d=256,
// 4 heads of 64, sequence 128, feed-forward 1024, post-norm) against the
// same encoder whose attention is replaced by its four projections as
// Dense layers (query, key, value, output: the GEMM work without the
// score products). It reports both per sample and their ratio; the score
// products add 2*T*d of the 4*d*d multiply-adds per position of the
// projections, so the ratio the flops suggest is 1 + T/(2d) = 1.25 for
// attention alone, less for the whole encoder.
//
//	go test ./layers -run '^$' -bench TransformerEncoder -benchtime 10x
func BenchmarkTransformerEncoder(b *testing.B) {
	const batch, T, d, heads, ff = 8, 128, 256, 4, 1024
	for _, training := range []bool{false, true} {
		name := "predict"
		if training {
			name = "train"
		}
		b.Run(name, func(b *testing.B) {
			enc := newBenchEncoder(b, d, heads, ff, false)
			dense := newBenchEncoder(b, d, heads, ff, true)
			x := runtime.NewTensor(batch, T, d)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range x.Data {
				x.Data[i] = float32(rng.Float64()*2 - 1)
			}
			var tEnc, tDense time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				enc.run(b, x, training)
				tEnc += time.Since(start)
				start = time.Now()
				dense.run(b, x, training)
				tDense += time.Since(start)
			}
			perSample := func(t time.Duration) float64 { return float64(t.Microseconds()) / float64(b.N*batch) }
			b.ReportMetric(perSample(tEnc), "encoder_us/sample")
			b.ReportMetric(perSample(tDense), "dense_only_us/sample")
			b.ReportMetric(float64(tEnc)/float64(tDense), "ratio")
		})
	}
}

// benchEncoder is a chain of layers run one after the other; a block is
// attention (or its projections as Dense layers), Add, LayerNormalization,
// Dense(relu), Dense, Add, LayerNormalization.
type benchEncoder struct {
	blocks []benchBlock
}

type benchBlock struct {
	attention       Layer   // MultiHeadAttention, or nil
	projections     []Layer // the Dense stand-ins
	ln1, ff1, ff2   Layer
	ln2, add1, add2 Layer
}

func benchLayer(b *testing.B, class, config string, in [][]int) Layer {
	spec, err := specFromKeras(class, json.RawMessage(config))
	if err != nil {
		b.Fatal(err)
	}
	f, _ := Lookup(spec)
	l, err := f(spec)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.Build(in); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, w := range AllWeights(l) {
		for i := range w.Value.Data {
			w.Value.Data[i] = float32(rng.Float64()*0.1 - 0.05)
		}
		w.Touch()
	}
	return l
}

func newBenchEncoder(b *testing.B, d, heads, ff int, denseOnly bool) *benchEncoder {
	seq := []int{-1, 128, d}
	e := &benchEncoder{}
	for i := range 2 {
		var blk benchBlock
		if denseOnly {
			for j := range 4 {
				blk.projections = append(blk.projections, benchLayer(b, "Dense", fmt.Sprintf(`{"name":"p%d_%d","units":%d}`, i, j, d), [][]int{seq}))
			}
		} else {
			blk.attention = benchLayer(b, "MultiHeadAttention", fmt.Sprintf(`{"name":"mha%d","num_heads":%d,"key_dim":%d,"seed":null}`, i, heads, d/heads), [][]int{seq, seq})
		}
		blk.add1 = benchLayer(b, "Add", `{"name":"a1"}`, [][]int{seq, seq})
		blk.ln1 = benchLayer(b, "LayerNormalization", `{"name":"ln1"}`, [][]int{seq})
		blk.ff1 = benchLayer(b, "Dense", fmt.Sprintf(`{"name":"ff1","units":%d,"activation":"relu"}`, ff), [][]int{seq})
		blk.ff2 = benchLayer(b, "Dense", fmt.Sprintf(`{"name":"ff2","units":%d}`, d), [][]int{{-1, 128, ff}})
		blk.add2 = benchLayer(b, "Add", `{"name":"a2"}`, [][]int{seq, seq})
		blk.ln2 = benchLayer(b, "LayerNormalization", `{"name":"ln2"}`, [][]int{seq})
		e.blocks = append(e.blocks, blk)
	}
	return e
}

// run computes the encoder forward and, in training, its backward pass
// from a gradient of ones.
func (e *benchEncoder) run(b *testing.B, x *runtime.Tensor, training bool) {
	ctx := &runtime.Context{Training: training, Grad: training}
	var backs []runtime.Backward
	var outs []*runtime.Tensor
	call := func(l Layer, in ...*runtime.Tensor) *runtime.Tensor {
		out, back, err := l.Forward(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		backs, outs = append(backs, back), append(outs, out[0])
		return out[0]
	}
	for _, blk := range e.blocks {
		var a *runtime.Tensor
		if blk.attention != nil {
			a = call(blk.attention, x, x)
		} else {
			a = x
			for _, p := range blk.projections {
				a = call(p, a)
			}
		}
		x = call(blk.ln1, call(blk.add1, x, a))
		f := call(blk.ff2, call(blk.ff1, x))
		x = call(blk.ln2, call(blk.add2, x, f))
	}
	if !training {
		return
	}
	// The chain's gradients are not threaded through (each backward gets
	// a gradient of ones of its output's shape): the work is the same.
	for i := len(backs) - 1; i >= 0; i-- {
		g := runtime.NewTensor(outs[i].Shape...)
		for j := range g.Data {
			g.Data[j] = 1
		}
		if _, err := backs[i]([]*runtime.Tensor{g}); err != nil {
			b.Fatal(err)
		}
	}
}
