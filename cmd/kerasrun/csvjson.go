package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kerasrun/kerasrun"
)

// maxTextBytes bounds a CSV or JSON input read into memory.
const maxTextBytes = 1 << 30

// readStdin reads one argument's arrays from stdin, told by content: a
// .npy by its magic bytes, JSON by a leading { or [, CSV otherwise.
func (r *reader) readStdin() ([]value, error) {
	data, err := io.ReadAll(io.LimitReader(r.stdin, maxTextBytes+1))
	if err != nil {
		return nil, fmt.Errorf("-: stdin: %w", err)
	}
	return r.readContent("-", data)
}

// readByContent reads a file whose name says nothing of its format.
func (r *reader) readByContent(file string) ([]value, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTextBytes+1))
	if err != nil {
		return nil, err
	}
	return r.readContent(file, data)
}

func (r *reader) readContent(from string, data []byte) ([]value, error) {
	if len(data) > maxTextBytes {
		return nil, fmt.Errorf("%s: more than %d bytes", from, maxTextBytes)
	}
	if bytes.HasPrefix(data, []byte("\x93NUMPY")) {
		t, err := kerasrun.ReadNPYFrom(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		return []value{{from: from, t: t}}, nil
	}
	if trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return readJSON(from, data)
	}
	return r.readCSV(from, data)
}

// readJSON reads {"name": nested list, ...} as arrays named by key, or a
// bare nested list as one unnamed array. Numbers are parsed as float64
// and rounded to float32, as np.array(json.load(f), "float32") does.
func readJSON(from string, data []byte) ([]value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %v", from, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: text after the JSON value", from)
	}
	switch d := doc.(type) {
	case []any:
		t, err := nestedTensor(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", from, err)
		}
		return []value{{from: from, t: t}}, nil
	case map[string]any:
		if len(d) == 0 {
			return nil, fmt.Errorf("%s: an empty JSON object", from)
		}
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []value
		for _, k := range keys {
			list, ok := d[k].([]any)
			if !ok {
				return nil, fmt.Errorf("%s: %q is not a list of samples", from, k)
			}
			t, err := nestedTensor(list)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %v", from, k, err)
			}
			out = append(out, value{name: k, from: from + ":" + k, t: t})
		}
		return out, nil
	}
	return nil, fmt.Errorf(`%s: want {"name": [[...]], ...} or a list of samples`, from)
}

