//go:build !amd64 || noasm

package kernels

// detectLevel reports that only the portable kernels are available.
func detectLevel() level { return levelGeneric }
