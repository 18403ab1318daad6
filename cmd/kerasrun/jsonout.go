package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/kerasrun/kerasrun"
)

// stderr receives the note on non-finite outputs; a test replaces it.
var stderr io.Writer = os.Stderr

// writeJSON prints outputs as nested lists keyed by output name, in the
// model's output order. encoding/json refuses NaN and ±Inf, which a model
// can produce (NaN weights, an overflow inside a layer), so the numbers are
// written here, with NaN, Infinity and -Infinity as TF Serving's REST API
// writes them (RapidJSON's kWriteNanAndInfFlag). Which outputs hold such
// values goes to stderr, since strict JSON parsers reject the literals.
func writeJSON(w io.Writer, names []string, ys []*kerasrun.Tensor) error {
	bw := bufio.NewWriter(w)
	var nonFinite []string
	bw.WriteByte('{')
	for i, y := range ys {
		if i > 0 {
			bw.WriteByte(',')
		}
		key, err := json.Marshal(names[i])
		if err != nil {
			return err
		}
		bw.Write(key)
		bw.WriteByte(':')
		var n int
		if len(y.Shape) == 0 && len(y.Data) == 0 {
			return fmt.Errorf("predict: output %q is a scalar with no value", names[i])
		}
		writeNested(bw, y.Shape, y.Data, &n)
		if n > 0 {
			nonFinite = append(nonFinite, fmt.Sprintf("%s (%d of %d values)", names[i], n, len(y.Data)))
		}
	}
	bw.WriteString("}\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	if len(nonFinite) > 0 {
		fmt.Fprintf(stderr, "kerasrun: predict: non-finite values (written as NaN, Infinity, -Infinity) in output %s\n", strings.Join(nonFinite, ", "))
	}
	return nil
}

// writeNested writes data as nested lists of the given shape and counts
// the non-finite values in *nonFinite.
func writeNested(w *bufio.Writer, shape []int, data []float32, nonFinite *int) {
	if len(shape) == 0 {
		writeFloat(w, data[0], nonFinite)
		return
	}
	w.WriteByte('[')
	if len(shape) == 1 {
		for i, v := range data {
			if i > 0 {
				w.WriteByte(',')
			}
			writeFloat(w, v, nonFinite)
		}
	} else {
		n := shape[0]
		step := len(data) / max(n, 1)
		for i := 0; i < n; i++ {
			if i > 0 {
				w.WriteByte(',')
			}
			writeNested(w, shape[1:], data[i*step:(i+1)*step], nonFinite)
		}
	}
	w.WriteByte(']')
}

func writeFloat(w *bufio.Writer, v float32, nonFinite *int) {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		*nonFinite++
		w.WriteString("NaN")
	case math.IsInf(f, 1):
		*nonFinite++
		w.WriteString("Infinity")
	case math.IsInf(f, -1):
		*nonFinite++
		w.WriteString("-Infinity")
	default:
		var buf [32]byte
		w.Write(strconv.AppendFloat(buf[:0], f, 'g', -1, 32))
	}
}
