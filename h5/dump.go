package h5

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Dump writes a recursive listing of the file in the spirit of
// `h5ls -r -v`: every group and dataset with its shape and dtype, and
// every attribute with a short (truncated) value. A hard link to an
// object already listed is shown as such, not descended into again;
// datasets and attributes of unsupported types are listed as such.
func (f *File) Dump(w io.Writer) (err error) {
	defer f.recoverError(&err)
	bw := bufio.NewWriter(w)
	seen := map[uint64]string{}
	if err := f.dumpGroup(bw, f.Root(), seen); err != nil {
		bw.Flush()
		return err
	}
	return bw.Flush()
}

func (f *File) dumpGroup(w *bufio.Writer, g *Group, seen map[uint64]string) error {
	fmt.Fprintf(w, "%-30s Group\n", g.path)
	seen[g.addr] = g.path
	if err := f.dumpAttrs(w, g.addr, g.path); err != nil {
		return err
	}
	ls, err := f.groupLinks(g.addr)
	if err != nil {
		return err
	}
	for _, l := range ls {
		p := joinPath(g.path, l.name)
		switch l.typ {
		case linkSoft:
			fmt.Fprintf(w, "%-30s Soft Link {%s}\n", p, l.target)
			continue
		case linkExternal:
			fmt.Fprintf(w, "%-30s External Link {%s}\n", p, l.target)
			continue
		}
		if prev, ok := seen[l.addr]; ok {
			fmt.Fprintf(w, "%-30s Hard Link {%s}\n", p, prev)
			continue
		}
		h, err := f.objectHeader(l.addr)
		if err != nil {
			return err
		}
		if h.has(msgLayout) {
			seen[l.addr] = p
			d, err := f.openDataset(l.addr, p)
			if u, ok := err.(*UnsupportedError); ok {
				fmt.Fprintf(w, "%-30s Dataset (unsupported: %s)\n", p, u.Feature)
				continue
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%-30s Dataset %s %s\n", p, shapeString(d.shape), d.dt.public())
			if err := f.dumpAttrs(w, l.addr, p); err != nil {
				return err
			}
			continue
		}
		if err := f.dumpGroup(w, &Group{f: f, path: p, addr: l.addr}, seen); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) dumpAttrs(w *bufio.Writer, addr uint64, path string) error {
	h, err := f.objectHeader(addr)
	if err != nil {
		return err
	}
	as, err := f.attributes(h)
	if err != nil {
		return err
	}
	for _, ra := range as {
		a, err := f.readAttr(ra, path)
		if u, ok := err.(*UnsupportedError); ok {
			fmt.Fprintf(w, "    Attribute: %s (unsupported: %s)\n", ra.name, u.Feature)
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "    Attribute: %s %s %s = %s\n", ra.name, shapeString(a.Shape), a.DType, shortValue(a, 60))
	}
	return nil
}

func shapeString(shape []int) string {
	if len(shape) == 0 {
		return "scalar"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// shortValue formats an array's values, truncated to about limit bytes.
func shortValue(a *Array, limit int) string {
	var s string
	switch v := a.Data.(type) {
	case []string:
		q := make([]string, 0, min(len(v), 16))
		for _, x := range v[:min(len(v), 16)] {
			q = append(q, strconv.Quote(x))
		}
		s = strings.Join(q, ", ")
	case [][]byte:
		q := make([]string, 0, min(len(v), 16))
		for _, x := range v[:min(len(v), 16)] {
			q = append(q, fmt.Sprintf("%x", x))
		}
		s = strings.Join(q, ", ")
	default:
		s = strings.Trim(fmt.Sprint(v), "[]")
		if a.DType.Kind == Float16 || a.DType.Kind == BFloat16 {
			if fs, err := a.Float32s(); err == nil {
				s = strings.Trim(fmt.Sprint(fs), "[]")
			}
		}
	}
	if len(a.Shape) > 0 {
		s = "[" + s + "]"
	}
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}
