package main

import (
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

// predictExts are the output formats predict -o writes.
var predictExts = []string{".npy", ".npz", ".json", ".csv"}

func predict(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	out := fs.String("o", "", "write outputs here, by extension: .npy (one output), .npz or .json (keyed by output name), .csv (outputs of rank 1 or 2, side by side)")
	weights := fs.String("weights", "", "weights file for a model JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return fmt.Errorf("predict: need MODEL and at least one INPUT")
	}
	if *out != "" {
		if err := checkOutputPath("predict", "-o", *out, predictExts...); err != nil {
			return err
		}
	}
	m, err := loadModel(pos[0], *weights)
	if err != nil {
		return err
	}
	outs := m.Outputs()
	names := make([]string, len(outs))
	for i, o := range outs {
		names[i] = o.Name
	}
	switch {
	case hasSuffixFold(*out, ".npy") && len(outs) > 1:
		return fmt.Errorf("predict: the model has %d outputs %v: write them to an .npz file", len(outs), names)
	case hasSuffixFold(*out, ".csv"):
		for _, o := range outs {
			if len(o.Shape) > 2 {
				return fmt.Errorf("predict: -o %s: output %q has shape %v: CSV holds outputs of rank 1 or 2 only (use .npy, .npz or .json)", *out, o.Name, o.Shape)
			}
		}
	}
	vs, err := readArrays(m, inputSlots(m), pos[1:], false)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	xs, err := tensors(vs)
	if err != nil {
		return err
	}
	ys, err := m.Predict(xs...)
	if err != nil {
		return err
	}
	switch {
	case *out == "":
		return writeJSON(stdout, names, ys)
	case hasSuffixFold(*out, ".npz"):
		return kerasrun.WriteNPZ(*out, names, ys)
	case hasSuffixFold(*out, ".json"):
		return writeFile(*out, func(w io.Writer) error { return writeJSON(w, names, ys) })
	case hasSuffixFold(*out, ".csv"):
		return writeFile(*out, func(w io.Writer) error { return writeCSV(w, names, ys) })
	}
	return kerasrun.WriteNPY(*out, ys[0])
}

func evaluate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	weights := fs.String("weights", "", "weights file for a model JSON")
	batch := fs.Int("batch-size", 32, "batch size, as Keras's evaluate(batch_size=...)")
	asJSON := fs.Bool("json", false, "print one JSON object {name: value}, as Keras's evaluate(return_dict=True)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *batch < 1 {
		return fmt.Errorf("evaluate: --batch-size %d: must be at least 1", *batch)
	}
	if len(pos) < 3 {
		return fmt.Errorf("evaluate: need MODEL, X and Y")
	}
	m, err := loadModel(pos[0], *weights)
	if err != nil {
		return err
	}
	nin := len(m.Inputs())
	vs, err := readArrays(m, append(inputSlots(m), outputSlots(m)...), pos[1:], false)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	arrays, err := tensors(vs)
	if err != nil {
		return err
	}
	if err := checkTargets(m, vs[nin:], arrays[nin:]); err != nil {
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
