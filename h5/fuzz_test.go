package h5

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fuzzDataLimit keeps fuzzed files from claiming the full default
// allowance for unwritten (fill-value) data on every run.
const fuzzDataLimit = 4 << 20

func addSeeds(f *testing.F) {
	paths, _ := filepath.Glob("testdata/corpus/*.h5")
	more, _ := filepath.Glob("testdata/fuzz/seeds/*")
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 64<<10 {
			f.Add(b)
		}
	}
}

// walkBytes opens b and walks everything in it; it must never panic.
func walkBytes(t *testing.T, b []byte) (string, string) {
	f, err := NewFile(bytes.NewReader(b), int64(len(b)), "fuzz.h5")
	if err != nil {
		if f != nil {
			t.Fatalf("NewFile returned a file and an error: %v", err)
		}
		return "", err.Error()
	}
	f.dataLimit = fuzzDataLimit
	s, err := walkAll(f)
	// The same File again: its caches must not change the answer.
	s2, err2 := walkAll(f)
	if s2 != s || (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
		t.Fatalf("second walk of the same File differs: %v / %v", err, err2)
	}
	if err != nil {
		return s, err.Error()
	}
	var sb bytes.Buffer
	if err := f.Dump(&sb); err != nil {
		return s, "dump: " + err.Error()
	}
	return s, ""
}

// FuzzOpen opens arbitrary bytes as HDF5, walks every group, reads every
// dataset and attribute, and checks that a second, fresh read of the same
// bytes gives the same result.
func FuzzOpen(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		// A hang shows up as a crash with every goroutine's stack.
		timer := time.AfterFunc(10*time.Second, func() {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			os.Stderr.Write(buf[:n])
			panic("fuzz: input takes too long")
		})
		defer timer.Stop()
		s1, e1 := walkBytes(t, b)
		if strings.Contains(e1, "internal error") {
			t.Fatalf("recovered panic: %s", e1)
		}
		s2, e2 := walkBytes(t, b)
		if s1 != s2 || e1 != e2 {
			t.Fatalf("second read differs:\n%s %s\n---\n%s %s", s1, e1, s2, e2)
		}
	})
}

// TestMutations is a deterministic, in-process complement to FuzzOpen:
// corpus files with random bytes overwritten must never panic or hang,
// and a second read must agree with the first.
func TestMutations(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 20
	}
	paths, _ := filepath.Glob("testdata/corpus/*.h5")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range paths {
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(orig) > 64<<10 {
			continue
		}
		for i := 0; i < n; i++ {
			b := append([]byte(nil), orig...)
			for k := rng.IntN(8) + 1; k > 0; k-- {
				at := rng.IntN(len(b))
				switch rng.IntN(3) {
				case 0:
					b[at] = byte(rng.IntN(256))
				case 1:
					b[at] ^= 1 << rng.IntN(8)
				default:
					b[at] = []byte{0, 0xff, 1, 0x80}[rng.IntN(4)]
				}
			}
			s1, e1 := walkBytes(t, b)
			s2, e2 := walkBytes(t, b)
			if s1 != s2 || e1 != e2 {
				t.Fatalf("%s mutation %d: second read differs", p, i)
			}
			if strings.Contains(e1, "internal error") {
				os.MkdirAll("testdata/fuzz/seeds", 0o755)
				out := filepath.Join("testdata/fuzz/seeds", fmt.Sprintf("mut-%s-%d", filepath.Base(p), i))
				os.WriteFile(out, b, 0o644)
				t.Errorf("%s mutation %d: %s (saved %s)", p, i, e1, out)
			}
		}
	}
}

// FuzzMessages feeds arbitrary bytes to each object-header message decoder
// directly, which reaches their corner cases much faster than mutating
// whole files.
func FuzzMessages(f *testing.F) {
	f.Add(uint8(msgDatatype), []byte{0x10, 0x08, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0})
	f.Add(uint8(msgDataspace), []byte{1, 2, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(msgLayout), []byte{3, 2, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0})
	f.Add(uint8(msgFilters), []byte{2, 2, 2, 0, 0, 0, 1, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 6, 0, 0, 0})
	f.Add(uint8(msgLink), []byte{1, 0x08, 1, 3, 'a', 'b', 'c', 2, 0, '/', 'x'})
	f.Add(uint8(msgAttribute), []byte{3, 0, 2, 0, 8, 0, 8, 0, 0, 'a', 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0, 2, 0, 0, 0, 7})
	f.Fuzz(func(t *testing.T, typ uint8, data []byte) {
		file := &File{r: bytes.NewReader(nil), size: 1 << 20, name: "fuzz", offsetSize: 8, lengthSize: 8,
			headers: map[uint64]*objectHeader{}, gheaps: map[uint64]gheapEntry{}, links: map[uint64][]link{}}
		switch typ % 6 {
		case 0:
			file.parseDatatype(data, 0)
		case 1:
			if s, err := file.parseDataspace(data, 0); err == nil {
				s.count()
			}
		case 2:
			file.parseLayout(data, 0)
		case 3:
			file.parseFilters(data, 0)
		case 4:
			file.parseLink(data, 0)
		case 5:
			file.readAttr(rawAttr{data: data}, "/x")
		}
	})
}
