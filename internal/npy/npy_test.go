package npy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The samples in testdata/ and their expected contents in expected.json are
// written by numpy (compat/python/npy_samples.py).

type sample struct {
	Shape        []int  `json:"shape"`
	Descr        string `json:"descr"`
	FortranOrder bool   `json:"fortran_order"`
	Values       []any  `json:"values"`
}

type expectedFile struct {
	Numpy string                       `json:"numpy"`
	Files map[string]sample            `json:"files"`
	NPZ   map[string]map[string]sample `json:"npz"`
}

func loadExpected(t *testing.T) expectedFile {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expectedFile
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Files) == 0 || len(e.NPZ) == 0 {
		t.Fatal("expected.json lists no samples")
	}
	return e
}

func (s sample) float32s(t *testing.T) []float32 {
	t.Helper()
	out := make([]float32, len(s.Values))
	for i, v := range s.Values {
		switch v := v.(type) {
		case float64:
			out[i] = float32(v)
		case string:
			switch v {
			case "nan":
				out[i] = float32(math.NaN())
			case "inf":
				out[i] = float32(math.Inf(1))
			case "-inf":
				out[i] = float32(math.Inf(-1))
			default:
				t.Fatalf("bad value %q in expected.json", v)
			}
		default:
			t.Fatalf("bad value %v in expected.json", v)
		}
	}
	return out
}

// sameBits compares float32 slices bit for bit, so NaN equals NaN and -0
// differs from 0.
func sameBits(got, want []float32) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d elements, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) &&
			!(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
			return fmt.Errorf("element %d = %v, want %v", i, got[i], want[i])
		}
	}
	return nil
}

func checkArray(t *testing.T, name string, a *Array, s sample) {
	t.Helper()
	if !reflect.DeepEqual(a.Shape, s.Shape) {
		t.Errorf("%s: shape %v, want %v", name, a.Shape, s.Shape)
	}
	if a.Shape == nil {
		t.Errorf("%s: nil shape, want non-nil", name)
	}
	if a.DType != s.Descr {
		t.Errorf("%s: dtype %q, want %q", name, a.DType, s.Descr)
	}
	if a.Len() != len(a.Data) {
		t.Errorf("%s: Len() %d but %d elements", name, a.Len(), len(a.Data))
	}
	if err := sameBits(a.Data, s.float32s(t)); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func TestReadNumpySamples(t *testing.T) {
	e := loadExpected(t)
	names := make([]string, 0, len(e.Files))
	for n := range e.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	kinds := map[string]bool{}
	for _, name := range names {
		s := e.Files[name]
		kinds[s.Descr] = true
		a, err := ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Errorf("ReadFile(%s): %v", name, err)
			continue
		}
		checkArray(t, name, a, s)

		// Read from a stream gives the same array.
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		r := bytes.NewReader(b)
		a2, err := Read(r)
		if err != nil {
			t.Errorf("Read(%s): %v", name, err)
			continue
		}
		checkArray(t, name+" (Read)", a2, s)
		if r.Len() != 0 {
			t.Errorf("Read(%s) left %d bytes unread", name, r.Len())
		}
	}
	for _, d := range []string{"<f2", "<f4", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "|b1", ">f4", ">f8", ">i8", ">u2"} {
		if !kinds[d] {
			t.Errorf("no sample with dtype %s", d)
		}
	}
}

func TestReadConsecutiveArrays(t *testing.T) {
	var buf bytes.Buffer
	for _, name := range []string{"f4_2x3.npy", "be_i8_3.npy", "f4_scalar.npy"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	e := loadExpected(t)
	for _, name := range []string{"f4_2x3.npy", "be_i8_3.npy", "f4_scalar.npy"} {
		a, err := Read(&buf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkArray(t, name, a, e.Files[name])
	}
}

func TestWriteMatchesNumpyBytes(t *testing.T) {
	e := loadExpected(t)
	n := 0
	for name, s := range e.Files {
		if s.Descr != "<f4" || s.FortranOrder || strings.HasPrefix(name, "v") {
			continue
		}
		n++
		want, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := Write(&got, s.Shape, s.float32s(t)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: Write gives\n%q\nnumpy wrote\n%q", name, got.Bytes(), want)
		}
	}
	if n < 5 {
		t.Fatalf("only %d float32 samples to compare", n)
	}
}

func TestWriteFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npy")
	data := []float32{1, -2, float32(math.Inf(1)), 0.5, 1e-40, -0}
	if err := WriteFile(path, []int{3, 2}, data); err != nil {
		t.Fatal(err)
	}
	a, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Shape, []int{3, 2}) || a.DType != "<f4" {
		t.Errorf("shape %v dtype %q", a.Shape, a.DType)
	}
	if err := sameBits(a.Data, data); err != nil {
		t.Error(err)
	}
	// The temporary file is gone and a failed write leaves the old file.
	if err := WriteFile(path, []int{4}, data); err == nil {
		t.Error("WriteFile with a shape that does not match the data succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only a.npy", len(entries))
	}
	if a, err := ReadFile(path); err != nil || len(a.Data) != 6 {
		t.Errorf("old file damaged by a failed write: %v", err)
	}
}

