package h5

import (
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// TestCorpusCoverage checks that the corpus exercises the structures the
// reader claims to decode, so a regenerated corpus cannot silently drop one.
func TestCorpusCoverage(t *testing.T) {
	got := map[string]bool{}
	for _, path := range loadCorpus(t) {
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got["superblock v"+strconv.Itoa(f.sbVersion)] = true
		seen := map[uint64]bool{}
		var walk func(addr uint64)
		walk = func(addr uint64) {
			if seen[addr] {
				return
			}
			seen[addr] = true
			h, err := f.objectHeader(addr)
			if err != nil {
				return
			}
			got["object header v"+strconv.Itoa(h.version)] = true
			if m := h.first(msgAttrInfo); m != nil {
				c := f.newCursor(m.data, m.addr, "")
				c.u8()
				if c.u8()&1 != 0 {
					c.skip(2)
				}
				if c.addr() != undefAddr {
					got["dense attributes"] = true
					f.walkBTree2(c.addr(), func(_ int, rec []byte, _ uint64) bool {
						got[[]string{"managed", "huge", "tiny", "?"}[rec[0]>>4&3]+" heap objects"] = true
						return true
					})
				}
			}
			if m := h.first(msgLayout); m != nil {
				l, err := f.parseLayout(m.data, m.addr)
				if err == nil {
					switch l.class {
					case layoutChunked:
						got["chunk index "+indexName(l.index)] = true
						if l.index == indexFixedArray {
							if b, err := f.readBlock(l.addr, 16, "fixed array header"); err == nil {
								n := uint64(b[8]) | uint64(b[9])<<8 | uint64(b[10])<<16
								if n > 1<<b[7] {
									got["paged fixed array"] = true
								}
							}
						}
					case layoutCompact:
						got["compact layout"] = true
					case layoutContiguous:
						got["contiguous layout"] = true
					}
				}
				return
			}
			if h.has(msgSymbolTable) {
				got["symbol table group"] = true
			}
			if m := h.first(msgLinkInfo); m != nil {
				c := f.newCursor(m.data, m.addr, "")
				c.u8()
				if c.u8()&1 != 0 {
					c.skip(8)
				}
				if c.addr() != undefAddr {
					got["dense links"] = true
				}
			}
			if h.has(msgLink) {
				got["link messages"] = true
			}
			ls, err := f.groupLinks(addr)
			if err != nil {
				return
			}
			for _, l := range ls {
				if l.typ == linkHard {
					walk(l.addr)
				}
			}
		}
		walk(f.rootAddr)
		f.Close()
	}
	want := []string{"superblock v0", "superblock v2", "superblock v3", "object header v1", "object header v2",
		"symbol table group", "link messages", "dense links", "dense attributes", "managed heap objects", "huge heap objects",
		"compact layout", "contiguous layout", "chunk index v1 B-tree", "chunk index single chunk",
		"chunk index implicit", "chunk index fixed array", "paged fixed array", "chunk index extensible array", "chunk index v2 B-tree"}
	var missing []string
	for _, w := range want {
		if !got[w] {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		var have []string
		for k := range got {
			have = append(have, k)
		}
		sort.Strings(have)
		t.Errorf("corpus (%s) lacks %q; has %q", filepath.Join("testdata", "corpus"), missing, have)
	}
}

func indexName(i int) string {
	if i == indexBTree1 {
		return "v1 B-tree"
	}
	return indexNames[i]
}
