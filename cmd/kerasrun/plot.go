package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/kerasrun/kerasrun"
)

// plotCmd draws a model's layer graph (keras.utils.plot_model) or, for a
// CSVLogger file, the loss and metric curves per epoch.
func plotCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	out := fs.String("o", "", "the picture to write: .svg or .png")
	weights := fs.String("weights", "", "weights file for a model JSON (not needed)")
	shapes := fs.Bool("show-shapes", false, "add input and output shapes (show_shapes=True)")
	dtype := fs.Bool("show-dtype", false, "add output dtypes (show_dtype=True)")
	names := fs.Bool("show-layer-names", true, "title boxes \"name (Class)\"; false: the class alone, plot_model's default")
	trainable := fs.Bool("show-trainable", false, "mark layers with weights trainable or not (show_trainable=True)")
	expand := fs.Bool("expand-nested", false, "draw nested models' layers in a dashed frame (expand_nested=True)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("plot: need exactly one MODEL or HISTORY.csv")
	}
	if *out == "" {
		return fmt.Errorf("plot: need -o OUT.svg or OUT.png")
	}
	if err := checkOutputPath("plot", "-o", *out, ".svg", ".png"); err != nil {
		return err
	}
	if hasSuffixFold(pos[0], ".csv") {
		h, err := kerasrun.ReadHistoryCSV(pos[0])
		if err != nil {
			return err
		}
		return kerasrun.SavePicture(*out, func(w io.Writer, f kerasrun.ImageFormat) error { return kerasrun.PlotHistory(w, f, h) })
	}
	opts := []kerasrun.LoadOption{kerasrun.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil)))}
	if *weights != "" {
		opts = append(opts, kerasrun.WithWeights(*weights))
	}
	o := kerasrun.PlotOptions{ShowShapes: *shapes, ShowDtype: *dtype, ShowLayerNames: *names, ShowTrainable: *trainable, ExpandNested: *expand}
	return kerasrun.SavePicture(*out, func(w io.Writer, f kerasrun.ImageFormat) error {
		return kerasrun.PlotModelFile(w, pos[0], f, o, opts...)
	})
}
