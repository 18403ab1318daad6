package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/kerasrun/kerasrun"
)

func loadModel(path, weights string) (*kerasrun.Model, error) {
	// Load's warnings (optimizer state that is skipped) go to stderr.
	opts := []kerasrun.LoadOption{kerasrun.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil)))}
	if weights != "" {
		opts = append(opts, kerasrun.WithWeights(weights))
	}
	return kerasrun.Load(path, opts...)
}

// stdin is where an argument - reads from; a test replaces it.
var stdin io.Reader = os.Stdin

// readArrays reads the arguments as arrays and places them in slots
// (assign); the inputs among them are checked against the model's shapes.
func readArrays(m *kerasrun.Model, slots []slot, args []string, stream bool) ([]value, error) {
	r := &reader{m: m, slots: slots, stdin: stdin, stream: stream}
	vs, err := r.read(args)
	if err != nil {
		return nil, err
	}
	vs, err = assign(slots, vs)
	if err != nil {
		return nil, err
	}
	if err := loadImages(m, slots, vs); err != nil {
		return nil, err
	}
	reshapeFlat(slots, vs)
	return vs, checkInputShapes(slots, vs)
}

// checkTargets refuses targets that cannot be the outputs' labels
// (kerasrun.Model.CheckTargets), naming the files.
func checkTargets(m *kerasrun.Model, vs []value, ys []*kerasrun.Tensor) error {
	if err := m.CheckTargets(ys); err != nil {
		var from []string
		for _, v := range vs {
			from = append(from, v.name+"="+v.from)
		}
		return fmt.Errorf("%w; targets given: %s", err, strings.Join(from, " "))
	}
	return nil
}

func evaluate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	weights := fs.String("weights", "", "weights file for a model JSON")
	batch := fs.Int("batch-size", 32, "batch size, as Keras's evaluate(batch_size=...); a .npy is read a batch at a time")
	asJSON := fs.Bool("json", false, "print one JSON object {name: value}, as Keras's evaluate(return_dict=True)")
	verbose := verboseFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *batch < 1 {
		return fmt.Errorf("evaluate: --batch-size %d: must be at least 1", *batch)
	}
	if err := checkVerbose("evaluate", *verbose); err != nil {
		return err
	}
	if len(pos) < 3 {
		return fmt.Errorf("evaluate: need MODEL, X and Y")
	}
	m, err := loadModel(pos[0], *weights)
	if err != nil {
		return err
	}
	nin := len(m.Inputs())
	vs, err := readArrays(m, append(inputSlots(m), outputSlots(m)...), pos[1:], true)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	// Only the targets' shapes are checked here; the arrays are read a
	// batch at a time.
	shapes := make([]*kerasrun.Tensor, len(vs)-nin)
	for i := range shapes {
		shape, err := vs[nin+i].shape()
		if err != nil {
			return err
		}
		shapes[i] = &kerasrun.Tensor{Shape: shape}
	}
	if err := checkTargets(m, vs[nin:], shapes); err != nil {
		return err
	}
	srcs, closeSrcs, err := sources(vs)
	if err != nil {
		return err
	}
	defer closeSrcs()
	res, err := m.EvaluateSources(context.Background(), srcs[:nin], srcs[nin:], kerasrun.EvaluateOptions{BatchSize: *batch, Verbose: progressLevel(*verbose), Progress: progressOut})
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if *asJSON {
		return writeResultsJSON(stdout, keys, res)
	}
	for _, k := range keys {
		fmt.Fprintf(stdout, "%s: %.6g\n", k, res[k])
	}
	return nil
}

func inspect(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	model := fs.Bool("model", false, "describe the model (config, shapes, parameters) instead of dumping the HDF5 tree")
	weights := fs.String("weights", "", "weights file for a model JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("inspect: need exactly one FILE")
	}
	if !*model {
		return kerasrun.DumpHDF5(stdout, pos[0])
	}
	var opts []kerasrun.LoadOption
	if *weights != "" {
		opts = append(opts, kerasrun.WithWeights(*weights))
	}
	in, err := kerasrun.Inspect(pos[0], opts...)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, in.String())
	return err
}

func convert(args []string, _ io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	weights := fs.String("weights", "", "weights file for a model JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("convert: need IN and OUT")
	}
	var opts []kerasrun.LoadOption
	if *weights != "" {
		opts = append(opts, kerasrun.WithWeights(*weights))
	}
	return kerasrun.Convert(pos[0], pos[1], opts...)
}
