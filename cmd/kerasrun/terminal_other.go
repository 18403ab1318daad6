//go:build !unix

package main

import "os"

// terminalWidth is 0: the terminal's width is not read on this system.
func terminalWidth(f *os.File) int { return 0 }
