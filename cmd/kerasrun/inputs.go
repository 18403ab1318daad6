package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kerasrun/kerasrun"
)

// inputsHelp is the part of predict's, evaluate's and fit's help that says
// how arrays are given and matched.
const inputsHelp = `An array is a .npy, an .npz (its arrays matched by name; np.savez's arr_0,
arr_1, ... by position), an image (.png, .jpg, .gif, .bmp, .tif, .webp) or a
folder or glob of images (one batch, in name order), converted as Keras's
load_img + img_to_array (size, color mode and channels from the model's input;
nearest resizing; values 0..255, not rescaled), a .csv (one row per sample; a
header column NAME or NAME_0, NAME_1, ... gives input NAME; a one-input model
takes every column) or a .json ({"NAME": [[...]], ...} or a bare list of
samples); - reads JSON, CSV or .npy from stdin. NAME=FILE gives the array of the
input (or, for targets, the output) NAME, in any order; arrays without a name
fill the remaining inputs, then outputs, in the model's own order: the order
kerasrun inspect --model lists them.`

// value is one array an argument gave.
type value struct {
	name string // the input or output it names; "" for positional
	from string // the argument it came from, for messages
	// positional says an unnamed argument took the slot of its name.
	positional bool
	// t holds the array, or rows streams a .npy (t == nil) batch by
	// batch, or images lists image files that become one batch once the
	// input they go to is known (loadImages).
	t      *kerasrun.Tensor
	rows   string
	images []string
	// flat marks a table's (samples, columns), reshaped to its input's
	// shape once that is known (reshapeFlat).
	flat bool
}

func (v *value) shape() ([]int, error) {
	if v.t != nil {
		return v.t.Shape, nil
	}
	r, err := kerasrun.OpenNPYRows(v.rows)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Shape(), nil
}

// tensor reads the whole array.
func (v *value) tensor() (*kerasrun.Tensor, error) {
	if v.t != nil {
		return v.t, nil
	}
	return kerasrun.ReadNPY(v.rows)
}

// source serves the array batch by batch; close it when done.
// sources opens each value as an input source; the func closes them all.
func sources(vs []value) ([]kerasrun.InputSource, func(), error) {
	srcs := make([]kerasrun.InputSource, len(vs))
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	for i := range vs {
		src, c, err := vs[i].source()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, c)
		srcs[i] = src
	}
	return srcs, closeAll, nil
}

func (v *value) source() (kerasrun.InputSource, func(), error) {
	if v.t != nil {
		return kerasrun.TensorSource(v.t), func() {}, nil
	}
	r, err := kerasrun.OpenNPYRows(v.rows)
	if err != nil {
		return nil, nil, err
	}
	return r, func() { r.Close() }, nil
}

// reader reads command-line arrays for one model.
type reader struct {
	m *kerasrun.Model
	// slots are the arrays the command takes, whose names a CSV header
	// or JSON keys may use.
	slots []slot
	stdin io.Reader
	// stream keeps a .npy on disk (read a batch at a time) instead of
	// reading it whole.
	stream    bool
	stdinUsed bool
}

