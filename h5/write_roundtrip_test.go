package h5

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
)

// TestWriteRoundTrip writes every corpus file, reads it back with the
// package's reader and compares every group, dataset and attribute.
func TestWriteRoundTrip(t *testing.T) {
	for _, wf := range append(wtCorpus(), wtRealworld(t)...) {
		t.Run(wf.name, func(t *testing.T) {
			b := wtBytes(t, wf.build(t))
			f, err := NewFile(bytes.NewReader(b), int64(len(b)), wf.name)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range wf.objects {
				if o.value == nil {
					g, err := f.Root().Group(o.path)
					if err != nil {
						t.Fatalf("%s: %v", o.path, err)
					}
					names, err := g.Children()
					if err != nil {
						t.Fatalf("%s: %v", o.path, err)
					}
					if want := wf.children(o.path); !slices.Equal(names, want) {
						t.Errorf("%s: %d children, want %d", o.path, len(names), len(want))
					}
					wtCompareAttrs(t, o, g.AttrNames, g.Attr)
					continue
				}
				d, err := f.Root().Dataset(o.path)
				if err != nil {
					t.Fatalf("%s: %v", o.path, err)
				}
				got, err := d.Read()
				if err != nil {
					t.Fatalf("%s: %v", o.path, err)
				}
				wtCompareArray(t, o.path, got, o.value, true)
				if dt := d.DType(); !wtSameDType(dt, got.DType) {
					t.Errorf("%s: DType() %v, Read gives %v", o.path, dt, got.DType)
				}
				wtCompareAttrs(t, o, d.AttrNames, d.Attr)
			}
		})
	}
}

func wtCompareAttrs(t *testing.T, o wtObject, names func() ([]string, error), attr func(string) (*Array, error)) {
	t.Helper()
	got, err := names()
	if err != nil {
		t.Fatalf("%s: %v", o.path, err)
	}
	var want []string
	for _, a := range o.expectedAttrs() {
		want = append(want, a.name)
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("%s: attributes %q, want %q", o.path, got, want)
	}
	for _, a := range o.expectedAttrs() {
		v, err := attr(a.name)
		if err != nil {
			t.Errorf("%s attribute %q: %v", o.path, a.name, err)
			continue
		}
		wtCompareArray(t, o.path+" attribute "+a.name, v, a.value, false)
	}
}

func wtSameDType(a, b DType) bool {
	return a.Kind == b.Kind && a.VarLen == b.VarLen && a.UTF8 == b.UTF8 && a.Tag == b.Tag &&
		writerElemSize(a) == writerElemSize(b)
}

// wtCompareArray compares what the reader returned with what was written.
// A bfloat16 attribute has no dtype marker, so it reads back as 2-byte
// opaque data; a bfloat16 dataset keeps its kind.
func wtCompareArray(t *testing.T, where string, got, want *Array, dataset bool) {
	t.Helper()
	if want.DType.Kind == BFloat16 && !dataset {
		bits := want.Data.([]uint16)
		op := make([][]byte, len(bits))
		for i, x := range bits {
			op[i] = writerLE.AppendUint16(nil, x)
		}
		want = &Array{DType: DType{Kind: Opaque, Size: 2}, Shape: want.Shape, Data: op}
	}
	if !wtSameDType(got.DType, want.DType) {
		t.Errorf("%s: dtype %v (size %d), want %v", where, got.DType, got.DType.Size, want.DType)
		return
	}
	if len(got.Shape) != len(want.Shape) || (len(want.Shape) > 0 && !slices.Equal(got.Shape, want.Shape)) {
		t.Errorf("%s: shape %v, want %v", where, got.Shape, want.Shape)
		return
	}
	gd, wd := got.Data, want.Data
	// Floats compare by bits so NaN and -0 are checked too.
	switch w := wd.(type) {
	case []float32:
		g, ok := gd.([]float32)
		if ok {
			gd, wd = convert(g, math.Float32bits), convert(w, math.Float32bits)
		}
	case []float64:
		g, ok := gd.([]float64)
		if ok {
			gd, wd = convert(g, math.Float64bits), convert(w, math.Float64bits)
		}
	}
	if reflect.ValueOf(gd).Len() == 0 && reflect.ValueOf(wd).Len() == 0 && reflect.TypeOf(gd) == reflect.TypeOf(wd) {
		return
	}
	if !reflect.DeepEqual(gd, wd) {
		g, w := reflect.ValueOf(gd), reflect.ValueOf(wd)
		if g.Type() != w.Type() || g.Len() != w.Len() {
			t.Errorf("%s: data is %d %T, want %d %T", where, g.Len(), gd, w.Len(), wd)
			return
		}
		for i := range g.Len() {
			if x, y := g.Index(i).Interface(), w.Index(i).Interface(); !reflect.DeepEqual(x, y) {
				t.Errorf("%s: element %d of %d is %s, want %s", where, i, g.Len(), wtShort(x), wtShort(y))
				return
			}
		}
	}
}

func wtShort(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
