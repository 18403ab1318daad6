package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// magic starts every .npy file; the next two bytes are the format version.
const magic = "\x93NUMPY"

// maxHeaderLen caps the header dictionary. numpy's own reader refuses
// headers over 10000 bytes by default; plain arrays need under 200.
const maxHeaderLen = 1 << 16

// header is the decoded header dictionary of a .npy file.
type header struct {
	descr   string
	dt      dtype
	fortran bool
	shape   []int
	count   int   // number of elements
	nbytes  int64 // size of the data section
	size    int64 // size of magic + version + length + dictionary
}

// dtype describes one supported element type.
type dtype struct {
	kind      byte // 'f', 'i', 'u' or 'b'
	size      int  // bytes per element
	bigEndian bool
}

func parseDescr(descr string) (dtype, error) {
	if len(descr) < 3 {
		return dtype{}, &UnsupportedError{Feature: fmt.Sprintf("dtype %q", descr)}
	}
	order, kind, sizeText := descr[0], descr[1], descr[2:]
	size, err := strconv.Atoi(sizeText)
	if err != nil {
		return dtype{}, &UnsupportedError{Feature: fmt.Sprintf("dtype %q", descr)}
	}
	dt := dtype{kind: kind, size: size}
	ok := false
	switch kind {
	case 'f':
		ok = size == 2 || size == 4 || size == 8
	case 'i', 'u':
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case 'b':
		ok = size == 1
	}
	if !ok {
		return dtype{}, &UnsupportedError{Feature: fmt.Sprintf("dtype %q (only float16/32/64, int8-64, uint8-64 and bool are read)", descr)}
	}
	switch order {
	case '<':
	case '>':
		dt.bigEndian = true
	case '|':
		if size != 1 {
			return dtype{}, formatErrorf("dtype %q: byte order '|' on a %d-byte type", descr, size)
		}
	case '=':
		if size != 1 {
			return dtype{}, &UnsupportedError{Feature: fmt.Sprintf("dtype %q: native byte order '=' does not say which", descr)}
		}
	default:
		return dtype{}, formatErrorf("dtype %q: unknown byte order %q", descr, order)
	}
	return dt, nil
}

// readHeader reads and checks the magic, version and header dictionary.
func readHeader(r io.Reader) (*header, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, formatErrorf("file too short for the .npy preamble: %v", err)
	}
	if string(pre[:6]) != magic {
		return nil, formatErrorf("not a .npy file: magic %q, want %q", pre[:6], magic)
	}
	major, minor := pre[6], pre[7]
	var hlen int64
	var size int64
	switch {
	case major == 1 && minor == 0:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, formatErrorf("file too short for the header length: %v", err)
		}
		hlen = int64(binary.LittleEndian.Uint16(pre[8:10]))
		size = 10 + hlen
	case (major == 2 || major == 3) && minor == 0:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, formatErrorf("file too short for the header length: %v", err)
		}
		hlen = int64(binary.LittleEndian.Uint32(l[:]))
		size = 12 + hlen
	default:
		return nil, &UnsupportedError{Feature: fmt.Sprintf(".npy format version %d.%d", major, minor)}
	}
	if hlen > maxHeaderLen {
		return nil, formatErrorf("header length %d exceeds the %d-byte limit", hlen, maxHeaderLen)
	}
	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return nil, formatErrorf("header declares %d bytes but the file ends first", hlen)
	}
	h, err := parseHeaderDict(text)
	if err != nil {
		return nil, err
	}
	h.size = size
	return h, nil
}