// splitName splits NAME=FILE; an argument that is an existing file, or
// whose part before '=' looks like a path, is a FILE alone.
func splitName(arg string) (name, file string) {
	i := strings.IndexByte(arg, '=')
	if i <= 0 {
		return "", arg
	}
	if _, err := os.Stat(arg); err == nil {
		return "", arg
	}
	if strings.ContainsAny(arg[:i], `/\`) {
		return "", arg
	}
	return arg[:i], arg[i+1:]
}

// read reads every argument into values, in argument order.
func (r *reader) read(args []string) ([]value, error) {
	var out []value
	for _, arg := range args {
		name, file := splitName(arg)
		vs, err := r.readFile(file)
		if err != nil {
			return nil, err
		}
		if name != "" {
			v, err := pickNamed(name, arg, vs)
			if err != nil {
				return nil, err
			}
			vs = []value{v}
		}
		out = append(out, vs...)
	}
	return out, nil
}

// pickNamed is the array NAME=FILE means: FILE's only array, or its
// array called NAME.
func pickNamed(name, arg string, vs []value) (value, error) {
	if len(vs) == 1 {
		vs[0].name, vs[0].from = name, arg
		return vs[0], nil
	}
	var have []string
	for _, v := range vs {
		if v.name == name {
			v.from = arg
			return v, nil
		}
		have = append(have, strconv.Quote(v.name))
	}
	return value{}, fmt.Errorf("%s: the file holds %d arrays (%s), none named %q", arg, len(vs), strings.Join(have, ", "), name)
}

// readFile reads one FILE (or - for stdin) by its content.
func (r *reader) readFile(file string) ([]value, error) {
	if file == "-" {
		if r.stdinUsed {
			return nil, fmt.Errorf("-: stdin given twice")
		}
		r.stdinUsed = true
		return r.readStdin()
	}
	switch {
	case hasSuffixFold(file, ".json"):
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return readJSON(file, data)
	case hasSuffixFold(file, ".csv"):
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return r.readCSV(file, data)
	case hasSuffixFold(file, ".npz"):
		return readNPZFile(file)
	case hasSuffixFold(file, ".npy"):
		if r.stream {
			return []value{{from: file, rows: file}}, nil
		}
		t, err := kerasrun.ReadNPY(file)
		if err != nil {
			return nil, err
		}
		return []value{{from: file, t: t}}, nil
	}
	return r.readOther(file)
}

var arrN = regexp.MustCompile(`^arr_(\d+)$`)

// readNPZFile gives an .npz's arrays under their names; np.savez's
// positional arr_0, arr_1, ... become positional arrays in that order.
func readNPZFile(file string) ([]value, error) {
	arrays, err := kerasrun.ReadNPZ(file)
	if err != nil {
		return nil, err
	}
	if len(arrays) == 0 {
		return nil, fmt.Errorf("%s: the archive holds no arrays", file)
	}
	var named, positional []value
	for k, t := range arrays {
		v := value{name: k, from: file + ":" + k, t: t}
		if arrN.MatchString(k) {
			positional = append(positional, v)
		} else {
			named = append(named, v)
		}
	}
	sort.Slice(named, func(i, j int) bool { return named[i].name < named[j].name })
	sort.Slice(positional, func(i, j int) bool {
		a, _ := strconv.Atoi(arrN.FindStringSubmatch(positional[i].name)[1])
		b, _ := strconv.Atoi(arrN.FindStringSubmatch(positional[j].name)[1])
		return a < b
	})
	for i := range positional {
		positional[i].name = ""
	}
	return append(named, positional...), nil
}

// slot is one array a command needs: a model input or output.
type slot struct {
	kind, name string // kind is "input" or "output"
	shape      []int
}

func inputSlots(m *kerasrun.Model) []slot {
	var s []slot
	for _, in := range m.Inputs() {
		s = append(s, slot{"input", in.Name, in.Shape})
	}
	return s
}

func outputSlots(m *kerasrun.Model) []slot {
	var s []slot
	for _, o := range m.Outputs() {
		s = append(s, slot{"output", o.Name, o.Shape})
	}
	return s
}

// assign places vs in slots: a named array in the slot of its name, the
// others in the free slots in order. It refuses unknown or repeated
// names and a count that does not match, naming the slots.
func assign(slots []slot, vs []value) ([]value, error) {
	out := make([]value, len(slots))
	filled := make([]bool, len(slots))
	var positional []value
	for _, v := range vs {
		if v.name == "" {
			positional = append(positional, v)
			continue
		}
		i := slices.IndexFunc(slots, func(s slot) bool { return s.name == v.name })
		if i < 0 {
			return nil, fmt.Errorf("%s: the model has no %s named %q (its %s: %s)", v.from, strings.ReplaceAll(strings.TrimSuffix(kindsOf(slots), "s"), "s and ", " or "), v.name, kindsOf(slots), describeSlots(slots))
		}
		if filled[i] {
			return nil, fmt.Errorf("%s: %s %q is given twice (also by %s)", v.from, slots[i].kind, v.name, out[i].from)
		}
		out[i], filled[i] = v, true
	}
	j := 0
	for i := range slots {
		if filled[i] {
			continue
		}
		if j == len(positional) {
			var missing []string
			for k := i; k < len(slots); k++ {
				if !filled[k] {
					missing = append(missing, fmt.Sprintf("%s %q", slots[k].kind, slots[k].name))
				}
			}
			return nil, fmt.Errorf("no array for %s (the model's %s, in order: %s)", strings.Join(missing, ", "), kindsOf(slots), describeSlots(slots))
		}
		out[i], filled[i] = positional[j], true
		out[i].name, out[i].positional = slots[i].name, true
		j++
	}
	if j < len(positional) {
		return nil, fmt.Errorf("%d array(s) too many (from %s): the model's %s are %s", len(positional)-j, positional[j].from, kindsOf(slots), describeSlots(slots))
	}
	return out, nil
}

func kindsOf(slots []slot) string {
	kinds := map[string]bool{}
	for _, s := range slots {
		kinds[s.kind] = true
	}
	switch {
	case kinds["input"] && kinds["output"]:
		return "inputs and outputs"
	case kinds["output"]:
		return "outputs"
	}
	return "inputs"
}

func describeSlots(slots []slot) string {
	parts := make([]string, len(slots))
	for i, s := range slots {
		parts[i] = fmt.Sprintf("%s %s", s.name, shapeString(s.shape))
	}
	return strings.Join(parts, ", ")
}

func shapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			parts[i] = "None"
		} else {
			parts[i] = strconv.Itoa(d)
		}
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// checkInputShapes refuses arrays whose shapes cannot be their inputs'
// before the model runs, naming the input, the file and both shapes.
func checkInputShapes(slots []slot, vs []value) error {
	for i, s := range slots {
		if s.kind != "input" {
			continue
		}
		shape, err := vs[i].shape()
		if err != nil {
			return err
		}
		ok := len(shape) == len(s.shape) && len(shape) > 0
		for k := 1; ok && k < len(shape); k++ {
			ok = s.shape[k] < 0 || s.shape[k] == shape[k]
		}
		if !ok {
			return fmt.Errorf("input %q: %s has shape %s, the model takes %s%s", s.name, vs[i].from, shapeString(shape), shapeString(s.shape), positionalHint(slots, vs[i]))
		}
	}
	return nil
}

// positionalHint says, for an array placed by position, how unnamed
// arrays are placed, and suggests NAME=FILE by the file's own name when
// it is another input's.
func positionalHint(slots []slot, v value) string {
	if !v.positional {
		return ""
	}
	var names []string
	for _, s := range slots {
		if s.kind == "input" {
			names = append(names, s.name)
		}
	}
	hint := fmt.Sprintf(" (arrays without a name fill the inputs in the model's order, %s; NAME=FILE chooses the input", strings.Join(names, ", "))
	base := strings.TrimSuffix(filepath.Base(v.from), filepath.Ext(v.from))
	if slices.Contains(names, base) && base != v.name {
		hint += fmt.Sprintf(": %s=%s", base, v.from)
	}
	return hint + ")"
}

func tensors(vs []value) ([]*kerasrun.Tensor, error) {
	ts := make([]*kerasrun.Tensor, len(vs))
	for i := range vs {
		t, err := vs[i].tensor()
		if err != nil {
			return nil, err
		}
		ts[i] = t
	}
	return ts, nil
}

// imageExts are the image files a folder or glob gives.
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}

func isImage(name string) bool {
	for _, e := range imageExts {
		if hasSuffixFold(name, e) {
			return true
		}
	}
	return false
}

// readOther reads a FILE that is not .npy or .npz: an image, a folder or
// glob of images, or (by content) a .npy under another name.
func (r *reader) readOther(file string) ([]value, error) {
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		entries, err := os.ReadDir(file)
		if err != nil {
			return nil, err
		}
		var paths []string
		for _, e := range entries {
			if !e.IsDir() && isImage(e.Name()) {
				paths = append(paths, filepath.Join(file, e.Name()))
			}
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("%s: the folder holds no image (%s)", file, strings.Join(imageExts, ", "))
		}
		return []value{{from: file, images: paths}}, nil
	}
	if _, err := os.Stat(file); err != nil && strings.ContainsAny(file, "*?[") {
		paths, err := filepath.Glob(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		var images []string
		for _, p := range paths {
			if isImage(p) {
				images = append(images, p)
			}
		}
		if len(images) == 0 {
			return nil, fmt.Errorf("%s: matches no image (%s)", file, strings.Join(imageExts, ", "))
		}
		return []value{{from: file, images: images}}, nil
	}
	if isImage(file) {
		return []value{{from: file, images: []string{file}}}, nil
	}
	return r.readByContent(file)
}

// loadImages turns image values into batches for the inputs they were
// assigned to, converted as load_img + img_to_array do for that input
// (kerasrun.Model.ImageOptions).
func loadImages(m *kerasrun.Model, slots []slot, vs []value) error {
	for i := range vs {
		if vs[i].images == nil {
			continue
		}
		if slots[i].kind != "input" {
			return fmt.Errorf("%s: an image cannot be the target of output %q", vs[i].from, slots[i].name)
		}
		opts, err := m.ImageOptions(slots[i].name)
		if err != nil {
			return fmt.Errorf("%s: %w", vs[i].from, err)
		}
		t, err := kerasrun.LoadImages(vs[i].images, opts)
		if err != nil {
			return err
		}
		vs[i].t, vs[i].images = t, nil
	}
	return nil
}
