// Command kerasrun runs Keras models from the command line.
//
//	kerasrun predict MODEL INPUT.npy [INPUT2.npy ...] [-o OUT.npy|OUT.npz] [--weights W]
//	kerasrun summary MODEL [--weights W]
//	kerasrun evaluate MODEL X.npy Y.npy [--weights W] [--batch-size N]
//	kerasrun inspect FILE
//	kerasrun fit MODEL --x X.npy --y Y.npy [--epochs N ...] -o OUT
//	kerasrun inspect --model MODEL [--weights W]
//	kerasrun convert IN OUT [--weights W]
//	kerasrun serve MODEL_OR_REPOSITORY [--http :8080] [--grpc :8081] [--batching ...]
//
// MODEL is any file Keras writes: .keras, legacy .h5, or model JSON (with
// --weights). Errors go to stderr with a non-zero exit status.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `kerasrun runs Keras models (.keras, .h5, model JSON + weights) in Go.

Usage:
  kerasrun predict MODEL INPUT.npy [INPUT2.npy ...] [-o OUT.npy|OUT.npz] [--weights W]
  kerasrun summary MODEL [--weights W]
  kerasrun evaluate MODEL X.npy [X2.npy ...] Y.npy [Y2.npy ...] [--weights W] [--batch-size N]
  kerasrun inspect FILE                      the HDF5 tree of an .h5 or .keras file
  kerasrun inspect --model MODEL [--weights W]  what the model file says, without reading weights
  kerasrun convert IN OUT [--weights W]       any readable model file to .keras, .h5 or .weights.h5
  kerasrun fit MODEL --x X.npy --y Y.npy [--epochs N] [--batch-size N] [--validation-split F]
               [--shuffle] [--seed N] [--verbose 0|1|2] [--initial-epoch N] -o OUT
  kerasrun serve MODEL_OR_REPOSITORY [--http :8080] [--grpc :8081] [--batching]
               [--max-batch-size N] [--batch-timeout D] [--poll D] [--version-policy P]
               Open Inference Protocol v2 (REST, gRPC) and TF Serving REST

predict without -o prints the outputs as JSON, keyed by output name; with
several outputs -o writes an .npz keyed by output name.
`

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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "predict":
		return predict(rest, stdout)
	case "summary":
		return summary(rest, stdout)
	case "evaluate":
		return evaluate(rest, stdout)
	case "inspect":
		return inspect(rest, stdout)
	case "fit":
		return fit(rest, stdout)
	case "convert":
		return convert(rest)
	case "serve":
		return serveCmd(rest, stdout)
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

// parseArgs parses flags placed anywhere among the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %v", fs.Name(), err)
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