func parseHeaderDict(text []byte) (*header, error) {
	text = bytes.TrimRight(text, " \n\x00")
	p := &literalParser{s: string(text)}
	v, err := p.value(0)
	if err == nil {
		p.skipSpace()
		if p.pos != len(p.s) {
			err = fmt.Errorf("unexpected %q after the dictionary", p.rest())
		}
	}
	if err != nil {
		return nil, formatErrorf("header %q: %v", clip(string(text)), err)
	}
	dict, ok := v.(map[string]any)
	if !ok {
		return nil, formatErrorf("header %q is not a dictionary", clip(string(text)))
	}
	h := &header{}
	for _, key := range []string{"descr", "fortran_order", "shape"} {
		if _, ok := dict[key]; !ok {
			return nil, formatErrorf("header %q lacks key %q", clip(string(text)), key)
		}
	}
	if len(dict) != 3 {
		return nil, formatErrorf("header %q has keys beyond descr, fortran_order and shape", clip(string(text)))
	}
	switch d := dict["descr"].(type) {
	case string:
		h.descr = d
	case []any:
		return nil, &UnsupportedError{Feature: "structured dtype (descr is a list)"}
	default:
		return nil, formatErrorf("header descr is %T, want a string", d)
	}
	dt, err := parseDescr(h.descr)
	if err != nil {
		return nil, err
	}
	h.dt = dt
	fo, ok := dict["fortran_order"].(bool)
	if !ok {
		return nil, formatErrorf("header fortran_order is %v, want True or False", dict["fortran_order"])
	}
	h.fortran = fo
	tuple, ok := dict["shape"].(tuple)
	if !ok {
		return nil, formatErrorf("header shape is %v, want a tuple", dict["shape"])
	}
	h.shape = make([]int, len(tuple))
	count := int64(1)
	for i, d := range tuple {
		n, ok := d.(int64)
		if !ok || n < 0 {
			return nil, formatErrorf("header shape %v: dimension %d is not a non-negative integer", []any(tuple), i)
		}
		if n > math.MaxInt32 || (n != 0 && count > math.MaxInt64/n) {
			return nil, formatErrorf("header shape %v: element count overflows", []any(tuple))
		}
		count *= n
		h.shape[i] = int(n)
	}
	if count > math.MaxInt64/int64(dt.size) || count > int64(math.MaxInt) {
		return nil, formatErrorf("header shape %v: byte size overflows", []any(tuple))
	}
	h.count = int(count)
	h.nbytes = count * int64(dt.size)
	return h, nil
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// tuple is a parsed Python tuple, kept apart from lists because numpy's
// shape is always a tuple and a list descr means a structured dtype.
type tuple []any

// literalParser parses the subset of Python literals numpy writes in a
// header: dicts, tuples, lists, quoted strings, integers, True/False/None.
type literalParser struct {
	s   string
	pos int
}

// maxDepth bounds nesting so hostile headers cannot exhaust the stack.
const maxDepth = 16

func (p *literalParser) rest() string { return clip(p.s[p.pos:]) }

func (p *literalParser) skipSpace() {
	for p.pos < len(p.s) && strings.IndexByte(" \t\n\r", p.s[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *literalParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxDepth)
	}
	p.skipSpace()
	if p.pos >= len(p.s) {
		return nil, fmt.Errorf("unexpected end")
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.dict(depth)
	case c == '(':
		items, err := p.sequence(depth, ')')
		return tuple(items), err
	case c == '[':
		return p.sequence(depth, ']')
	case c == '\'' || c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.integer()
	default:
		for word, v := range map[string]any{"True": true, "False": false, "None": nil} {
			if strings.HasPrefix(p.s[p.pos:], word) {
				p.pos += len(word)
				return v, nil
			}
		}
		return nil, fmt.Errorf("unexpected %q", p.rest())
	}
}

func (p *literalParser) dict(depth int) (any, error) {
	p.pos++ // '{'
	m := map[string]any{}
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			return m, nil
		}
		k, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("dictionary key %v is not a string", k)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return nil, fmt.Errorf("expected ':' after key %q", key)
		}
		p.pos++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[key] = v
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
		} else if p.pos >= len(p.s) || p.s[p.pos] != '}' {
			return nil, fmt.Errorf("expected ',' or '}' at %q", p.rest())
		}
	}
}

func (p *literalParser) sequence(depth int, end byte) ([]any, error) {
	p.pos++ // '(' or '['
	items := []any{}
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == end {
			p.pos++
			return items, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
		} else if p.pos >= len(p.s) || p.s[p.pos] != end {
			return nil, fmt.Errorf("expected ',' or %q at %q", end, p.rest())
		}
	}
}

func (p *literalParser) str() (any, error) {
	q := p.s[p.pos]
	end := strings.IndexByte(p.s[p.pos+1:], q)
	if end < 0 {
		return nil, fmt.Errorf("unterminated string at %q", p.rest())
	}
	s := p.s[p.pos+1 : p.pos+1+end]
	if strings.IndexByte(s, '\\') >= 0 {
		return nil, fmt.Errorf("escape sequences in header strings are not supported: %q", s)
	}
	p.pos += end + 2
	return s, nil
}

func (p *literalParser) integer() (any, error) {
	start := p.pos
	if p.s[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	// Python 2 era files may write long integers as 3L.
	text := p.s[start:p.pos]
	if p.pos < len(p.s) && p.s[p.pos] == 'L' {
		p.pos++
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("bad integer %q", text)
	}
	return n, nil
}

// formatHeader returns the complete preamble numpy writes for a C-order
// little-endian float32 array: magic, version, length and the dictionary
// padded with spaces and a newline to a multiple of 64 bytes.
func formatHeader(shape []int) []byte {
	var dims strings.Builder
	dims.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			dims.WriteString(", ")
		}
		dims.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		dims.WriteByte(',')
	}
	dims.WriteByte(')')
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': " + dims.String() + ", }"
	for _, version := range []byte{1, 2} {
		pre := 10
		if version == 2 {
			pre = 12
		}
		total := pre + len(dict) + 1
		pad := (64 - total%64) % 64
		hlen := len(dict) + pad + 1
		if version == 1 && hlen > math.MaxUint16 {
			continue
		}
		out := make([]byte, 0, pre+hlen)
		out = append(out, magic...)
		out = append(out, version, 0)
		if version == 1 {
			out = binary.LittleEndian.AppendUint16(out, uint16(hlen))
		} else {
			out = binary.LittleEndian.AppendUint32(out, uint32(hlen))
		}
		out = append(out, dict...)
		out = append(out, bytes.Repeat([]byte{' '}, pad)...)
		return append(out, '\n')
	}
	panic("npy: unreachable: header fits version 2")
}