func TestWriteRejectsBadShape(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		n     int
	}{{[]int{2, 3}, 5}, {[]int{-1}, 0}, {[]int{}, 0}, {[]int{1 << 40, 1 << 40}, 1}} {
		if err := Write(&bytes.Buffer{}, tc.shape, make([]float32, tc.n)); err == nil {
			t.Errorf("Write(shape %v, %d values) succeeded", tc.shape, tc.n)
		}
	}
}

func TestReadNPZ(t *testing.T) {
	e := loadExpected(t)
	for file, members := range e.NPZ {
		got, err := ReadNPZ(filepath.Join("testdata", file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if len(got) != len(members) {
			t.Errorf("%s: %d arrays, want %d", file, len(got), len(members))
		}
		for name, s := range members {
			a, ok := got[name]
			if !ok {
				t.Errorf("%s: no array %q", file, name)
				continue
			}
			checkArray(t, file+":"+name, a, s)
		}
	}
}

func TestWriteNPZRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.npz")
	arrays := []*Array{
		{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		{Shape: []int{}, Data: []float32{7}},
		{Shape: []int{0}, Data: []float32{}},
	}
	names := []string{"x", "s", "empty"}
	if err := WriteNPZ(path, names, arrays); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	if err := WriteNPZ(path, names, arrays); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if !bytes.Equal(first, second) {
		t.Error("WriteNPZ is not deterministic")
	}
	got, err := ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		a := got[name]
		if a == nil || !reflect.DeepEqual(a.Shape, arrays[i].Shape) || sameBits(a.Data, arrays[i].Data) != nil {
			t.Errorf("%s: got %+v, want %+v", name, a, arrays[i])
		}
	}
	if err := WriteNPZ(path, []string{"a", "a"}, arrays[:2]); err == nil {
		t.Error("WriteNPZ accepted a repeated name")
	}
	if err := WriteNPZ(path, []string{"a"}, []*Array{{Shape: []int{3}, Data: []float32{1}}}); err == nil {
		t.Error("WriteNPZ accepted an array whose shape does not match its data")
	}
}

func TestFortranToC(t *testing.T) {
	// A 2x3 array [[0 1 2] [3 4 5]] stored column-major is 0 3 1 4 2 5.
	got := fortranToC([]float32{0, 3, 1, 4, 2, 5}, []int{2, 3})
	if !reflect.DeepEqual(got, []float32{0, 1, 2, 3, 4, 5}) {
		t.Errorf("fortranToC = %v", got)
	}
}

func TestHalfToFloat32(t *testing.T) {
	for _, tc := range []struct {
		bits uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 5.960464477539063e-08},
		{0x0400, 6.103515625e-05}, {0x8000, float32(math.Copysign(0, -1))},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	} {
		if got := halfToFloat32(tc.bits); math.Float32bits(got) != math.Float32bits(tc.want) {
			t.Errorf("halfToFloat32(%#04x) = %v, want %v", tc.bits, got, tc.want)
		}
	}
	if got := halfToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("halfToFloat32(NaN) = %v", got)
	}
}

// npyBytes builds a version 1.0 file with the given header dictionary and
// data bytes.
func npyBytes(dict string, data []byte) []byte {
	b := []byte(magic + "\x01\x00")
	b = append(b, byte(len(dict)+1), byte((len(dict)+1)>>8))
	b = append(b, dict...)
	b = append(b, '\n')
	return append(b, data...)
}

