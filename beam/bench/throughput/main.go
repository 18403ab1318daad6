// Command throughput times scoring one .npy file of samples with a Keras
// model, for beam/bench/bench.sh: --mode=loop is a plain Go loop over
// kerasrun's Predict in batches, --mode=prism the same batches through a
// Beam pipeline (read the file's rows, kerasbeam.RunInference, count) on
// the in-process Prism runner, timed from submission to completion. It
// prints one line: mode, samples, seconds, samples/s.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/kerasrun/kerasrun"
	"github.com/kerasrun/kerasrun/beam"
)

var (
	model = flag.String("model", "", "Keras model file (required)")
	data  = flag.String("data", "", ".npy file of samples, batch first (required)")
	mode  = flag.String("mode", "loop", "loop (Predict in a Go loop) or prism (a Beam pipeline on Prism)")
	batch = flag.Int("batch", 32, "samples per Predict call (MaxBatchSize in the pipeline)")
)

func main() {
	flag.Parse()
	beam.Init()
	if *model == "" || *data == "" || *batch < 1 {
		log.Fatal("throughput: --model, --data and a positive --batch are required")
	}
	var n int
	var d time.Duration
	var err error
	switch *mode {
	case "loop":
		n, d, err = loop(*model, *data, *batch)
	case "prism":
		n, d, err = pipeline(*model, *data, *batch)
	default:
		err = fmt.Errorf("--mode %q: want loop or prism", *mode)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("go-%s\t%d\t%.3f\t%.0f\n", *mode, n, d.Seconds(), float64(n)/d.Seconds())
}

// loop predicts the file's samples batch by batch; the time leaves out
// loading the model and the file.
func loop(modelPath, dataPath string, batch int) (int, time.Duration, error) {
	m, err := kerasrun.Load(modelPath)
	if err != nil {
		return 0, 0, err
	}
	x, err := kerasrun.ReadNPY(dataPath)
	if err != nil {
		return 0, 0, err
	}
	n := x.Shape[0]
	per := len(x.Data) / n
	start := time.Now()
	for i := 0; i < n; i += batch {
		j := min(i+batch, n)
		t, err := kerasrun.NewTensor(append([]int{j - i}, x.Shape[1:]...), x.Data[i*per:j*per])
		if err != nil {
			return 0, 0, err
		}
		if _, err := m.Predict(t); err != nil {
			return 0, 0, err
		}
	}
	return n, time.Since(start), nil
}

func init() {
	register.Function2x1(readRows)
	register.Emitter1[[]float32]()
}

// readRows emits each row of the .npy file at path.
func readRows(path string, emit func([]float32)) error {
	x, err := kerasrun.ReadNPY(path)
	if err != nil {
		return err
	}
	per := len(x.Data) / x.Shape[0]
	for i := 0; i < x.Shape[0]; i++ {
		emit(x.Data[i*per : (i+1)*per])
	}
	return nil
}

// pipeline runs read -> RunInference -> count on Prism; the time covers
// the whole job: submission, loading the model and the file, scoring.
func pipeline(modelPath, dataPath string, batch int) (int, time.Duration, error) {
	p, s := beam.NewPipelineWithRoot()
	rows := beam.ParDo(s, readRows, beam.Create(s, dataPath))
	results, failed := kerasbeam.RunInference(s, modelPath, rows, kerasbeam.MaxBatchSize(batch))
	stats.Count(s, results)
	stats.Count(s, failed)
	start := time.Now()
	pr, err := beam.Run(context.Background(), "prism", p)
	if err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	var n int64
	for _, c := range pr.Metrics().Query(func(r metrics.SingleResult) bool { return r.Name() == "num_inferences" }).Counters() {
		n += c.Result()
	}
	return int(n), d, nil
}
