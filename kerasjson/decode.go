package kerasjson

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// decodeJSON decodes one JSON document with numbers kept as json.Number.
// Trailing NUL bytes and white space are ignored: HDF5 fixed-length string
// attributes are padded with NULs.
func decodeJSON(data []byte) (any, error) {
	data = bytes.TrimRight(data, "\x00 \t\r\n")
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, formatErr("", "invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, formatErr("", "invalid JSON: data after the top-level value")
	}
	return v, nil
}

// deepCopy copies decoded JSON so that normalization never changes a value
// the caller owns.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case Config:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// asObject returns v as a JSON object; Config values count as objects.
func asObject(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case Config:
		return t, true
	}
	return nil, false
}

// stringField returns obj[key] when it is a string, "" when it is absent or
// null, and an error otherwise.
func stringField(obj map[string]any, key, path string) (string, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", formatErr(joinPath(path, key), "want a string, got %s", describe(v))
	}
	return s, nil
}

// jsonInt returns n as the json.Number that decoding would produce.
func jsonInt(n int) json.Number {
	return json.Number(strconv.Itoa(n))
}