func TestReadInvalid(t *testing.T) {
	hdr := func(descr, shape string) string {
		return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
	}
	v2Huge := []byte(magic + "\x02\x00\xff\xff\xff\x7f")
	for _, tc := range []struct {
		name    string
		file    []byte
		errText string
		format  bool // a FormatError, else an UnsupportedError
	}{
		{"empty", nil, "too short", true},
		{"bad magic", []byte("\x93NUMPX\x01\x00\x00\x00"), "not a .npy file", true},
		{"version 4", []byte(magic + "\x04\x00\x00\x00"), "version 4.0", false},
		{"header too long", v2Huge, "exceeds", true},
		{"header cut", append([]byte(magic+"\x01\x00\x40\x00"), "{'descr'"...), "file ends first", true},
		{"not a dict", npyBytes("[1, 2]", nil), "not a dictionary", true},
		{"missing shape", npyBytes("{'descr': '<f4', 'fortran_order': False}", nil), "lacks key \"shape\"", true},
		{"extra key", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", nil), "beyond", true},
		{"duplicate key", npyBytes("{'descr': '<f4', 'descr': '<f4'}", nil), "duplicate key", true},
		{"unterminated", npyBytes("{'descr': '<f4", nil), "unterminated", true},
		{"garbage after", npyBytes(hdr("<f4", "()")+" x", nil), "after the dictionary", true},
		{"deep nesting", npyBytes(strings.Repeat("(", 100), nil), "nested deeper", true},
		{"structured", npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", nil), "structured dtype", false},
		{"string dtype", npyBytes(hdr("<U3", "(1,)"), nil), "dtype \"<U3\"", false},
		{"complex dtype", npyBytes(hdr("<c8", "(1,)"), nil), "dtype \"<c8\"", false},
		{"object dtype", npyBytes(hdr("|O", "(1,)"), nil), "dtype \"|O\"", false},
		{"native order", npyBytes(hdr("=f4", "(1,)"), nil), "native byte order", false},
		{"bad order", npyBytes(hdr("!f4", "(1,)"), nil), "unknown byte order", true},
		{"pipe on f4", npyBytes(hdr("|f4", "(1,)"), nil), "byte order '|'", true},
		{"shape list", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", nil), "want a tuple", true},
		{"negative dim", npyBytes(hdr("<f4", "(2, -1)"), nil), "not a non-negative integer", true},
		{"float dim", npyBytes(hdr("<f4", "(2, 'a')"), nil), "not a non-negative integer", true},
		{"overflow", npyBytes(hdr("<f8", "(2000000000, 2000000000, 2000000000)"), nil), "overflows", true},
		{"fortran not bool", npyBytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", nil), "True or False", true},
		{"short data", npyBytes(hdr("<f4", "(2, 3)"), make([]byte, 20)), "declares 24 data bytes", true},
		{"huge declared", npyBytes(hdr("<f8", "(100000, 100000)"), make([]byte, 64)), "declares 80000000000 data bytes", true},
	} {
		a, err := Read(bytes.NewReader(tc.file))
		if err == nil {
			t.Errorf("%s: Read succeeded: %+v", tc.name, a)
			continue
		}
		if a != nil {
			t.Errorf("%s: Read returned an array with its error", tc.name)
		}
		if !strings.Contains(err.Error(), tc.errText) {
			t.Errorf("%s: error %q lacks %q", tc.name, err, tc.errText)
		}
		var fe *FormatError
		var ue *UnsupportedError
		if tc.format && !errors.As(err, &fe) {
			t.Errorf("%s: error %T, want *FormatError", tc.name, err)
		}
		if !tc.format && !errors.As(err, &ue) {
			t.Errorf("%s: error %T, want *UnsupportedError", tc.name, err)
		}
	}
}

func TestReadFileChecksSizeFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bomb.npy")
	b := npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }", make([]byte, 8))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	if err == nil || !strings.Contains(err.Error(), "only 8 follow the header") || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadFile: %v", err)
	}
}

func TestReadNPZInvalid(t *testing.T) {
	dir := t.TempDir()
	notZip := filepath.Join(dir, "x.npz")
	os.WriteFile(notZip, []byte("hello"), 0o644)
	if _, err := ReadNPZ(notZip); err == nil || !strings.Contains(err.Error(), "not a zip archive") {
		t.Errorf("not a zip: %v", err)
	}
	// A member that is not .npy data names the member.
	good, _ := os.ReadFile("testdata/stored.npz")
	bad := bytes.Replace(good, []byte("NUMPY"), []byte("NUMPZ"), 1)
	badPath := filepath.Join(dir, "bad.npz")
	os.WriteFile(badPath, bad, 0o644)
	if _, err := ReadNPZ(badPath); err == nil || !strings.Contains(err.Error(), "a.npy") {
		t.Errorf("damaged member: %v", err)
	}
}
