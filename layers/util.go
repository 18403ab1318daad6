package layers

import (
	"strings"

	"github.com/kerasrun/kerasrun/runtime"
)

func shapesString(in [][]int) string {
	parts := make([]string, len(in))
	for i, s := range in {
		parts[i] = runtime.FormatShape(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func copyShape(s []int) []int { return append([]int(nil), s...) }

// single checks a layer gets exactly one input.
func single(b *Base, in [][]int) ([]int, error) {
	if len(in) != 1 {
		return nil, ShapeError(b, "expects one input, got %d: %s", len(in), shapesString(in))
	}
	return in[0], nil
}
