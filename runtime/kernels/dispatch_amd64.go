//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// detectLevel picks the widest instruction set the CPU and OS support.
func detectLevel() level {
	switch {
	case cpu.X86.HasAVX512F:
		return levelAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return levelAVX2
	}
	return levelGeneric
}
