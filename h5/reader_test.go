package h5

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The corpus in testdata/corpus is written by compat/python/h5corpus.py:
// each .h5 file has a .json describing what h5py reads from it.

type corpusDoc struct {
	File        string                  `json:"file"`
	Objects     map[string]corpusObject `json:"objects"`
	ExpectError *struct {
		Path     string `json:"path"`
		Kind     string `json:"kind"`
		Contains string `json:"contains"`
	} `json:"expect_error"`
}

type corpusValue struct {
	Shape []int     `json:"shape"`
	DType jsonDType `json:"dtype"`
	Data  []any     `json:"data"`
	Type  string    `json:"type"`
}

type corpusObject struct {
	corpusValue
	Children   []string               `json:"children"`
	Attrs      map[string]corpusValue `json:"attrs"`
	AttrNames  []string               `json:"attr_names"`
	Target     string                 `json:"target"`
	ResolvesTo *string                `json:"resolves_to"`
	SameAs     string                 `json:"same_as"`
}

// jsonDType decodes the corpus's dtype objects into a DType.
type jsonDType DType

func (d *jsonDType) UnmarshalJSON(b []byte) error {
	var v struct {
		Kind string `json:"kind"`
		Size int    `json:"size"`
		VLen bool   `json:"vlen"`
		UTF8 bool   `json:"utf8"`
		Tag  string `json:"tag"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	for k, name := range kindNames {
		if name == v.Kind {
			*d = jsonDType{Kind: Kind(k), Size: v.Size, VarLen: v.VLen, UTF8: v.UTF8, Tag: v.Tag}
			return nil
		}
	}
	return fmt.Errorf("unknown kind %q", v.Kind)
}

func loadCorpus(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.h5")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	return files
}

func readDoc(t *testing.T, path string) *corpusDoc {
	t.Helper()
	b, err := os.ReadFile(path + ".json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var doc corpusDoc
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s.json: %v", path, err)
	}
	return &doc
}

// canonical renders array data as strings comparable with the JSON:
// floats as their bit patterns, opaque bytes as hex.
func canonical(a *Array) []string {
	var out []string
	add := func(s string) { out = append(out, s) }
	switch v := a.Data.(type) {
	case []int8:
		for _, x := range v {
			add(strconv.FormatInt(int64(x), 10))
		}
	case []int16:
		for _, x := range v {
			add(strconv.FormatInt(int64(x), 10))
		}
	case []int32:
		for _, x := range v {
			add(strconv.FormatInt(int64(x), 10))
		}
	case []int64:
		for _, x := range v {
			add(strconv.FormatInt(x, 10))
		}
	case []uint8:
		for _, x := range v {
			add(strconv.FormatUint(uint64(x), 10))
		}
	case []uint16:
		for _, x := range v {
			add(strconv.FormatUint(uint64(x), 10))
		}
	case []uint32:
		for _, x := range v {
			add(strconv.FormatUint(uint64(x), 10))
		}
	case []uint64:
		for _, x := range v {
			add(strconv.FormatUint(x, 10))
		}
	case []float32:
		for _, x := range v {
			add(strconv.FormatUint(uint64(math.Float32bits(x)), 10))
		}
	case []float64:
		for _, x := range v {
			add(strconv.FormatUint(math.Float64bits(x), 10))
		}
	case []bool:
		for _, x := range v {
			add(strconv.FormatBool(x))
		}
	case []string:
		for _, x := range v {
			add(strconv.Quote(x))
		}
	case [][]byte:
		for _, x := range v {
			add(strconv.Quote(hex.EncodeToString(x)))
		}
	default:
		panic(fmt.Sprintf("unexpected data %T", a.Data))
	}
	return out
}

func canonicalJSON(vs []any) []string {
	var out []string
	for _, v := range vs {
		switch x := v.(type) {
		case json.Number:
			out = append(out, x.String())
		case bool:
			out = append(out, strconv.FormatBool(x))
		case string:
			out = append(out, strconv.Quote(x))
		default:
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}

func checkValue(t *testing.T, what string, got *Array, want corpusValue) {
	t.Helper()
	if got.DType != DType(want.DType) {
		t.Errorf("%s: dtype %+v, want %+v", what, got.DType, want.DType)
	}
	if !reflect.DeepEqual(got.Shape, want.Shape) && !(len(got.Shape) == 0 && len(want.Shape) == 0) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	g, w := canonical(got), canonicalJSON(want.Data)
	if len(g) != len(w) {
		t.Errorf("%s: %d values, want %d", what, len(g), len(w))
		return
	}
	bad := 0
	for i := range g {
		if g[i] != w[i] {
			if bad < 5 {
				t.Errorf("%s: value %d = %s, want %s", what, i, g[i], w[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(g))
	}
}

func checkAttrs(t *testing.T, path string, names func() ([]string, error), attr func(string) (*Array, error), o corpusObject) {
	t.Helper()
	got, err := names()
	if err != nil {
		t.Errorf("%s: AttrNames: %v", path, err)
		return
	}
	if !reflect.DeepEqual(got, o.AttrNames) && !(len(got) == 0 && len(o.AttrNames) == 0) {
		t.Errorf("%s: attribute names %q, want %q", path, got, o.AttrNames)
	}
	for name, want := range o.Attrs {
		a, err := attr(name)
		if err != nil {
			t.Errorf("%s: attribute %q: %v", path, name, err)
			continue
		}
		checkValue(t, path+" @"+name, a, want)
	}
	if _, err := attr("no such attribute"); !errors.Is(err, ErrNotFound) {
		t.Errorf("%s: missing attribute: got %v, want ErrNotFound", path, err)
	}
}

func TestCorpus(t *testing.T) {
	for _, path := range loadCorpus(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			doc := readDoc(t, path)
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			root := f.Root()
			if e := doc.ExpectError; e != nil {
				d, err := root.Dataset(e.Path)
				if err == nil {
					var a *Array
					a, err = d.Read()
					if err != nil && a != nil {
						t.Errorf("%s: Read returned a value with error %v", e.Path, err)
					}
				} else if d != nil {
					t.Errorf("%s: Dataset returned a value with error %v", e.Path, err)
				}
				var ue *UnsupportedError
				var fe *FormatError
				ok := e.Kind == "unsupported" && errors.As(err, &ue) || e.Kind == "format" && errors.As(err, &fe)
				if !ok || !strings.Contains(err.Error(), e.Contains) {
					t.Errorf("%s: got error %v, want %s error containing %q", e.Path, err, e.Kind, e.Contains)
				}
			}
			for p, o := range doc.Objects {
				checkObject(t, root, doc, p, o)
			}
			var sb strings.Builder
			if doc.ExpectError == nil {
				if err := f.Dump(&sb); err != nil {
					t.Errorf("Dump: %v", err)
				}
			}
		})
	}
}

func checkObject(t *testing.T, root *Group, doc *corpusDoc, p string, o corpusObject) {
	switch o.Type {
	case "group":
		g, err := root.Group(p)
		if err != nil {
			t.Errorf("Group(%q): %v", p, err)
			return
		}
		if g.Path() != p {
			t.Errorf("Group(%q).Path() = %q", p, g.Path())
		}
		kids, err := g.Children()
		if err != nil {
			t.Errorf("%s: Children: %v", p, err)
			return
		}
		if !reflect.DeepEqual(kids, o.Children) && !(len(kids) == 0 && len(o.Children) == 0) {
			t.Errorf("%s: children %q, want %q", p, kids, o.Children)
		}
		for _, k := range kids {
			child := doc.Objects[joinPath(p, k)]
			isg, err := g.IsGroup(k)
			if child.Type == "softlink" && child.ResolvesTo == nil {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("%s: IsGroup(%q) of a dangling link: %v, want ErrNotFound", p, k, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: IsGroup(%q): %v", p, k, err)
				continue
			}
			target := child
			switch child.Type {
			case "softlink":
				target = doc.Objects[*child.ResolvesTo]
			case "hardlink":
				target = doc.Objects[child.SameAs]
			}
			if want := target.Type == "group"; isg != want {
				t.Errorf("%s: IsGroup(%q) = %v, want %v", p, k, isg, want)
			}
		}
		if _, err := g.IsGroup("no such child"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: IsGroup of a missing child: %v, want ErrNotFound", p, err)
		}
		if _, err := g.Dataset("no/such/dataset"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Dataset of a missing path: %v, want ErrNotFound", p, err)
		}
		checkAttrs(t, p, g.AttrNames, g.Attr, o)
	case "dataset":
		d, err := root.Dataset(p)
		if err != nil {
			t.Errorf("Dataset(%q): %v", p, err)
			return
		}
		if d.Path() != p {
			t.Errorf("Dataset(%q).Path() = %q", p, d.Path())
		}
		a, err := d.Read()
		if err != nil {
			t.Errorf("%s: Read: %v", p, err)
			return
		}
		if !reflect.DeepEqual(d.Shape(), a.Shape) || d.DType() != a.DType {
			t.Errorf("%s: header says %v %v, Read says %v %v", p, d.Shape(), d.DType(), a.Shape, a.DType)
		}
		checkValue(t, p, a, o.corpusValue)
		checkAttrs(t, p, d.AttrNames, d.Attr, o)
	case "softlink", "hardlink":
		target := o.SameAs
		if o.Type == "softlink" {
			if o.ResolvesTo == nil {
				_, err1 := root.Dataset(p)
				_, err2 := root.Group(p)
				if !errors.Is(err1, ErrNotFound) || !errors.Is(err2, ErrNotFound) {
					t.Errorf("dangling soft link %s: got %v / %v, want ErrNotFound", p, err1, err2)
				}
				return
			}
			target = *o.ResolvesTo
		}
		to := doc.Objects[target]
		switch to.Type {
		case "dataset":
			d, err := root.Dataset(p)
			if err != nil {
				t.Errorf("Dataset(%q) via link: %v", p, err)
				return
			}
			a, err := d.Read()
			if err != nil {
				t.Errorf("%s: Read via link: %v", p, err)
				return
			}
			checkValue(t, p+" (link)", a, to.corpusValue)
		case "group":
			g, err := root.Group(p)
			if err != nil {
				t.Errorf("Group(%q) via link: %v", p, err)
				return
			}
			kids, err := g.Children()
			if err != nil || !reflect.DeepEqual(kids, to.Children) && len(kids)+len(to.Children) > 0 {
				t.Errorf("%s via link: children %q, %v; want %q", p, kids, err, to.Children)
			}
		}
	default:
		t.Errorf("%s: unknown object type %q", p, o.Type)
	}
}
