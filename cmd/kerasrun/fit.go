package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kerasrun/kerasrun"
)

// fileList is a flag that may be given several times (or as a
// comma-separated list): one .npy per model input or output.
type fileList []string

func (l *fileList) String() string { return strings.Join(*l, ",") }

func (l *fileList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// fit continues training a model file on .npy arrays with the loss,
// metrics and optimizer state the file holds, and saves the result.
func fit(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fit", flag.ContinueOnError)
	var xs, ys fileList
	fs.Var(&xs, "x", "input array, FILE or NAME=FILE (repeat, or comma-separate, for several inputs)")
	fs.Var(&ys, "y", "target array, FILE or NAME=FILE (repeat, or comma-separate, for several outputs)")
	epochs := fs.Int("epochs", 1, "index of the last epoch, as Keras's fit(epochs=...)")
	initial := fs.Int("initial-epoch", 0, "epoch to start from, as Keras's fit(initial_epoch=...)")
	batch := fs.Int("batch-size", 32, "samples per step")
	split := fs.Float64("validation-split", 0, "fraction of the samples, from the end, kept for validation")
	shuffle := fs.Bool("shuffle", false, "shuffle the training samples every epoch (seeded by --seed)")
	seed := fs.Uint64("seed", 0, "seed of the shuffling")
	verbose := fs.Int("verbose", 1, "0 silent, 1 progress bar, 2 one line per epoch")
	weights := fs.String("weights", "", "weights file for a model JSON")
	out := fs.String("o", "", "write the trained model here (.keras, .h5 or .weights.h5)")
	plotOut := fs.String("plot", "", "also draw the loss and metric curves per epoch here (.svg or .png)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("fit: need exactly one MODEL (got %d positional arguments)", len(pos))
	}
	if len(xs) == 0 || len(ys) == 0 {
		return fmt.Errorf("fit: need --x X and --y Y")
	}
	if *out == "" {
		return fmt.Errorf("fit: need -o OUT for the trained model")
	}
	if *batch < 1 {
		return fmt.Errorf("fit: --batch-size %d: must be at least 1", *batch)
	}
	if *verbose < 0 || *verbose > 2 {
		return fmt.Errorf("fit: --verbose %d: must be 0 (silent), 1 (progress bar) or 2 (one line per epoch)", *verbose)
	}
	// Refused before training, so that no training is lost to a bad -o.
	if err := checkOutputPath("fit", "-o", *out, ".keras", ".h5", ".hdf5", ".weights.h5"); err != nil {
		return err
	}
	if *plotOut != "" {
		if err := checkOutputPath("fit", "--plot", *plotOut, ".svg", ".png"); err != nil {
			return err
		}
	}
	m, err := loadModel(pos[0], *weights)
	if err != nil {
		return err
	}
	xv, err := readArrays(m, inputSlots(m), xs, false)
	if err != nil {
		return fmt.Errorf("fit: --x: %w", err)
	}
	yv, err := readArrays(m, outputSlots(m), ys, false)
	if err != nil {
		return fmt.Errorf("fit: --y: %w", err)
	}
	x, err := tensors(xv)
	if err != nil {
		return err
	}
	y, err := tensors(yv)
	if err != nil {
		return err
	}
	if err := checkTargets(m, yv, y); err != nil {
		return err
	}
	hist, err := m.Fit(x, y, kerasrun.FitOptions{
		Epochs: *epochs, InitialEpoch: *initial, BatchSize: *batch, ValidationSplit: *split,
		Shuffle: *shuffle, Seed: *seed, Verbose: *verbose, Progress: stdout,
	})
	if err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	if *plotOut != "" {
		return kerasrun.SavePicture(*plotOut, func(w io.Writer, f kerasrun.ImageFormat) error { return kerasrun.PlotHistory(w, f, hist) })
	}
	return nil
}