// nestedTensor reads a rectangular nested list of numbers (and
// true/false, as numpy reads them) as a tensor, samples first.
func nestedTensor(list []any) (*kerasrun.Tensor, error) {
	var shape []int
	for v := any(list); ; {
		l, ok := v.([]any)
		if !ok {
			break
		}
		shape = append(shape, len(l))
		if len(l) == 0 {
			break
		}
		v = l[0]
	}
	t := &kerasrun.Tensor{Shape: shape}
	var walk func(v any, depth int, at string) error
	walk = func(v any, depth int, at string) error {
		if depth == len(shape) {
			f, err := jsonNumber(v)
			if err != nil {
				return fmt.Errorf("at %s: %v", at, err)
			}
			t.Data = append(t.Data, f)
			return nil
		}
		l, ok := v.([]any)
		if !ok || len(l) != shape[depth] {
			return fmt.Errorf("at %s: not rectangular: want a list of %d (the shape of the first entries is %v)", at, shape[depth], shape)
		}
		for i, e := range l {
			if err := walk(e, depth+1, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(list, 0, ""); err != nil {
		return nil, err
	}
	if len(shape) == 0 || shape[0] == 0 {
		return nil, fmt.Errorf("no samples")
	}
	return t, nil
}

func jsonNumber(v any) (float32, error) {
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil && !math.IsInf(f, 0) {
			return 0, err
		}
		return float32(f), nil
	case bool:
		if n {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%v is not a number", v)
}

var columnIndex = regexp.MustCompile(`^(.*)_(\d+)$`)

// readCSV reads one row per sample. With a header (a first row that is
// not all numbers), column NAME is the input (or output) NAME of one
// value per sample and NAME_0, NAME_1, ... its values in order, reshaped
// to its shape; a model with one input takes all the columns whatever
// their names. Without a header the table is one unnamed array
// (samples, columns), reshaped to the input it goes to.
func (r *reader) readCSV(from string, data []byte) ([]value, error) {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	cr.ReuseRecord = false
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: not CSV: %v", from, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", from)
	}
	var header []string
	if !allNumbers(rows[0]) {
		header, rows = rows[0], rows[1:]
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: a header and no rows", from)
	}
	cols := len(rows[0])
	table := make([]float32, 0, len(rows)*cols)
	for i, row := range rows {
		for j, s := range row {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil && !math.IsInf(f, 0) {
				return nil, fmt.Errorf("%s: row %d, column %s: %q is not a number", from, i+1+btoi(header != nil), columnName(header, j), s)
			}
			table = append(table, float32(f))
		}
	}
	whole := value{from: from, t: &kerasrun.Tensor{Shape: []int{len(rows), cols}, Data: table}, flat: true}
	if header == nil {
		return []value{whole}, nil
	}
	groups, order, unknown := groupColumns(header, r.slots)
	if len(unknown) > 0 {
		if ins := inputCount(r.slots); ins == 1 && len(groups) == 0 {
			return []value{whole}, nil // one input: every column, whatever its name
		}
		return nil, fmt.Errorf("%s: column(s) %s name no input or output (want NAME for a single value, NAME_0, NAME_1, ... for several; the model's %s: %s)", from, strings.Join(unknown, ", "), kindsOf(r.slots), describeSlots(r.slots))
	}
	var out []value
	for _, name := range order {
		g := groups[name]
		n := len(g.cols)
		t := &kerasrun.Tensor{Shape: []int{len(rows), n}, Data: make([]float32, 0, len(rows)*n)}
		for i := range rows {
			for _, c := range g.cols {
				t.Data = append(t.Data, table[i*cols+c])
			}
		}
		out = append(out, value{name: name, from: from + ":" + name, t: t, flat: true})
	}
	return out, nil
}

// columnGroup is the columns of one input or output, in index order.
type columnGroup struct{ cols []int }

// groupColumns assigns header columns to the slots they name: NAME, or
// NAME_0 .. NAME_k-1 with every index once.
func groupColumns(header []string, slots []slot) (map[string]*columnGroup, []string, []string) {
	groups := map[string]*columnGroup{}
	var order, unknown []string
	idx := map[string]map[int]int{} // slot -> index -> column
	isSlot := func(n string) bool {
		for _, s := range slots {
			if s.name == n {
				return true
			}
		}
		return false
	}
	for j, h := range header {
		name, k := h, -1
		if !isSlot(h) {
			m := columnIndex.FindStringSubmatch(h)
			if m == nil || !isSlot(m[1]) {
				unknown = append(unknown, strconv.Quote(h))
				continue
			}
			name = m[1]
			k, _ = strconv.Atoi(m[2])
		}
		if idx[name] == nil {
			idx[name] = map[int]int{}
			order = append(order, name)
		}
		if _, dup := idx[name][k]; dup || (k < 0 && len(idx[name]) > 0) || (k >= 0 && idx[name][-1] != 0) {
			unknown = append(unknown, strconv.Quote(h)+" (repeated)")
			continue
		}
		idx[name][k] = j + 1 // +1 so that 0 means absent
	}
	for _, name := range order {
		g := &columnGroup{}
		if c, ok := idx[name][-1]; ok {
			g.cols = []int{c - 1}
		} else {
			for k := 0; k < len(idx[name]); k++ {
				c, ok := idx[name][k]
				if !ok {
					unknown = append(unknown, fmt.Sprintf("%s_%d (missing)", name, k))
					break
				}
				g.cols = append(g.cols, c-1)
			}
		}
		groups[name] = g
	}
	return groups, order, unknown
}

func inputCount(slots []slot) int {
	n := 0
	for _, s := range slots {
		if s.kind == "input" {
			n++
		}
	}
	return n
}

func allNumbers(row []string) bool {
	for _, s := range row {
		if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return false
		}
	}
	return true
}

func columnName(header []string, j int) string {
	if header != nil && j < len(header) {
		return strconv.Quote(header[j])
	}
	return strconv.Itoa(j + 1)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reshapeFlat gives a table's (samples, columns) array the shape of the
// slot it went to when the columns are that shape's values per sample.
func reshapeFlat(slots []slot, vs []value) {
	for i := range vs {
		v := &vs[i]
		if !v.flat || v.t == nil || len(v.t.Shape) != 2 {
			continue
		}
		want := slots[i].shape
		n := 1
		for _, d := range want[1:] {
			if d < 0 {
				n = -1
				break
			}
			n *= d
		}
		if n == v.t.Shape[1] && len(want) != 2 {
			v.t = &kerasrun.Tensor{Shape: append([]int{v.t.Shape[0]}, want[1:]...), Data: v.t.Data}
		}
	}
}
