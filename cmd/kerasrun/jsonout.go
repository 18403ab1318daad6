package main

import (
	"bufio"
	"bytes"
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

// writeCSV writes outputs of rank 1 or 2 side by side, one row per
// sample: a header of output names (name for a rank-1 output, name_0,
// name_1, ... for the columns of a rank-2 one), then the values as
// writeJSON writes them (NaN, Infinity, -Infinity included).
func writeCSV(w io.Writer, names []string, ys []*kerasrun.Tensor) error {
	rows := -1
	var header []string
	for i, y := range ys {
		if len(y.Shape) < 1 || len(y.Shape) > 2 {
			return fmt.Errorf("predict: output %q has shape %v: CSV holds outputs of rank 1 or 2 only (use .npy, .npz or .json)", names[i], y.Shape)
		}
		if rows >= 0 && y.Shape[0] != rows {
			return fmt.Errorf("predict: output %q has %d rows, output %q %d: CSV needs the same number", names[i], y.Shape[0], names[0], rows)
		}
		rows = y.Shape[0]
		if len(y.Shape) == 1 {
			header = append(header, names[i])
			continue
		}
		for j := 0; j < y.Shape[1]; j++ {
			header = append(header, fmt.Sprintf("%s_%d", names[i], j))
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(strings.Join(header, ","))
	bw.WriteByte('\n')
	var n int
	for r := 0; r < rows; r++ {
		for i, y := range ys {
			cols := len(y.Data) / max(rows, 1)
			for j, v := range y.Data[r*cols : (r+1)*cols] {
				if i > 0 || j > 0 {
					bw.WriteByte(',')
				}
				writeFloat(bw, v, &n)
			}
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// writeFile writes what write produces to path, or nothing if it fails.
func writeFile(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	return nil
}

// writeResultsJSON prints evaluate's results as one JSON object in the
// order of keys, with a NaN or infinite loss written as writeJSON does.
func writeResultsJSON(w io.Writer, keys []string, res map[string]float64) error {
	bw := bufio.NewWriter(w)
	bw.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			bw.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return err
		}
		bw.Write(key)
		bw.WriteByte(':')
		switch v := res[k]; {
		case math.IsNaN(v):
			bw.WriteString("NaN")
		case math.IsInf(v, 1):
			bw.WriteString("Infinity")
		case math.IsInf(v, -1):
			bw.WriteString("-Infinity")
		default:
			bw.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	bw.WriteString("}\n")
	return bw.Flush()
}
