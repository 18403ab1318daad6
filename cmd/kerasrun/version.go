package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// checkedAgainst is the Python Keras the committed fixtures were exported
// with (compat/python/requirements.txt pins it; a test keeps the two equal).
var checkedAgainst = []struct{ pkg, version string }{{"keras", "3.15.1"}, {"tf-keras", "2.21.0"}}

// version prints the module version (from the build info: a tagged
// version with `go install ...@vX`, "(devel)" for a local build), the Go
// version and the Keras versions the fixtures were checked against.
func version(args []string, stdout io.Writer) error {
	pos, err := parseArgs(flag.NewFlagSet("version", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("version: takes no arguments, got %q", pos)
	}
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Fprintf(stdout, "kerasrun %s\n%s %s/%s\nchecked against", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for i, k := range checkedAgainst {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(stdout, "%s %s %s", sep, k.pkg, k.version)
	}
	fmt.Fprintln(stdout)
	return nil
}
