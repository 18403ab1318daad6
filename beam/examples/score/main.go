// Command score is an example Beam pipeline around kerasbeam.RunInference:
// it reads samples from files (.npy arrays, one sample per row; CSV or
// whitespace-separated text, one sample per line), scores them with a Keras
// model file and writes one JSON line per sample:
//
//	{"id":"x.npy:3","model":"model.keras","outputs":{"activation_1":[0.83,...]}}
//
// The id is the sample's file and row (0-based for .npy, the 1-based line
// number for text); values are float32 written exactly (shortest round
// trip), a NaN or infinite output as null. Samples that cannot be scored (a line that is not
// numbers, a wrong length, NaN) go, with their error, to the --failures
// file instead (written only when there are failures). On the local Prism
// runner (the default):
//
//	cd beam && go run ./examples/score --model=../testdata/mlp_relu/model_k3.keras \
//		--input=../testdata/mlp_relu/x.npy --output=/tmp/scores.jsonl
//
// Any Beam runner works (--runner=dataflow, flink, spark, universal); the
// model and the files can live on any Beam filesystem the binary links
// (local, gs://). See the README's Beam section.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

var (
	model     = flag.String("model", "", "Keras model file (.keras, .h5, or model JSON with --weights), on any Beam filesystem (required)")
	weights   = flag.String("weights", "", "weights file of a model JSON")
	input     = flag.String("input", "", "glob of the input files (required)")
	format    = flag.String("format", "auto", "input format: npy, csv, text, or auto (npy for .npy files, else text lines of numbers separated by commas or spaces)")
	header    = flag.Bool("header", false, "skip the first line of each text or CSV file")
	output    = flag.String("output", "", "file to write the results to, one JSON line per sample (required)")
	failures  = flag.String("failures", "", "file to write the samples that failed to (default: --output with .failures appended)")
	batchSize = flag.Int("batch_size", 32, "most samples predicted in one call")
)

func main() {
	flag.Parse()
	beam.Init()
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// run builds the pipeline from the flags and runs it on the --runner.
func run(ctx context.Context) error {
	c := pipelineConfig{
		Model: *model, Weights: *weights, Input: *input, Format: *format, Header: *header,
		Output: *output, Failures: *failures, BatchSize: *batchSize,
	}
	if err := c.check(); err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	build(s, c)
	return beamx.Run(ctx, p)
}
