package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/kerasrun/kerasrun"
)

// predictExts are the output formats predict -o writes.
var predictExts = []string{".npy", ".npz", ".json", ".csv"}

// progressOut receives predict's and evaluate's progress bars: stderr,
// since stdout holds the results.
var progressOut io.Writer = os.Stderr

// onBatch, when set (by a test), sees the size of every predict batch.
var onBatch func(int)

// verboseFlag is predict's and evaluate's --verbose: -1, the default,
// means Keras's "auto" on a terminal and silence when stderr is not one.
func verboseFlag(fs *flag.FlagSet) *int {
	return fs.Int("verbose", -1, "0 silent, 1 progress bar, 2 one line at the end, on stderr (default: 1 when stderr is a terminal, else 0)")
}

func checkVerbose(cmd string, v int) error {
	if v < -1 || v > 2 {
		return fmt.Errorf("%s: --verbose %d: must be 0 (silent), 1 (progress bar) or 2 (one line)", cmd, v)
	}
	return nil
}

// progressLevel resolves --verbose: the value given, or 1 when stderr is
// a terminal.
func progressLevel(v int) int {
	if v >= 0 {
		return v
	}
	if f, ok := progressOut.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return 1
		}
	}
	return 0
}

func predict(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	out := fs.String("o", "", "write outputs here, by extension: .npy (one output), .npz or .json (keyed by output name), .csv (outputs of rank 1 or 2, side by side)")
	weights := fs.String("weights", "", "weights file for a model JSON")
	batch := fs.Int("batch-size", 32, "samples per batch, as Keras's predict(batch_size=...); a .npy input is read a batch at a time")
	verbose := verboseFlag(fs)
	top := fs.Int("top", 0, "for classifiers: the K highest scores of each sample, with their class index (and --labels name), as JSON or -o .json/.csv")
	labels := fs.String("labels", "", "with --top: a text file of class names, one per line, in class index order")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return fmt.Errorf("predict: need MODEL and at least one INPUT")
	}
	if *batch < 1 {
		return fmt.Errorf("predict: --batch-size %d: must be at least 1", *batch)
	}
	if err := checkVerbose("predict", *verbose); err != nil {
		return err
	}
	if *top < 0 || (*labels != "" && *top == 0) {
		return fmt.Errorf("predict: --top %d: give --top K (K >= 1) for the K highest scores; --labels needs it", *top)
	}
	if *out != "" {
		if err := checkOutputPath("predict", "-o", *out, predictExts...); err != nil {
			return err
		}
		if *top > 0 && !hasSuffixFold(*out, ".json") && !hasSuffixFold(*out, ".csv") {
			return fmt.Errorf("predict: --top writes JSON or CSV, not %s", *out)
		}
	}
	var names []string
	if *labels != "" {
		if names, err = readLabels(*labels); err != nil {
			return err
		}
	}
	m, err := loadModel(pos[0], *weights)
	if err != nil {
		return err
	}
	outs := m.Outputs()
	outNames := make([]string, len(outs))
	for i, o := range outs {
		outNames[i] = o.Name
	}
	switch {
	case *top > 0:
		for _, o := range outs {
			if len(o.Shape) != 2 {
				return fmt.Errorf("predict: --top: output %q has shape %s: --top ranks the classes of (samples, classes) outputs", o.Name, shapeString(o.Shape))
			}
			if names != nil && o.Shape[1] >= 0 && o.Shape[1] != len(names) {
				return fmt.Errorf("predict: --labels %s has %d names, output %q %d classes", *labels, len(names), o.Name, o.Shape[1])
			}
		}
	case hasSuffixFold(*out, ".npy") && len(outs) > 1:
		return fmt.Errorf("predict: the model has %d outputs %v: write them to an .npz file", len(outs), outNames)
	case hasSuffixFold(*out, ".csv"):
		for _, o := range outs {
			if len(o.Shape) > 2 {
				return fmt.Errorf("predict: -o %s: output %q has shape %v: CSV holds outputs of rank 1 or 2 only (use .npy, .npz or .json)", *out, o.Name, o.Shape)
			}
		}
	}
	vs, err := readArrays(m, inputSlots(m), pos[1:], true)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	srcs, closeSrcs, err := sources(vs)
	if err != nil {
		return err
	}
	defer closeSrcs()
	ys, err := m.PredictSources(context.Background(), srcs, kerasrun.PredictOptions{
		BatchSize: *batch, Verbose: progressLevel(*verbose), Progress: progressOut, OnBatch: onBatch,
	})
	if err != nil {
		return err
	}
	if *top > 0 {
		ranked := topK(ys, *top)
		switch {
		case hasSuffixFold(*out, ".csv"):
			return writeFile(*out, func(w io.Writer) error { return writeTopCSV(w, outNames, ranked, names) })
		case hasSuffixFold(*out, ".json"):
			return writeFile(*out, func(w io.Writer) error { return writeTopJSON(w, outNames, ranked, names) })
		}
		return writeTopJSON(stdout, outNames, ranked, names)
	}
	switch {
	case *out == "":
		return writeJSON(stdout, outNames, ys)
	case hasSuffixFold(*out, ".npz"):
		return kerasrun.WriteNPZ(*out, outNames, ys)
	case hasSuffixFold(*out, ".json"):
		return writeFile(*out, func(w io.Writer) error { return writeJSON(w, outNames, ys) })
	case hasSuffixFold(*out, ".csv"):
		return writeFile(*out, func(w io.Writer) error { return writeCSV(w, outNames, ys) })
	}
	return kerasrun.WriteNPY(*out, ys[0])
}

