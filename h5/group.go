package h5

import (
	"fmt"
	"strings"
)

// Group is a group in an HDF5 file.
type Group struct {
	f    *File
	path string
	addr uint64
}

// Path returns the group's absolute path in the file.
func (g *Group) Path() string { return g.path }

// Children returns the names of the group's links in the order h5py
// lists them (by name, or by creation order where the group tracks it).
func (g *Group) Children() (names []string, err error) {
	defer g.f.annotate(&err, g.path)
	defer g.f.recoverError(&err)
	ls, err := g.f.groupLinks(g.addr)
	if err != nil {
		return nil, err
	}
	names = make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.name
	}
	return names, nil
}

// Group returns the group at a path relative to g ('/'-separated; an
// absolute path starts at the root). The error wraps ErrNotFound if a
// component does not exist.
func (g *Group) Group(path string) (sub *Group, err error) {
	defer g.f.annotate(&err, g.target(path))
	defer g.f.recoverError(&err)
	addr, full, err := g.f.resolve(g.addr, g.path, path)
	if err != nil {
		return nil, err
	}
	h, err := g.f.objectHeader(addr)
	if err != nil {
		return nil, err
	}
	if h.has(msgLayout) || !isGroupHeader(h) {
		return nil, fmt.Errorf("h5: %s: %s is not a group", g.f.name, full)
	}
	return &Group{f: g.f, path: full, addr: addr}, nil
}

// Dataset returns the dataset at a path relative to g. The error wraps
// ErrNotFound if it does not exist.
func (g *Group) Dataset(path string) (d *Dataset, err error) {
	defer g.f.annotate(&err, g.target(path))
	defer g.f.recoverError(&err)
	addr, full, err := g.f.resolve(g.addr, g.path, path)
	if err != nil {
		return nil, err
	}
	return g.f.openDataset(addr, full)
}

// IsGroup reports whether the child called name is a group (rather than a
// dataset). The error wraps ErrNotFound if there is no such child.
func (g *Group) IsGroup(name string) (ok bool, err error) {
	defer g.f.annotate(&err, g.target(name))
	defer g.f.recoverError(&err)
	addr, _, err := g.f.resolve(g.addr, g.path, name)
	if err != nil {
		return false, err
	}
	h, err := g.f.objectHeader(addr)
	if err != nil {
		return false, err
	}
	return !h.has(msgLayout) && isGroupHeader(h), nil
}

// AttrNames returns the names of the group's attributes.
func (g *Group) AttrNames() (names []string, err error) {
	defer g.f.annotate(&err, g.path)
	defer g.f.recoverError(&err)
	return g.f.attrNames(g.addr)
}

// Attr reads the attribute called name. The error wraps ErrNotFound if it
// does not exist.
func (g *Group) Attr(name string) (a *Array, err error) {
	defer g.f.annotate(&err, g.path)
	defer g.f.recoverError(&err)
	return g.f.attr(g.addr, g.path, name)
}

func (f *File) attrNames(addr uint64) ([]string, error) {
	h, err := f.objectHeader(addr)
	if err != nil {
		return nil, err
	}
	as, err := f.attributes(h)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.name
	}
	return names, nil
}

func (f *File) attr(addr uint64, objPath, name string) (*Array, error) {
	h, err := f.objectHeader(addr)
	if err != nil {
		return nil, err
	}
	as, err := f.attributes(h)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		if a.name == name {
			return f.readAttr(a, objPath)
		}
	}
	return nil, fmt.Errorf("h5: %s: %s: attribute %q: %w", f.name, objPath, name, ErrNotFound)
}

// maxSoftLinkHops bounds soft-link resolution, catching cycles.
const maxSoftLinkHops = 40

// resolve follows path from the group at addr (whose absolute path is
// base) and returns the object address and its absolute path.
func (f *File) resolve(addr uint64, base, path string) (uint64, string, error) {
	hops := 0
	return f.resolveHops(addr, base, path, &hops)
}

func (f *File) resolveHops(addr uint64, base, path string, hops *int) (uint64, string, error) {
	if strings.HasPrefix(path, "/") {
		addr, base = f.rootAddr, "/"
	}
	cur := base
	for _, name := range strings.Split(path, "/") {
		if name == "" || name == "." {
			continue
		}
		ls, err := f.groupLinks(addr)
		if err != nil {
			return 0, "", err
		}
		var l *link
		for i := range ls {
			if ls[i].name == name {
				l = &ls[i]
				break
			}
		}
		if l == nil {
			return 0, "", fmt.Errorf("h5: %s: %s: %q: %w", f.name, cur, name, ErrNotFound)
		}
		next := joinPath(cur, name)
		switch l.typ {
		case linkHard:
			addr = l.addr
		case linkSoft:
			*hops++
			if *hops > maxSoftLinkHops {
				return 0, "", f.formatErr(-1, "soft link %s -> %s: too many levels of soft links (cycle?)", next, l.target)
			}
			a, _, err := f.resolveHops(addr, cur, l.target, hops)
			if err != nil {
				return 0, "", err
			}
			addr = a
		case linkExternal:
			return 0, "", f.unsupported("external link %s -> %s", next, l.target)
		}
		cur = next
	}
	if addr == undefAddr || addr >= uint64(f.size) {
		return 0, "", f.formatErr(-1, "%s: object address %d beyond end of file", cur, int64(addr))
	}
	return addr, cur, nil
}

func joinPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// target names the object a relative or absolute path refers to, for
// error messages.
func (g *Group) target(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return joinPath(g.path, p)
}
