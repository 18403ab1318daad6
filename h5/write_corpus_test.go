package h5

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The write corpus: files built from a declarative description, so the
// same description creates the Writer, is compared with what the reader
// gives back (Go round trip) and is exported as JSON for
// compat/python/check_h5_written.py, which compares it with what h5py reads.

// wtObject is one group or dataset of a corpus file, with its attributes.
type wtObject struct {
	path  string
	value *Array // nil for a group
	attrs []wtAttr
}

type wtAttr struct {
	name  string
	value *Array
}

type wtFile struct {
	name    string
	source  string     // for a rewritten real-world file, the original's absolute path
	objects []wtObject // parents before children; "/" first
}

// build creates the Writer the description asks for.
func (f *wtFile) build(t testing.TB) *Writer {
	t.Helper()
	w := NewWriter()
	groups := map[string]*GroupWriter{"/": w.Root()}
	for _, o := range f.objects {
		var set func(string, *Array) error
		switch {
		case o.path == "/":
			set = w.Root().SetAttr
		case o.value == nil:
			g, err := groups[path.Dir(o.path)].CreateGroup(path.Base(o.path))
			if err != nil {
				t.Fatal(err)
			}
			groups[o.path], set = g, g.SetAttr
		default:
			d, err := groups[path.Dir(o.path)].CreateDataset(path.Base(o.path), o.value)
			if err != nil {
				t.Fatal(err)
			}
			set = d.SetAttr
		}
		for _, a := range o.attrs {
			if err := set(a.name, a.value); err != nil {
				t.Fatal(err)
			}
		}
	}
	return w
}

// expectedAttrs returns the object's attributes as a file holds them,
// including the dtype marker the writer adds to a bfloat16 dataset.
func (o *wtObject) expectedAttrs() []wtAttr {
	if o.value != nil && o.value.DType.Kind == BFloat16 {
		return append([]wtAttr{{"dtype", StringAttr("bfloat16")}}, o.attrs...)
	}
	return o.attrs
}

func (f *wtFile) children(dir string) []string {
	var names []string
	for _, o := range f.objects {
		if o.path != "/" && path.Dir(o.path) == dir {
			names = append(names, path.Base(o.path))
		}
	}
	slices.Sort(names)
	return names
}

// wtJSONArray is the JSON form of an Array: floats as their bit patterns
// (exact, NaN and -0 included), opaque elements in hex.
func wtJSONArray(a *Array) map[string]any {
	m := map[string]any{
		"kind":   a.DType.Kind.String(),
		"size":   writerElemSize(a.DType),
		"varlen": a.DType.VarLen,
		"utf8":   a.DType.UTF8,
		"tag":    a.DType.Tag,
		"shape":  append([]int{}, a.Shape...),
	}
	if a.DType.Kind == String && a.DType.VarLen {
		m["size"] = 0
	}
	switch d := a.Data.(type) {
	case []float32:
		m["bits"] = convert(d, math.Float32bits)
	case []float64:
		m["bits"] = convert(d, func(x float64) string { return fmt.Sprint(math.Float64bits(x)) })
	case []uint16:
		if a.DType.Kind == Uint16 {
			m["data"] = d
		} else {
			m["bits"] = d
		}
	case []uint64:
		m["data"] = convert(d, func(x uint64) string { return fmt.Sprint(x) })
	case []int64:
		m["data"] = convert(d, func(x int64) string { return fmt.Sprint(x) })
	case [][]byte:
		m["data"] = convert(d, hex.EncodeToString)
	case []uint8:
		m["data"] = convert(d, func(x uint8) int { return int(x) })
	default:
		m["data"] = d
	}
	return m
}

func (f *wtFile) json() map[string]any {
	var objs []any
	for _, o := range f.objects {
		m := map[string]any{"path": o.path}
		if o.value == nil {
			m["kind"] = "group"
			m["children"] = append([]string{}, f.children(o.path)...)
		} else {
			m["kind"] = "dataset"
			m["value"] = wtJSONArray(o.value)
		}
		attrs := []any{}
		for _, a := range o.expectedAttrs() {
			attrs = append(attrs, map[string]any{"name": a.name, "value": wtJSONArray(a.value)})
		}
		m["attrs"] = attrs
		objs = append(objs, m)
	}
	return map[string]any{"file": f.name, "source": f.source, "objects": objs}
}

// wtCorpus returns the corpus files.
func wtCorpus() []*wtFile {
	return []*wtFile{wtDtypes(), wtKerasLike(), wtManyChildren(), wtManyStrings(), {name: "empty.h5", objects: []wtObject{{path: "/"}}}}
}

