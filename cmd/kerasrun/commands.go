package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"

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

func readInputs(paths []string) ([]*kerasrun.Tensor, error) {
	var xs []*kerasrun.Tensor
	for _, p := range paths {
		x, err := kerasrun.ReadNPY(p)
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	return xs, nil
}

func predict(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	out := fs.String("o", "", "write outputs to this .npy (one output) or .npz file")
	weights := fs.String("weights", "", "weights file for a model JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return fmt.Errorf("predict: need MODEL and at least one INPUT.npy")
	}
	m, err := loadModel(pos[0], *weights)
	if err != nil {
		return err
	}
	xs, err := readInputs(pos[1:])
	if err != nil {
		return err
	}
	ys, err := m.Predict(xs...)
	if err != nil {
		return err
	}
	names := make([]string, len(ys))
	for i, o := range m.Outputs() {
		names[i] = o.Name
	}
	switch {
	case *out == "":
		return writeJSON(stdout, names, ys)
	case hasSuffixFold(*out, ".npz"):
		return kerasrun.WriteNPZ(*out, names, ys)
	case len(ys) > 1:
		return fmt.Errorf("predict: the model has %d outputs %v: write them to an .npz file", len(ys), names)
	}
	return kerasrun.WriteNPY(*out, ys[0])
}

func summary(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	weights := fs.String("weights", "", "weights file for a model JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("summary: need exactly one MODEL")
	}
	m, err := loadModel(pos[0], *weights)
	if err != nil {
		return err
	}
	return m.Summary(stdout)
}

func evaluate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	weights := fs.String("weights", "", "weights file for a model JSON")
	batch := fs.Int("batch-size", 32, "batch size, as Keras's evaluate(batch_size=...)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 3 {
		return fmt.Errorf("evaluate: need MODEL, X.npy and Y.npy")
	}
	m, err := loadModel(pos[0], *weights)
	if err != nil {
		return err
	}
	nin, nout := len(m.Inputs()), len(m.Outputs())
	if len(pos)-1 != nin+nout {
		return fmt.Errorf("evaluate: the model has %d input(s) and %d output(s): give %d X files then %d Y files", nin, nout, nin, nout)
	}
	arrays, err := readInputs(pos[1:])
	if err != nil {
		return err
	}
	res, err := m.Evaluate(arrays[:nin], arrays[nin:], kerasrun.EvaluateOptions{BatchSize: *batch})
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
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

func convert(args []string) error {
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
