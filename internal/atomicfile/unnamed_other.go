//go:build !linux

package atomicfile

import (
	"errors"
	"os"
)

var errNoUnnamed = errors.New("no unnamed files on this system")

func createUnnamed(string, string, os.FileMode) (*os.File, error) { return nil, errNoUnnamed }

func nameUnnamed(*os.File, string) error { return errNoUnnamed }

func lockTemp(*os.File) error { return nil }

func sweepStale(string, string) {}