// wtEveryDtype returns one non-scalar array of each dtype the writer knows,
// keyed by a name, with edge values.
func wtEveryDtype() []wtAttr {
	nan32 := float32(math.NaN())
	return []wtAttr{
		{"int8", &Array{DType: DType{Kind: Int8}, Shape: []int{4}, Data: []int8{math.MinInt8, -1, 0, math.MaxInt8}}},
		{"int16", &Array{DType: DType{Kind: Int16}, Shape: []int{2, 2}, Data: []int16{math.MinInt16, -2, 3, math.MaxInt16}}},
		{"int32", &Array{DType: DType{Kind: Int32}, Shape: []int{3}, Data: []int32{math.MinInt32, 7, math.MaxInt32}}},
		{"int64", &Array{DType: DType{Kind: Int64}, Shape: []int{3}, Data: []int64{math.MinInt64, -9, math.MaxInt64}}},
		{"uint8", &Array{DType: DType{Kind: Uint8}, Shape: []int{3}, Data: []uint8{0, 128, 255}}},
		{"uint16", &Array{DType: DType{Kind: Uint16}, Shape: []int{3}, Data: []uint16{0, 1000, math.MaxUint16}}},
		{"uint32", &Array{DType: DType{Kind: Uint32}, Shape: []int{3}, Data: []uint32{0, 1 << 31, math.MaxUint32}}},
		{"uint64", &Array{DType: DType{Kind: Uint64}, Shape: []int{3}, Data: []uint64{0, 1 << 63, math.MaxUint64}}},
		// float16 bits: 1.0, -2.0, smallest subnormal, +inf, NaN, 65504.
		{"float16", &Array{DType: DType{Kind: Float16}, Shape: []int{2, 3}, Data: []uint16{0x3c00, 0xc000, 0x0001, 0x7c00, 0x7e00, 0x7bff}}},
		// bfloat16 bits: 1.0, -1.5, 3.140625, +inf.
		{"bfloat16", &Array{DType: DType{Kind: BFloat16}, Shape: []int{4}, Data: []uint16{0x3f80, 0xbfc0, 0x4049, 0x7f80}}},
		{"float32", Float32Array([]int{2, 1, 3}, []float32{1.5, -0.0, float32(math.Inf(1)), nan32, math.SmallestNonzeroFloat32, math.MaxFloat32})},
		{"float64", &Array{DType: DType{Kind: Float64}, Shape: []int{4}, Data: []float64{math.Pi, math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64}}},
		{"bool", &Array{DType: DType{Kind: Bool}, Shape: []int{3}, Data: []bool{true, false, true}}},
		{"fixed_ascii", FixedStrings([]string{"dense", "", "batch_normalization"})},
		{"fixed_utf8", &Array{DType: DType{Kind: String, Size: 8, UTF8: true}, Shape: []int{2}, Data: []string{"héllo", "日本"}}},
		{"vlen_utf8", &Array{DType: DType{Kind: String, VarLen: true, UTF8: true}, Shape: []int{2, 2}, Data: []string{"a", "", "ünï", strings.Repeat("x", 5000)}}},
		{"vlen_ascii", &Array{DType: DType{Kind: String, VarLen: true}, Shape: []int{2}, Data: []string{"abc", "de"}}},
		{"opaque", &Array{DType: DType{Kind: Opaque, Size: 3}, Shape: []int{2}, Data: [][]byte{{1, 2, 3}, {0xff, 0, 0x7f}}}},
		{"opaque_tag", &Array{DType: DType{Kind: Opaque, Size: 2, Tag: "kerasrun:tag"}, Shape: []int{1}, Data: [][]byte{{9, 8}}}},
	}
}

func wtScalar(a *Array) *Array {
	s := *a
	s.Shape = nil
	switch d := a.Data.(type) {
	case []int8:
		s.Data = d[:1]
	case []int16:
		s.Data = d[:1]
	case []int32:
		s.Data = d[:1]
	case []int64:
		s.Data = d[:1]
	case []uint8:
		s.Data = d[:1]
	case []uint16:
		s.Data = d[:1]
	case []uint32:
		s.Data = d[:1]
	case []uint64:
		s.Data = d[:1]
	case []float32:
		s.Data = d[:1]
	case []float64:
		s.Data = d[:1]
	case []bool:
		s.Data = d[:1]
	case []string:
		s.Data = d[:1]
	case [][]byte:
		s.Data = d[:1]
	}
	return &s
}

