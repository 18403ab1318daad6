// Package summary prints a model summary exactly as Keras 3's
// model.summary() does (keras/src/utils/summary_utils.py print_summary)
// when its output is captured, rich's table included. It knows nothing of
// models: the caller describes the layers, shapes and counts as Keras sees
// them.
package summary

import (
	"errors"
	"io"
	"strconv"
	"strings"
)

// Model is what print_summary reads from a model.
type Model struct {
	Name string
	// SequentialLike is print_summary's sequential_like: a Sequential
	// model, or a Functional one that is a plain chain (one node per
	// depth, each with one input, no shared layer). Otherwise the table
	// has a "Connected to" column.
	SequentialLike bool
	Layers         []Layer
	// Trainable, NonTrainable and Optimizer count the model's weights and
	// the built optimizer's variables; Optimizer is nil when the model has
	// no built optimizer (the summary then has no "Optimizer params" line).
	Trainable, NonTrainable Count
	Optimizer               *Count
}

// Count is a number of parameters and the bytes they take.
type Count struct {
	Params int64
	// Bytes is Keras's weight_memory_size: the sum of elements times
	// their dtype's bits, divided by 8.
	Bytes float64
}

// Layer is one row of the table.
type Layer struct {
	Name, ClassName string
	// Shape is the output shape as Keras formats it: "(None, 4)", or
	// "[(None, 6, 4), (None, 4)]" for several outputs.
	Shape string
	// Params is the layer's parameter count; Unbuilt marks a layer that
	// was never built ("0 (unbuilt)").
	Params  int64
	Unbuilt bool
	// Connections are the inbound tensors, "name[node][tensor]", of the
	// layer's calls in this model (shown as "-" when there are none).
	Connections []string
	// Trainable is show_trainable's mark: "Y", "N", or "-" for a layer
	// without weights.
	Trainable string
	// Layers are a nested model's layers (model.layers), shown under it
	// with expand_nested.
	Layers []Layer
}

// Options are print_summary's arguments and the terminal it prints to.
type Options struct {
	// LineLength is line_length; 0 takes Keras's default: 88, or 108 with
	// a "Connected to" column (12 more with ShowTrainable), at most
	// Columns - 4.
	LineLength int
	// Columns is the terminal width, as shutil.get_terminal_size() and
	// rich's console read it (the COLUMNS variable, else the terminal,
	// else 80); 0 is a terminal wide enough for any table, whose lines
	// are never cut.
	Columns      int
	ExpandNested bool
	// ShowTrainable adds the "Trainable" column.
	ShowTrainable bool
}

// ErrTooNarrow is Keras's "Insufficient console width to print summary."
var ErrTooNarrow = errors.New("insufficient console width to print summary: a column would be narrower than 4 characters")

// Write prints the summary of m to w.
func Write(w io.Writer, m *Model, o Options) error {
	s, err := Text(m, o)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, s)
	return err
}

// Text returns the summary of m.
func Text(m *Model, o Options) (string, error) {
	defaultLength := 88
	positions := []float64{0.45, 0.80, 1.0}
	header := []string{"Layer (type)", "Output Shape", "Param #"}
	justify := []string{"left", "left", "right"}
	if !m.SequentialLike {
		defaultLength = 108
		positions = []float64{0.3, 0.56, 0.74, 1.0}
		header = append(header, "Connected to")
		justify = append(justify, "left")
	}
	if o.ShowTrainable {
		defaultLength += 12
		for i := range positions {
			positions[i] *= 0.90
		}
		positions = append(positions, 1.0)
		header = append(header, "Trainable")
		justify = append(justify, "center")
	}
	if o.Columns > 0 {
		defaultLength = min(defaultLength, o.Columns-4)
	}
	lineLength := o.LineLength
	if lineLength == 0 {
		lineLength = defaultLength
	}
	cols := make([]column, len(positions))
	current := 0
	for i, p := range positions {
		width := int(p*float64(lineLength)) - current
		if width < 4 {
			return "", ErrTooNarrow
		}
		cols[i] = column{header: header[i], width: width, justify: justify[i]}
		current += width
	}

	var rows [][]string
	var addRows func(l *Layer, level int)
	addRows = func(l *Layer, level int) {
		prefix := ""
		if level > 0 {
			prefix = strings.Repeat("   ", level) + "└ "
		}
		params := thousands(l.Params)
		if l.Unbuilt {
			params = "0 (unbuilt)"
		}
		row := []string{prefix + l.Name + " (" + l.ClassName + ")", l.Shape, params}
		if !m.SequentialLike {
			conn := strings.Join(l.Connections, ", ")
			if conn == "" {
				conn = "-"
			}
			row = append(row, conn)
		}
		if o.ShowTrainable {
			row = append(row, l.Trainable)
		}
		rows = append(rows, row)
		if o.ExpandNested {
			for i := range l.Layers {
				addRows(&l.Layers[i], level+1)
			}
		}
	}
	for i := range m.Layers {
		addRows(&m.Layers[i], 0)
	}

	total := Count{m.Trainable.Params + m.NonTrainable.Params, m.Trainable.Bytes + m.NonTrainable.Bytes}
	if m.Optimizer != nil {
		total.Params += m.Optimizer.Params
		total.Bytes += m.Optimizer.Bytes
	}
	c := &console{width: o.Columns}
	c.text(`Model: "` + m.Name + `"`)
	c.add(renderTable(cols, rows, lineLength)...)
	c.text(" Total params: " + total.String())
	c.text(" Trainable params: " + m.Trainable.String())
	c.text(" Non-trainable params: " + m.NonTrainable.String())
	if m.Optimizer != nil {
		c.text(" Optimizer params: " + m.Optimizer.String())
	}
	return c.String(), nil
}

// String is "15,889 (62.07 KB)".
func (c Count) String() string { return thousands(c.Params) + " (" + readableSize(c.Bytes) + ")" }

// thousands is Python's f"{n:,}".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// readableSize is summary_utils.readable_memory_size.
func readableSize(size float64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	for _, u := range units {
		if size/1024 < 1 {
			return strconv.FormatFloat(size, 'f', 2, 64) + " " + u
		}
		size /= 1024
	}
	return strconv.FormatFloat(size, 'f', 2, 64) + " " + units[len(units)-1]
}
