// Command kerasrun runs Keras models from the command line.
//
//	kerasrun predict MODEL INPUT [INPUT2 ...] [-o OUT.npy|.npz|.json|.csv] [--weights W]
//	kerasrun summary MODEL [--weights W] [--expand-nested] [--show-trainable] [--line-length N]
//	kerasrun plot MODEL -o OUT.svg|.png [--show-shapes] [--show-dtype] [--expand-nested] ...
//	kerasrun plot HISTORY.csv -o OUT.svg|.png
//	kerasrun evaluate MODEL X [X2 ...] Y [Y2 ...] [--weights W] [--batch-size N] [--json]
//	kerasrun inspect FILE
//	kerasrun inspect --model MODEL [--weights W]
//	kerasrun convert IN OUT [--weights W]
//	kerasrun fit MODEL --x X --y Y [--epochs N ...] -o OUT
//	kerasrun serve MODEL_OR_REPOSITORY [--http :8080] [--grpc :8081] [--batching ...]
//	kerasrun version
//	kerasrun help [COMMAND]      (or kerasrun COMMAND -h)
//
// MODEL is any file Keras writes: .keras, legacy .h5, or model JSON (with
// --weights). An array (INPUT, X, Y) is a file or NAME=FILE (inputsHelp).
// Errors go to stderr with a non-zero exit status.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// command is one subcommand: its synopsis (one or more lines, without the
// leading "kerasrun "), what it does, an example, and how it runs.
type command struct {
	name, synopsis, what, example string
	run                           func(args []string, stdout io.Writer) error
}

// notes are paragraphs of a command's help after what it does.
var notes = map[string]string{"predict": inputsHelp, "evaluate": inputsHelp, "fit": inputsHelp}

// commands is the command table; the top-level usage and every
// `kerasrun CMD -h` are printed from it.
var commands []command

func init() {
	commands = []command{
		{"predict", "predict MODEL INPUT [INPUT2 ...] [-o OUT.npy|OUT.npz|OUT.json|OUT.csv] [--weights W]\n    [--batch-size N] [--verbose 0|1|2] [--top K [--labels FILE]]",
			"the model's outputs: JSON keyed by output name on stdout, or -o by extension",
			"kerasrun predict testdata/mlp_relu/model_k3.keras testdata/mlp_relu/x.npy -o pred.npy", predict},
		{"summary", "summary MODEL [--weights W] [--expand-nested] [--show-trainable] [--line-length N]",
			"Keras 3's model.summary(): layers, output shapes, connections, parameter counts and sizes",
			"kerasrun summary testdata/cifar_cnn/model_k3.keras", summary},
		{"plot", "plot MODEL -o OUT.svg|OUT.png [--show-shapes] [--show-dtype] [--show-layer-names=false]\n    [--show-trainable] [--expand-nested] [--weights W]\nplot HISTORY.csv -o OUT.svg|OUT.png",
			"the layer graph as keras.utils.plot_model draws it; or a CSVLogger file's loss and metric curves per epoch",
			"kerasrun plot testdata/func_residual/model_k3.keras --show-shapes -o model.png", plotCmd},
		{"evaluate", "evaluate MODEL X [X2 ...] Y [Y2 ...] [--weights W] [--batch-size N] [--json]\n    [--verbose 0|1|2]",
			"the compiled loss and metrics on X and Y",
			"kerasrun evaluate testdata/cifar_cnn/model_k3.keras testdata/cifar_cnn/x.npy testdata/cifar_cnn/y.npy", evaluate},
		{"inspect", "inspect FILE\ninspect --model MODEL [--weights W]",
			"the HDF5 tree of an .h5 or .keras file; with --model, what the model file says, without reading weights",
			"kerasrun inspect --model testdata/cifar_cnn/model_k3.keras", inspect},
		{"convert", "convert IN OUT [--weights W]", "any readable model file to .keras, .h5 or .weights.h5",
			"kerasrun convert testdata/cifar_cnn/model_k2.h5 cnn.keras", convert},
		{"fit", "fit MODEL --x X --y Y [--epochs N] [--batch-size N] [--validation-split F]\n    [--shuffle] [--seed N] [--verbose 0|1|2] [--initial-epoch N] [--plot HISTORY.png] -o OUT",
			"continue training with the file's loss, metrics and optimizer state; save to OUT (.keras, .h5, .weights.h5)",
			"kerasrun fit testdata/mlp_relu/model_k3.keras --x testdata/mlp_relu/x.npy --y testdata/mlp_relu/y.npy --epochs 2 -o tuned.keras", fit},
		{"serve", "serve MODEL_OR_REPOSITORY [--http :8080] [--grpc :8081] [--batching]\n    [--max-batch-size N] [--batch-timeout D] [--poll D] [--version-policy P]",
			"Open Inference Protocol v2 (REST, gRPC) and TF Serving REST",
			"kerasrun serve /tmp/models --batching --quiet", serveCmd},
		{"version", "version", "the kerasrun and Go versions, and the Keras versions the fixtures were checked against",
			"kerasrun version", version},
		{"help", "help [COMMAND]", "this text, or a command's usage and flags", "kerasrun help predict", help},
	}
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// usage is the top-level help.
func usage() string {
	var b strings.Builder
	b.WriteString("kerasrun runs Keras models (.keras, .h5, model JSON + weights) in Go.\n\nUsage:\n")
	for i := range commands {
		c := &commands[i]
		b.WriteString(synopsis(c, "  "))
		fmt.Fprintf(&b, "      %s\n", c.what)
	}
	b.WriteString("\nkerasrun COMMAND -h (or kerasrun help COMMAND) lists the command's flags.\n")
	return b.String()
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, errorLine(err))
		os.Exit(1)
	}
}

