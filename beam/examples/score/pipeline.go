package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/kerasrun/kerasrun/beam"
	"github.com/kerasrun/kerasrun/internal/npy"
)

// pipelineConfig is what the flags say.
type pipelineConfig struct {
	Model, Weights, Input, Format string
	Header                        bool
	Output, Failures              string
	BatchSize                     int
}

func (c *pipelineConfig) check() error {
	switch {
	case c.Model == "":
		return fmt.Errorf("score: --model is required")
	case c.Input == "":
		return fmt.Errorf("score: --input is required")
	case c.Output == "":
		return fmt.Errorf("score: --output is required")
	case c.BatchSize < 1:
		return fmt.Errorf("score: --batch_size %d: must be at least 1", c.BatchSize)
	}
	switch c.Format {
	case "auto", "npy", "csv", "text":
	default:
		return fmt.Errorf("score: --format %q: want npy, csv, text or auto", c.Format)
	}
	if c.Failures == "" {
		c.Failures = c.Output + ".failures"
	}
	return nil
}

// build adds the pipeline: match the input files, read their samples,
// RunInference, write the results and the failures as JSON lines.
func build(s beam.Scope, c pipelineConfig) {
	files := fileio.ReadMatches(s, fileio.MatchFiles(s, c.Input))
	samples, unreadable := beam.ParDo2(s, &readSamplesFn{Format: c.Format, Header: c.Header}, files)
	opts := []kerasbeam.Option{kerasbeam.MaxBatchSize(c.BatchSize)}
	if c.Weights != "" {
		opts = append(opts, kerasbeam.WeightsURI(c.Weights))
	}
	results, failed := kerasbeam.RunInference(s, c.Model, samples, opts...)
	textio.Write(s, c.Output, beam.ParDo(s, resultLine, results))
	textio.Write(s, c.Failures, beam.ParDo(s, failureLine, beam.Flatten(s, failed, unreadable)))
}

func init() {
	register.DoFn4x1[context.Context, fileio.ReadableFile, func(string, kerasbeam.Tensor), func(kerasbeam.Failure), error](&readSamplesFn{})
	register.Emitter2[string, kerasbeam.Tensor]()
	register.Emitter1[kerasbeam.Failure]()
	register.Function2x2(resultLine)
	register.Function1x2(failureLine)
}

// readSamplesFn reads one input file's samples, keyed by "file:row"; a
// file or line it cannot read goes out as a Failure.
type readSamplesFn struct {
	Format string
	Header bool
}

func (f *readSamplesFn) ProcessElement(ctx context.Context, file fileio.ReadableFile, emit func(string, kerasbeam.Tensor), fail func(kerasbeam.Failure)) error {
	name := file.Metadata.Path
	r, err := file.Open(ctx)
	if err != nil {
		fail(kerasbeam.Failure{Key: name, Error: err.Error()})
		return nil
	}
	defer r.Close()
	format := f.Format
	if format == "auto" {
		format = "text"
		if strings.EqualFold(path.Ext(strings.TrimSuffix(name, ".gz")), ".npy") {
			format = "npy"
		}
	}
	if format == "npy" {
		return readNPY(name, r, emit, fail)
	}
	return readLines(name, r, format == "csv", f.Header, emit, fail)
}

// readNPY emits each row of an .npy array as one sample of the array's
// trailing shape.
func readNPY(name string, r io.Reader, emit func(string, kerasbeam.Tensor), fail func(kerasbeam.Failure)) error {
	a, err := npy.Read(r)
	if err != nil {
		fail(kerasbeam.Failure{Key: name, Error: fmt.Sprintf("%s: %v", name, err)})
		return nil
	}
	if len(a.Shape) == 0 {
		fail(kerasbeam.Failure{Key: name, Error: fmt.Sprintf("%s: a scalar array holds no rows of samples", name)})
		return nil
	}
	rows := a.Shape[0]
	shape := append([]int{}, a.Shape[1:]...)
	per := 1
	for _, d := range shape {
		per *= d
	}
	for i := 0; i < rows; i++ {
		emit(fmt.Sprintf("%s:%d", name, i), kerasbeam.Tensor{Shape: shape, Data: a.Data[i*per : (i+1)*per]})
	}
	return nil
}

// readLines emits each non-blank line as one sample shaped as the model's
// input: numbers separated by commas (csv) or by commas or white space.
func readLines(name string, r io.Reader, csv, header bool, emit func(string, kerasbeam.Tensor), fail func(kerasbeam.Failure)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	sep := func(c rune) bool { return c == ',' || !csv && (c == ' ' || c == '\t') }
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || n == 1 && header {
			continue
		}
		key := fmt.Sprintf("%s:%d", name, n)
		fields := strings.FieldsFunc(line, sep)
		data := make([]float32, len(fields))
		var err error
		for i, fld := range fields {
			var v float64
			if v, err = strconv.ParseFloat(strings.TrimSpace(fld), 32); err != nil {
				err = fmt.Errorf("%s: value %d: %w", key, i+1, err)
				break
			}
			data[i] = float32(v)
		}
		if err != nil {
			fail(kerasbeam.Failure{Key: key, Element: describe(line), Error: err.Error()})
			continue
		}
		emit(key, kerasbeam.Tensor{Data: data})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("score: read %s: %w", name, err)
	}
	return nil
}

func describe(line string) string {
	if len(line) > 1024 {
		return line[:1024] + "..."
	}
	return line
}

// result is one line of the --output file: each output's values, in
// row-major order, by output name.
type result struct {
	ID      string                 `json:"id"`
	Model   string                 `json:"model"`
	Outputs map[string][]jsonFloat `json:"outputs"`
}

// jsonFloat is a float32 written as the shortest decimal that reads back
// as the same float32, and NaN or an infinity (which JSON has no number
// for) as null.
type jsonFloat float32

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 32), nil
}

func resultLine(id string, r kerasbeam.PredictionResult) (string, error) {
	out := result{ID: id, Model: r.ModelID, Outputs: map[string][]jsonFloat{}}
	for _, t := range r.Inference {
		vs := make([]jsonFloat, len(t.Data))
		for i, v := range t.Data {
			vs[i] = jsonFloat(v)
		}
		out.Outputs[t.Name] = vs
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// failure is one line of the --failures file.
type failure struct {
	ID      string `json:"id"`
	Error   string `json:"error"`
	Element string `json:"element,omitempty"`
}

func failureLine(f kerasbeam.Failure) (string, error) {
	b, err := json.Marshal(failure{ID: f.Key, Error: f.Error, Element: f.Element})
	return string(b), err
}
