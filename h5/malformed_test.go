package h5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

func corpusBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/corpus/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patchRootGroupBTree returns the address of the v1 B-tree of the group at
// path in an earliest-format file.
func groupBTree(t *testing.T, b []byte, path string) uint64 {
	t.Helper()
	f, err := NewFile(bytes.NewReader(b), int64(len(b)), "x")
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.Root().Group(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.objectHeader(g.addr)
	if err != nil {
		t.Fatal(err)
	}
	m := h.first(msgSymbolTable)
	if m == nil {
		t.Fatalf("%s has no symbol table", path)
	}
	return binary.LittleEndian.Uint64(m.data)
}

// firstContinuation finds a continuation message in the version-1 object
// header at addr and returns the file offset of its address field.
func firstContinuation(t *testing.T, b []byte, addr uint64) (field uint64) {
	t.Helper()
	size := uint64(binary.LittleEndian.Uint32(b[addr+8:]))
	for p := addr + 16; p+8 <= addr+16+size; {
		typ := binary.LittleEndian.Uint16(b[p:])
		n := uint64(binary.LittleEndian.Uint16(b[p+2:]))
		if typ == msgContinuation {
			return p + 8
		}
		p += 8 + n
	}
	t.Fatal("no continuation message")
	return 0
}

func TestMalformed(t *testing.T) {
	basic := corpusBytes(t, "basic_earliest.h5")
	many := corpusBytes(t, "many_children_earliest.h5")
	latest := corpusBytes(t, "basic_latest.h5")
	patch := func(b []byte, off uint64, v uint64) []byte {
		c := append([]byte(nil), b...)
		binary.LittleEndian.PutUint64(c[off:], v)
		return c
	}
	rootAddr := binary.LittleEndian.Uint64(basic[64:]) // root symbol table entry: object header address
	tests := []struct {
		name string
		data []byte
		want string // substring of the error
		kind string // "format", "unsupported" or "" for a plain error
	}{
		{"empty file", nil, "not an HDF5 file", "format"},
		{"bad signature", append([]byte("\x89HDF\r\n\x1a\x00"), basic[8:]...), "not an HDF5 file", "format"},
		{"text file", []byte(strings.Repeat("hello world\n", 100)), "not an HDF5 file", "format"},
		{"truncated superblock", basic[:20], "truncated", "format"},
		{"truncated after superblock", basic[:100], "file is truncated", "format"},
		{"truncated in the middle", basic[:len(basic)/2], "file is truncated", "format"},
		{"root address beyond EOF", patch(basic, 64, 1<<40), "root group address", "format"},
		{"unknown superblock version", append(append([]byte(nil), basic[:8]...), append([]byte{9}, basic[9:]...)...), "superblock version 9", "format"},
		{"bad offset size", append(append([]byte(nil), basic[:13]...), append([]byte{3}, basic[14:]...)...), "offset/length sizes", "format"},
		{"superblock v3 checksum", append(append([]byte(nil), latest[:9]...), append([]byte{4}, latest[10:]...)...), "checksum mismatch", "format"},
		{"B-tree cycle", patch(many, groupBTree(t, many, "many")+24+8, groupBTree(t, many, "many")), "cycle", "format"},
		{"continuation cycle", patch(basic, firstContinuation(t, basic, rootAddr), rootAddr+16), "continuation cycle", "format"},
		{"continuation beyond EOF", patch(basic, firstContinuation(t, basic, rootAddr), 1<<40), "beyond the end of the file", "format"},
		{"declared 10^12 elements", corpusBytes(t, "huge_declared.h5"), "more than a", "format"},
		{"soft link cycle", corpusBytes(t, "soft_cycle.h5"), "too many levels of soft links", "format"},
		{"external link", corpusBytes(t, "unsupported_external_link.h5"), "external link", "unsupported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewFile(bytes.NewReader(tc.data), int64(len(tc.data)), tc.name)
			if err != nil {
				if f != nil {
					t.Errorf("NewFile returned a file with error %v", err)
				}
			} else {
				_, err = walkAll(f)
			}
			checkErr(t, err, tc.want, tc.kind)
		})
	}
}

