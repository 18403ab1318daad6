package kerasrun

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/kerasrun/kerasrun/internal/atomicfile"
	"github.com/kerasrun/kerasrun/internal/plot"
)

// ReadHistoryCSV reads the file Keras's CSVLogger callback writes: a
// header "epoch,loss,...", then one row per epoch (epochs from 0).
func ReadHistoryCSV(path string) (*History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := readHistoryCSV(f)
	if err != nil {
		return nil, fmt.Errorf("kerasrun: %s: %w", path, err)
	}
	return h, nil
}

func readHistoryCSV(r io.Reader) (*History, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(rows[0]) < 2 || rows[0][0] != "epoch" {
		return nil, fmt.Errorf("not a CSVLogger file: the header must start with \"epoch\" and name at least one log")
	}
	header := rows[0]
	h := &History{Logs: map[string][]float64{}}
	for i, row := range rows[1:] {
		if len(row) != len(header) {
			return nil, fmt.Errorf("row %d has %d fields, the header %d", i+2, len(row), len(header))
		}
		e, err := strconv.Atoi(row[0])
		if err != nil {
			return nil, fmt.Errorf("row %d: epoch %q is not an integer", i+2, row[0])
		}
		h.Epochs = append(h.Epochs, e)
		for k, name := range header[1:] {
			v, err := strconv.ParseFloat(strings.TrimSpace(row[k+1]), 64)
			if err != nil {
				return nil, fmt.Errorf("row %d: %s %q is not a number", i+2, name, row[k+1])
			}
			h.Logs[name] = append(h.Logs[name], v)
		}
	}
	if len(h.Epochs) == 0 {
		return nil, fmt.Errorf("no epochs after the header")
	}
	return h, nil
}

// PlotHistory draws the loss and metric curves of a training history, one
// chart per log (loss first) with its validation counterpart ("val_loss")
// beside it, against the epoch numbered from 1 as Keras's progress bar
// numbers them.
func PlotHistory(w io.Writer, format ImageFormat, h *History) error {
	if h == nil || len(h.Epochs) == 0 {
		return fmt.Errorf("kerasrun: plot: the history has no epochs")
	}
	var bases []string
	for name := range h.Logs {
		if base, isVal := strings.CutPrefix(name, "val_"); isVal {
			if _, ok := h.Logs[base]; ok {
				continue
			}
		}
		bases = append(bases, name)
	}
	sort.Slice(bases, func(i, j int) bool {
		if (bases[i] == "loss") != (bases[j] == "loss") {
			return bases[i] == "loss"
		}
		return bases[i] < bases[j]
	})
	x := make([]float64, len(h.Epochs))
	for i, e := range h.Epochs {
		x[i] = float64(e + 1)
	}
	var panels []plot.Panel
	for _, b := range bases {
		p := plot.Panel{Title: b, XLabel: "epoch"}
		for _, name := range []string{b, "val_" + b} {
			if ys, ok := h.Logs[name]; ok && len(ys) == len(x) {
				p.Series = append(p.Series, plot.Series{Name: name, X: x, Y: ys})
			}
		}
		panels = append(panels, p)
	}
	return writePicture(w, plot.DrawPanels(panels), format)
}

// SavePicture writes a picture to path, its format (.svg or .png) from the
// extension, through a temporary file renamed into place.
func SavePicture(path string, draw func(w io.Writer, format ImageFormat) error) error {
	format, err := ImageFormatOf(path)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return draw(w, format) })
}