func wtEmpty(a *Array, shape []int) *Array {
	s := *wtScalar(a)
	s.Shape = shape
	switch s.Data.(type) {
	case []int8:
		s.Data = []int8{}
	case []int16:
		s.Data = []int16{}
	case []int32:
		s.Data = []int32{}
	case []int64:
		s.Data = []int64{}
	case []uint8:
		s.Data = []uint8{}
	case []uint16:
		s.Data = []uint16{}
	case []uint32:
		s.Data = []uint32{}
	case []uint64:
		s.Data = []uint64{}
	case []float32:
		s.Data = []float32{}
	case []float64:
		s.Data = []float64{}
	case []bool:
		s.Data = []bool{}
	case []string:
		s.Data = []string{}
	case [][]byte:
		s.Data = [][]byte{}
	}
	return &s
}

// wtDtypes: every dtype as a dataset (shaped, scalar, zero-size) and as an
// attribute (shaped and scalar) of a group and of a dataset.
func wtDtypes() *wtFile {
	f := &wtFile{name: "dtypes.h5"}
	var rootAttrs, dsAttrs []wtAttr
	objs := []wtObject{{path: "/"}, {path: "/scalar"}, {path: "/empty"}}
	for _, e := range wtEveryDtype() {
		objs = append(objs,
			wtObject{path: "/" + e.name, value: e.value},
			wtObject{path: "/scalar/" + e.name, value: wtScalar(e.value)},
			wtObject{path: "/empty/" + e.name, value: wtEmpty(e.value, []int{0, 3})})
		rootAttrs = append(rootAttrs, e, wtAttr{"scalar_" + e.name, wtScalar(e.value)})
		dsAttrs = append(dsAttrs, e)
	}
	rootAttrs = append(rootAttrs, wtAttr{"empty_list", &Array{DType: DType{Kind: Float64, Size: 8}, Shape: []int{0}, Data: []float64{}}})
	objs[0].attrs = rootAttrs
	objs = append(objs, wtObject{path: "/with_attrs", value: Float32Array([]int{1}, []float32{42}), attrs: dsAttrs})
	f.objects = objs
	return f
}

// wtKerasLike mimics a legacy Keras .h5: a long JSON model_config in the
// global heap, layer_names split over several attributes that together
// exceed 64 KiB, nested weight groups and a scalar int64 iteration.
func wtKerasLike() *wtFile {
	var cfg strings.Builder
	cfg.WriteString(`{"class_name": "Sequential", "config": {"layers": [`)
	for i := range 3000 {
		if i > 0 {
			cfg.WriteString(", ")
		}
		fmt.Fprintf(&cfg, `{"class_name": "Dense", "config": {"name": "dense_%d", "units": %d}}`, i, i)
	}
	cfg.WriteString(`]}}`)
	var names []string
	for i := range 6000 {
		names = append(names, fmt.Sprintf("layer_with_a_long_name_%05d", i))
	}
	half := len(names) / 3
	objs := []wtObject{
		{path: "/", attrs: []wtAttr{
			{"backend", StringAttr("tensorflow")},
			{"keras_version", StringAttr("3.15.1")},
			{"model_config", StringAttr(cfg.String())},
			{"training_config", StringAttr(`{"loss": "mse"}`)},
		}},
		{path: "/model_weights", attrs: []wtAttr{
			{"layer_names0", FixedStrings(names[:half])},
			{"layer_names1", FixedStrings(names[half : 2*half])},
			{"layer_names2", FixedStrings(names[2*half:])},
			{"backend", StringAttr("tensorflow")},
		}},
		{path: "/model_weights/dense", attrs: []wtAttr{{"weight_names", FixedStrings([]string{"dense/kernel:0", "dense/bias:0"})}}},
		{path: "/model_weights/dense/dense"},
		{path: "/model_weights/dense/dense/kernel:0", value: Float32Array([]int{3, 2}, []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6})},
		{path: "/model_weights/dense/dense/bias:0", value: Float32Array([]int{2}, []float32{-1, 1})},
		{path: "/model_weights/input_layer", attrs: []wtAttr{{"weight_names", &Array{DType: DType{Kind: Float64, Size: 8}, Shape: []int{0}, Data: []float64{}}}}},
		{path: "/optimizer_weights", attrs: []wtAttr{{"weight_names", FixedStrings([]string{"adam/iteration"})}}},
		{path: "/optimizer_weights/adam"},
		{path: "/optimizer_weights/adam/iteration", value: &Array{DType: DType{Kind: Int64}, Data: []int64{12345}}},
		{path: `/layers\dense_1`}, // tf-keras on Windows: a literal backslash
	}
	return &wtFile{name: "keras_like.h5", objects: objs}
}

