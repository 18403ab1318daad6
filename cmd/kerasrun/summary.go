package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/kerasrun/kerasrun"
)

// summary prints model.summary() as Keras 3 prints it to this terminal:
// the table is as wide as Keras makes it (88 or 108 columns, narrowed to
// the terminal width minus 4), COLUMNS read as Python's
// shutil.get_terminal_size() and rich read it. A model JSON needs no
// weights file.
func summary(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	weights := fs.String("weights", "", "weights file for a model JSON (not needed: the summary comes from the config)")
	expand := fs.Bool("expand-nested", false, "list the layers of nested models under them (expand_nested=True)")
	trainable := fs.Bool("show-trainable", false, "add a Trainable column (show_trainable=True)")
	lineLength := fs.Int("line-length", 0, "total width of the table (line_length); 0: Keras's default for this terminal")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("summary: need exactly one MODEL")
	}
	if *lineLength < 0 {
		return fmt.Errorf("summary: --line-length %d: must be positive", *lineLength)
	}
	opts := []kerasrun.LoadOption{kerasrun.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil)))}
	if *weights != "" {
		opts = append(opts, kerasrun.WithWeights(*weights))
	}
	o := kerasrun.SummaryOptions{LineLength: *lineLength, Columns: terminalColumns(stdout), ExpandNested: *expand, ShowTrainable: *trainable}
	return kerasrun.WriteSummaryFile(stdout, pos[0], o, opts...)
}

// terminalColumns is the width Python's shutil.get_terminal_size() gives
// Keras: COLUMNS when set, else the width of the terminal w is, else 80.
func terminalColumns(w io.Writer) int {
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		return c
	}
	if f, ok := w.(*os.File); ok {
		if c := terminalWidth(f); c > 0 {
			return c
		}
	}
	return 80
}
