package summary

import (
	"math"
	"strings"
	"unicode"
)

// This file reproduces the parts of the Python library rich (15.0) that
// Keras's summary goes through: word wrapping (rich/_wrap.py, Text.wrap,
// Lines.justify, Text.truncate) and a Table with fixed column widths,
// HEAVY_HEAD box and show_lines=True (rich/table.py), printed by a console
// that crops its lines. Every character counts as one cell, as rich counts
// the ASCII and box-drawing characters of a summary.

const ellipsis = "…"

// isSpace is Python's str.isspace for one character (the \s of re).
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\x1c' || r == '\x1d' || r == '\x1e' || r == '\x1f'
}

// words splits text as rich's re_word (\s*\S+\s*) matches it from the
// start: each word carries the whitespace before and after it. Trailing
// text of whitespace alone matches nothing and is dropped from words (it
// stays in the line, which divideLine only cuts).
func words(text []rune) (starts, ends []int) {
	pos := 0
	for {
		i := pos
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i == len(text) {
			return
		}
		for i < len(text) && !isSpace(text[i]) {
			i++
		}
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		starts, ends = append(starts, pos), append(ends, i)
		pos = i
	}
}

func rstripLen(word []rune) int {
	n := len(word)
	for n > 0 && isSpace(word[n-1]) {
		n--
	}
	return n
}

// divideLine is rich's divide_line: the offsets at which text is broken
// into lines of at most width cells; a word longer than width is folded
// across lines when fold is set and left whole otherwise.
func divideLine(text []rune, width int, fold bool) []int {
	var breaks []int
	offset := 0
	starts, ends := words(text)
	for i, start := range starts {
		word := text[start:ends[i]]
		wordLen := rstripLen(word)
		if width-offset >= wordLen {
			offset += len(word)
			continue
		}
		switch {
		case wordLen > width && fold:
			pieces := chopCells(word, width)
			for k, piece := range pieces {
				if start > 0 {
					breaks = append(breaks, start)
				}
				if k == len(pieces)-1 {
					offset = len(piece)
				} else {
					start += len(piece)
				}
			}
		case wordLen > width:
			if start > 0 {
				breaks = append(breaks, start)
			}
			offset = len(word)
		case offset > 0 && start > 0:
			breaks = append(breaks, start)
			offset = len(word)
		}
	}
	return breaks
}

// chopCells is rich's chop_cells: text in pieces of at most width cells.
func chopCells(text []rune, width int) [][]rune {
	lines := [][]rune{{}}
	total := 0
	for _, r := range text {
		if total+1 > width {
			lines = append(lines, []rune{r})
			total = 1
		} else {
			lines[len(lines)-1] = append(lines[len(lines)-1], r)
			total++
		}
	}
	return lines
}

// setCellSize is rich's set_cell_size: text cropped or padded to total cells.
func setCellSize(text []rune, total int) []rune {
	if total <= 0 {
		return nil
	}
	if len(text) >= total {
		return text[:total]
	}
	return append(append([]rune(nil), text...), []rune(strings.Repeat(" ", total-len(text)))...)
}

// truncate is Text.truncate: text longer than width is cut, ending in an
// ellipsis when overflow is "ellipsis"; pad fills a shorter one with spaces.
func truncate(text []rune, width int, overflow string, pad bool) []rune {
	n := len(text)
	if n > width {
		if overflow == "ellipsis" {
			text = append(setCellSize(text, width-1), []rune(ellipsis)...)
		} else {
			text = setCellSize(text, width)
		}
	}
	if pad && n < width {
		text = append(append([]rune(nil), text...), []rune(strings.Repeat(" ", width-n))...)
	}
	return text
}

// wrap is Text.wrap for a plain text: its lines word-wrapped to width
// cells, justified ("left", "right", "center", or "default": as is) and
// cut as overflow says ("fold", "crop", "ellipsis").
func wrap(text string, width int, justify, overflow string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		rs := []rune(line)
		offsets := divideLine(rs, width, overflow == "fold")
		var lines [][]rune
		prev := 0
		for _, o := range append(offsets, len(rs)) {
			piece := rs[prev:o]
			prev = o
			// rstrip_end: drop whitespace beyond the width.
			if excess := len(piece) - width; excess > 0 {
				piece = piece[:len(piece)-min(excess, len(piece)-rstripLen(piece))]
			}
			lines = append(lines, piece)
		}
		for i, l := range lines {
			switch justify {
			case "left":
				l = truncate(l, width, overflow, true)
			case "right", "center":
				l = truncate(l[:rstripLen(l)], width, overflow, false)
				left := width - len(l)
				if justify == "center" {
					left /= 2
				}
				l = append([]rune(strings.Repeat(" ", max(left, 0))), l...)
				if justify == "center" {
					l = append(l, []rune(strings.Repeat(" ", max(width-len(l), 0)))...)
				}
			}
			lines[i] = truncate(l, width, overflow, false)
		}
		for _, l := range lines {
			out = append(out, string(l))
		}
	}
	return out
}