func checkErr(t *testing.T, err error, want, kind string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if strings.Contains(err.Error(), "internal error") {
		t.Errorf("a panic was recovered: %v", err)
	}
	var fe *FormatError
	var ue *UnsupportedError
	switch kind {
	case "format":
		if !errors.As(err, &fe) {
			t.Errorf("error %v (%T) is not a FormatError", err, err)
		} else if fe.File == "" {
			t.Errorf("FormatError does not name the file")
		}
	case "unsupported":
		if !errors.As(err, &ue) {
			t.Errorf("error %v (%T) is not an UnsupportedError", err, err)
		}
	}
}

// TestNoValueWithError checks every public entry point on broken files:
// a value never comes back together with an error.
func TestNoValueWithError(t *testing.T) {
	basic := corpusBytes(t, "basic_earliest.h5")
	for _, n := range []int{100, 500, 1000, 2000, 4000, 8000, 12000, 16000, 20000, 24000, len(basic) - 100} {
		// Cut the file and its recorded end, so that Open succeeds and the
		// damage is met deeper down.
		b := append([]byte(nil), basic[:n]...)
		if n >= 48 {
			binary.LittleEndian.PutUint64(b[40:], uint64(n))
		}
		f, err := NewFile(bytes.NewReader(b), int64(len(b)), "truncated")
		if err != nil {
			if f != nil {
				t.Errorf("%d: NewFile returned a file with error", n)
			}
			continue
		}
		root := f.Root()
		if kids, err := root.Children(); err != nil && kids != nil {
			t.Errorf("%d: Children returned names with error", n)
		}
		if names, err := root.AttrNames(); err != nil && names != nil {
			t.Errorf("%d: AttrNames returned names with error", n)
		}
		if a, err := root.Attr("model_config"); err != nil && a != nil {
			t.Errorf("%d: Attr returned a value with error", n)
		}
		if g, err := root.Group("model_weights/dense"); err != nil && g != nil {
			t.Errorf("%d: Group returned a value with error", n)
		}
		for _, p := range []string{"dtypes/float32", "dtypes/vlen_utf8", "model_weights/dense/dense/kernel:0", "dtypes/compact_f8"} {
			d, err := root.Dataset(p)
			if err != nil {
				if d != nil {
					t.Errorf("%d: Dataset returned a value with error", n)
				}
				continue
			}
			a, err := d.Read()
			if err != nil && a != nil {
				t.Errorf("%d: Read returned a value with error", n)
			}
			if err != nil && !strings.Contains(err.Error(), "/"+p) {
				t.Errorf("%d: Read error %q does not name the dataset", n, err)
			}
			if a, err := d.Attr("note"); err != nil && a != nil {
				t.Errorf("%d: Attr returned a value with error", n)
			}
		}
		if _, err := walkAll(f); err != nil && strings.Contains(err.Error(), "internal error") {
			t.Errorf("%d: recovered panic: %v", n, err)
		}
		var sb strings.Builder
		if err := f.Dump(&sb); err != nil && strings.Contains(err.Error(), "internal error") {
			t.Errorf("%d: recovered panic in Dump: %v", n, err)
		}
	}
}

func TestNotFound(t *testing.T) {
	f, err := Open("testdata/corpus/basic_earliest.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := f.Root()
	for _, p := range []string{"nope", "dtypes/nope", "nope/deeper"} {
		if _, err := root.Dataset(p); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "basic_earliest.h5") {
			t.Errorf("Dataset(%q): %v, want ErrNotFound naming the file", p, err)
		}
		if _, err := root.Group(p); !errors.Is(err, ErrNotFound) {
			t.Errorf("Group(%q): %v, want ErrNotFound", p, err)
		}
	}
	if _, err := root.Group("dtypes/float32"); err == nil || !strings.Contains(err.Error(), "not a group") {
		t.Errorf("Group of a dataset: %v", err)
	}
	if _, err := root.Dataset("dtypes"); err == nil || !strings.Contains(err.Error(), "not a dataset") {
		t.Errorf("Dataset of a group: %v", err)
	}
	if _, err := Open("testdata/no-such-file.h5"); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}