// wtManyChildren: one group with 1100 subgroups (a two-level B-tree) and
// one with 9000 datasets (three levels).
func wtManyChildren() *wtFile {
	objs := []wtObject{{path: "/"}, {path: "/groups"}, {path: "/datasets"}}
	for i := range 1100 {
		objs = append(objs, wtObject{path: fmt.Sprintf("/groups/g%d", i)})
	}
	for i := range 9000 {
		objs = append(objs, wtObject{path: fmt.Sprintf("/datasets/d%d", i), value: &Array{DType: DType{Kind: Int32}, Data: []int32{int32(i)}}})
	}
	objs[1].attrs = []wtAttr{{"note", StringAttr("children sorted by name, not by number")}}
	return &wtFile{name: "many_children.h5", objects: objs}
}

// wtManyStrings: a variable-length string dataset with more strings than
// one global heap collection can number.
func wtManyStrings() *wtFile {
	ss := make([]string, 70000)
	for i := range ss {
		ss[i] = fmt.Sprintf("s%d", i)
	}
	return &wtFile{name: "many_strings.h5", objects: []wtObject{
		{path: "/"},
		{path: "/strings", value: &Array{DType: DType{Kind: String, VarLen: true, UTF8: true}, Shape: []int{len(ss)}, Data: ss}},
	}}
}

// wtRealworldDir holds real Keras files from other people (see
// ../../shared/realworld/README.md); tests skip them when it is absent.
const wtRealworldDir = "../../shared/realworld"

// wtRealworld describes each real-world .h5 file as the reader sees it, so
// it can be written again and compared. Files the reader refuses are left
// out.
func wtRealworld(t *testing.T) []*wtFile {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(wtRealworldDir, "*", "*.h5"))
	more, _ := filepath.Glob(filepath.Join(wtRealworldDir, "*", "*.hdf5"))
	var files []*wtFile
	for _, p := range append(paths, more...) {
		f, err := Open(p)
		if err != nil {
			t.Logf("realworld %s: reader: %v", p, err)
			continue
		}
		name := "realworld_" + filepath.Base(filepath.Dir(p)) + "_" + strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)) + ".h5"
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		wf := &wtFile{name: name, source: abs}
		err = wtReadTree(&wf.objects, f.Root(), "/")
		f.Close()
		if err != nil {
			t.Logf("realworld %s: reader: %v", p, err)
			continue
		}
		files = append(files, wf)
	}
	return files
}

func wtReadAttrs(names func() ([]string, error), attr func(string) (*Array, error)) ([]wtAttr, error) {
	ns, err := names()
	if err != nil {
		return nil, err
	}
	var attrs []wtAttr
	for _, n := range ns {
		v, err := attr(n)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, wtAttr{n, v})
	}
	return attrs, nil
}

func wtReadTree(objs *[]wtObject, g *Group, p string) error {
	attrs, err := wtReadAttrs(g.AttrNames, g.Attr)
	if err != nil {
		return err
	}
	*objs = append(*objs, wtObject{path: p, attrs: attrs})
	names, err := g.Children()
	if err != nil {
		return err
	}
	for _, n := range names {
		cp := writerJoin(p, n)
		isGroup, err := g.IsGroup(n)
		if err != nil {
			return err
		}
		if isGroup {
			sub, err := g.Group(n)
			if err != nil {
				return err
			}
			if err := wtReadTree(objs, sub, cp); err != nil {
				return err
			}
			continue
		}
		d, err := g.Dataset(n)
		if err != nil {
			return err
		}
		v, err := d.Read()
		if err != nil {
			return err
		}
		attrs, err := wtReadAttrs(d.AttrNames, d.Attr)
		if err != nil {
			return err
		}
		if v.DType.Kind == BFloat16 {
			// expectedAttrs adds the marker back.
			attrs = slices.DeleteFunc(attrs, func(a wtAttr) bool { return a.name == "dtype" })
		}
		*objs = append(*objs, wtObject{path: cp, value: v, attrs: attrs})
	}
	return nil
}

// TestWriteCorpus writes the corpus. With KERASRUN_WRITE_CORPUS=dir it
// writes to dir, with a .json description of each file, for
// compat/python/check_h5_written.py.
func TestWriteCorpus(t *testing.T) {
	dir := os.Getenv("KERASRUN_WRITE_CORPUS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(wtCorpus(), wtRealworld(t)...) {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, wtBytes(t, f.build(t)), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(f.json())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(strings.TrimSuffix(p, ".h5")+".json", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
