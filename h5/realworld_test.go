package h5

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const realworldDir = "../../shared/realworld"

// walkAll opens every group and dataset reachable from the root, reads
// every dataset and attribute, and returns a summary that is stable across
// reads. Hard links to objects already seen are not descended again.
func walkAll(f *File) (string, error) {
	var sb strings.Builder
	seen := map[uint64]bool{}
	var walk func(g *Group) error
	attrs := func(path string, names func() ([]string, error), attr func(string) (*Array, error)) error {
		ns, err := names()
		if err != nil {
			return err
		}
		for _, n := range ns {
			a, err := attr(n)
			if err != nil {
				return err
			}
			if a == nil {
				return fmt.Errorf("%s @%s: nil attribute without error", path, n)
			}
			fmt.Fprintf(&sb, "%s @%s %v %v %d\n", path, n, a.Shape, a.DType, len(canonical(a)))
		}
		return nil
	}
	walk = func(g *Group) error {
		if seen[g.addr] {
			return nil
		}
		seen[g.addr] = true
		if err := attrs(g.Path(), g.AttrNames, g.Attr); err != nil {
			return err
		}
		kids, err := g.Children()
		if err != nil {
			return err
		}
		for _, k := range kids {
			isg, err := g.IsGroup(k)
			if err != nil {
				if errors.Is(err, ErrNotFound) {
					continue // dangling soft link
				}
				return err
			}
			if isg {
				sub, err := g.Group(k)
				if err != nil {
					return err
				}
				if err := walk(sub); err != nil {
					return err
				}
				continue
			}
			d, err := g.Dataset(k)
			if err != nil {
				return err
			}
			a, err := d.Read()
			if err != nil {
				return err
			}
			if a == nil || a.Len() != len(canonical(a)) && !(len(a.Shape) == 1 && a.Shape[0] == 0) {
				return fmt.Errorf("%s: read %v values for shape %v", d.Path(), a, d.Shape())
			}
			fmt.Fprintf(&sb, "%s %v %v %s\n", d.Path(), a.Shape, a.DType, strings.Join(canonical(a)[:min(len(canonical(a)), 4)], ","))
			if err := attrs(d.Path(), d.AttrNames, d.Attr); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(f.Root())
	return sb.String(), err
}

func TestRealWorld(t *testing.T) {
	if _, err := os.Stat(realworldDir); err != nil {
		t.Skip("no ../shared/realworld")
	}
	var files []string
	filepath.Walk(realworldDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			switch filepath.Ext(p) {
			case ".h5", ".hdf5", ".keras":
				files = append(files, p)
			}
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("no real-world HDF5 files")
	}
	n := 0
	for _, p := range files {
		t.Run(strings.TrimPrefix(p, realworldDir+"/"), func(t *testing.T) {
			if filepath.Ext(p) == ".keras" {
				zr, err := zip.OpenReader(p)
				if err != nil {
					t.Fatal(err)
				}
				defer zr.Close()
				found := false
				for _, m := range zr.File {
					if m.Name != "model.weights.h5" {
						continue
					}
					found = true
					f, err := openZipMember(p, m)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := walkAll(f); err != nil {
						t.Fatal(err)
					}
					n++
				}
				if !found {
					t.Fatal("no model.weights.h5 in the archive")
				}
				return
			}
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s1, err := walkAll(f)
			if err != nil {
				t.Fatal(err)
			}
			if s1 == "" {
				t.Fatal("nothing read")
			}
			var sb strings.Builder
			if err := f.Dump(&sb); err != nil {
				t.Fatal(err)
			}
			n++
		})
	}
	t.Logf("read %d real-world files", n)
}

// openZipMember opens a zip member as an HDF5 file in place: a stored
// member is a byte range of the archive; a compressed one is inflated.
func openZipMember(archive string, m *zip.File) (*File, error) {
	name := archive + "!" + m.Name
	if m.Method == zip.Store {
		off, err := m.DataOffset()
		if err != nil {
			return nil, err
		}
		fh, err := os.Open(archive)
		if err != nil {
			return nil, err
		}
		sr := io.NewSectionReader(fh, off, int64(m.UncompressedSize64))
		f, err := NewFile(sr, sr.Size(), name)
		if err != nil {
			fh.Close()
			return nil, err
		}
		f.closer = fh
		return f, nil
	}
	rc, err := m.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return NewFile(strings.NewReader(string(b)), int64(len(b)), name)
}

func TestRealWorldRepeatable(t *testing.T) {
	p := filepath.Join(realworldDir, "dl4j-tfscope", "model.h5")
	if _, err := os.Stat(p); err != nil {
		t.Skip("no real-world file")
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err1 := walkAll(f)
	b, err2 := walkAll(f)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("second walk differs: %v %v", err1, err2)
	}
}
