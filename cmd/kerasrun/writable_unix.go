//go:build unix

package main

import "syscall"

// dirWritable asks the system whether files can be created in dir
// (access(2) with W_OK), without creating one that a kill could leave.
func dirWritable(dir string) error { return syscall.Access(dir, 2) }