// errorLine is err prefixed by "kerasrun: ", which the library's errors
// already start with.
func errorLine(err error) string {
	if msg := err.Error(); strings.HasPrefix(msg, "kerasrun: ") {
		return msg
	}
	return "kerasrun: " + err.Error()
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprint(stdout, usage())
		return nil
	}
	c := lookup(args[0])
	if c == nil {
		return fmt.Errorf("unknown command %q\n\n%s", args[0], usage())
	}
	err := c.run(args[1:], stdout)
	var h *helpRequest
	if errors.As(err, &h) {
		h.print(stdout, c)
		return nil
	}
	return err
}

func help(args []string, stdout io.Writer) error {
	pos, err := parseArgs(flag.NewFlagSet("help", flag.ContinueOnError), args)
	switch {
	case err != nil:
		return err
	case len(pos) == 0:
		fmt.Fprint(stdout, usage())
		return nil
	case len(pos) > 1:
		return fmt.Errorf("help: want at most one COMMAND, got %q", pos)
	case lookup(pos[0]) == nil:
		return fmt.Errorf("help: unknown command %q (commands: %s)", pos[0], commandNames())
	}
	return run([]string{pos[0], "-h"}, stdout)
}

func commandNames() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// helpRequest is what parseArgs returns for -h, -help or --help; run
// prints the command's usage and flags to stdout and exits 0.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string { return h.fs.Name() + ": help requested" }

func (h *helpRequest) print(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage:\n%s\n%s.\n", synopsis(c, "  "), upperFirst(c.what))
	if n := notes[c.name]; n != "" {
		fmt.Fprintf(w, "\n%s\n", n)
	}
	fmt.Fprintf(w, "\nExample:\n  %s\n", c.example)
	n := 0
	h.fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags (-name or --name; anywhere among the arguments):\n")
		h.fs.SetOutput(w)
		h.fs.PrintDefaults()
		h.fs.SetOutput(io.Discard)
	}
}

// synopsis renders c.synopsis, one line per form of the command
// ("kerasrun " + the line) and continuation lines (those starting with a
// space) indented under it.
func synopsis(c *command, indent string) string {
	var b strings.Builder
	for _, line := range strings.Split(c.synopsis, "\n") {
		if strings.HasPrefix(line, " ") {
			fmt.Fprintf(&b, "%s      %s\n", indent, strings.TrimSpace(line))
		} else {
			fmt.Fprintf(&b, "%skerasrun %s\n", indent, line)
		}
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseArgs parses flags placed anywhere among the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{fs}
			}
			return nil, fmt.Errorf("%s: %v (kerasrun %s -h lists the flags)", fs.Name(), err, fs.Name())
		}
		args = fs.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	return pos, nil
}

func hasSuffixFold(s, suffix string) bool {
	return strings.HasSuffix(strings.ToLower(s), suffix)
}

// checkOutputPath refuses, before any work is done, an output whose
// extension is not one of exts or whose directory does not exist.
func checkOutputPath(cmd, flagName, path string, exts ...string) error {
	ok := false
	for _, e := range exts {
		ok = ok || hasSuffixFold(path, e)
	}
	if !ok {
		return fmt.Errorf("%s: %s %s: cannot tell the output format from the extension (use %s)", cmd, flagName, path, strings.Join(exts, ", "))
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: %s %s: directory %s does not exist", cmd, flagName, path, dir)
	}
	// The file is written as a temporary beside it, then renamed.
	if err := dirWritable(dir); err != nil {
		return fmt.Errorf("%s: %s %s: cannot write in %s: %v", cmd, flagName, path, dir, err)
	}
	return nil
}