// readLabels reads class names, one per line (a last empty line and
// trailing carriage returns ignored).
func readLabels(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("predict: --labels: %w", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		names = append(names, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("predict: --labels %s: %w", path, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("predict: --labels %s: no names", path)
	}
	return names, nil
}

// ranked is one sample's classes, highest score first.
type ranked []struct {
	class int
	score float32
}

// topK ranks each sample's classes of every output by score (ties by
// class index, as a stable sort of argsort gives) and keeps k.
func topK(ys []*kerasrun.Tensor, k int) [][]ranked {
	out := make([][]ranked, len(ys))
	for i, y := range ys {
		n, c := y.Shape[0], y.Shape[1]
		for s := 0; s < n; s++ {
			row := y.Data[s*c : (s+1)*c]
			idx := make([]int, c)
			for j := range idx {
				idx[j] = j
			}
			sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
			r := make(ranked, min(k, c))
			for j := range r {
				r[j].class, r[j].score = idx[j], row[idx[j]]
			}
			out[i] = append(out[i], r)
		}
	}
	return out
}

// writeTopJSON writes {"output": [[{"class": i, "label": name, "score":
// p}, ...] per sample]}.
func writeTopJSON(w io.Writer, outNames []string, ranks [][]ranked, labels []string) error {
	bw := bufio.NewWriter(w)
	bw.WriteByte('{')
	for i, samples := range ranks {
		if i > 0 {
			bw.WriteByte(',')
		}
		key, _ := json.Marshal(outNames[i])
		bw.Write(key)
		bw.WriteString(":[")
		for s, r := range samples {
			if s > 0 {
				bw.WriteByte(',')
			}
			bw.WriteByte('[')
			for j, e := range r {
				if j > 0 {
					bw.WriteByte(',')
				}
				fmt.Fprintf(bw, `{"class":%d`, e.class)
				if labels != nil {
					l, _ := json.Marshal(labels[e.class])
					fmt.Fprintf(bw, `,"label":%s`, l)
				}
				var n int
				bw.WriteString(`,"score":`)
				writeFloat(bw, e.score, &n)
				bw.WriteByte('}')
			}
			bw.WriteByte(']')
		}
		bw.WriteByte(']')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// writeTopCSV writes one line per sample, output and rank:
// sample,output,rank,class[,label],score.
func writeTopCSV(w io.Writer, outNames []string, ranks [][]ranked, labels []string) error {
	bw := bufio.NewWriter(w)
	if labels != nil {
		bw.WriteString("sample,output,rank,class,label,score\n")
	} else {
		bw.WriteString("sample,output,rank,class,score\n")
	}
	for i, samples := range ranks {
		for s, r := range samples {
			for j, e := range r {
				fmt.Fprintf(bw, "%d,%s,%d,%d,", s, csvField(outNames[i]), j+1, e.class)
				if labels != nil {
					bw.WriteString(csvField(labels[e.class]) + ",")
				}
				var n int
				writeFloat(bw, e.score, &n)
				bw.WriteByte('\n')
			}
		}
	}
	return bw.Flush()
}

// csvField quotes a field as encoding/csv would.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") && strings.TrimSpace(s) == s {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