// column is one column of a table: header, content width (without the
// padding of one space each side) and justification.
type column struct {
	header  string
	width   int
	justify string
}

// ratioReduce is rich's ratio_reduce: total taken away from values in
// proportion to ratios, no slot losing more than its maximum. Python's
// round() rounds halves to even.
func ratioReduce(total int, ratios, maximums, values []int) []int {
	r := make([]int, len(ratios))
	totalRatio := 0
	for i := range ratios {
		if maximums[i] != 0 {
			r[i] = ratios[i]
		}
		totalRatio += r[i]
	}
	out := append([]int(nil), values...)
	if totalRatio == 0 {
		return out
	}
	remaining := total
	for i := range r {
		if r[i] != 0 && totalRatio > 0 {
			d := min(maximums[i], int(math.RoundToEven(float64(r[i]*remaining)/float64(totalRatio))))
			out[i] = values[i] - d
			remaining -= d
			totalRatio -= r[i]
		}
	}
	return out
}

// tableWidths is Table._calculate_column_widths for fixed-width columns
// in a table width wide: each column takes its width plus two of padding;
// when they do not fit between the borders, all shrink evenly.
func tableWidths(cols []column, width int) []int {
	maxWidth := width - (len(cols) + 1)
	widths := make([]int, len(cols))
	sum := 0
	for i, c := range cols {
		widths[i] = measure(c.width+2, maxWidth)
		if widths[i] == 0 {
			widths[i] = 1
		}
		sum += widths[i]
	}
	if sum > maxWidth {
		ones := make([]int, len(cols))
		for i := range ones {
			ones[i] = 1
		}
		widths = ratioReduce(sum-maxWidth, ones, widths, widths)
		for i, c := range cols {
			widths[i] = measure(c.width+2, widths[i])
		}
	}
	return widths
}

// measure is a fixed-width column's Measurement within maxWidth.
func measure(w, maxWidth int) int {
	if maxWidth < 1 {
		return 0
	}
	return min(w, maxWidth)
}

// renderTable draws a rich Table(*cols, width=width, show_lines=True):
// the heavy header box, one rule between rows; header cells sit at the
// bottom of their row, body cells at the top. Cells overflow with an
// ellipsis, as a rich Column does by default.
func renderTable(cols []column, rows [][]string, width int) []string {
	widths := tableWidths(cols, width)
	rule := func(left, fill, mid, right string) string {
		var b strings.Builder
		b.WriteString(left)
		for i, w := range widths {
			if i > 0 {
				b.WriteString(mid)
			}
			b.WriteString(strings.Repeat(fill, w))
		}
		b.WriteString(right)
		return b.String()
	}
	row := func(cells []string, bar string, bottom bool) []string {
		rendered := make([][]string, len(cells))
		height := 1
		for i, text := range cells {
			content := widths[i] - 2
			var lines []string
			if content > 0 {
				lines = wrap(text, content, cols[i].justify, "ellipsis")
			} else {
				lines = []string{""}
			}
			for k, l := range lines {
				lines[k] = cropPad(" "+l+" ", widths[i])
			}
			rendered[i] = lines
			height = max(height, len(lines))
		}
		for i, lines := range rendered {
			blank := strings.Repeat(" ", widths[i])
			for len(lines) < height {
				if bottom {
					lines = append([]string{blank}, lines...)
				} else {
					lines = append(lines, blank)
				}
			}
			rendered[i] = lines
		}
		out := make([]string, height)
		for k := range out {
			parts := make([]string, len(cells))
			for i := range cells {
				parts[i] = rendered[i][k]
			}
			out[k] = bar + strings.Join(parts, bar) + bar
		}
		return out
	}
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	lines := []string{rule("┏", "━", "┳", "┓")}
	lines = append(lines, row(headers, "┃", true)...)
	lines = append(lines, rule("┡", "━", "╇", "┩"))
	for i, r := range rows {
		if i > 0 {
			lines = append(lines, rule("├", "─", "┼", "┤"))
		}
		lines = append(lines, row(r, "│", false)...)
	}
	return append(lines, rule("└", "─", "┴", "┘"))
}

// cropPad makes s exactly width cells: a cell's padded line (rich's
// Segment.set_shape).
func cropPad(s string, width int) string {
	return string(setCellSize([]rune(s), width))
}

// console collects what Keras prints through rich's Console: text lines
// wrapped at the console width, table lines as drawn, every line cut at
// the width (print(crop=True)). A width of 0 is a console wide enough for
// anything.
type console struct {
	width int
	lines []string
}

func (c *console) text(s string) {
	if c.width <= 0 {
		c.lines = append(c.lines, s)
		return
	}
	c.add(wrap(s, c.width, "default", "fold")...)
}

func (c *console) add(lines ...string) {
	for _, l := range lines {
		if c.width > 0 {
			if rs := []rune(l); len(rs) > c.width {
				l = string(rs[:c.width])
			}
		}
		c.lines = append(c.lines, l)
	}
}

func (c *console) String() string {
	var b strings.Builder
	for _, l := range c.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
