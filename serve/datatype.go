package serve

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// The model computes in float32 (FP32); requests may carry any numeric
// datatype of the Open Inference Protocol, converted on arrival. BYTES
// (strings) has no numeric meaning and is refused.
const modelDatatype = "FP32"

// datatypeSize is the size in bytes of one element of each datatype the
// server converts; BYTES is absent (variable size).
var datatypeSize = map[string]int{
	"BOOL": 1, "UINT8": 1, "UINT16": 2, "UINT32": 4, "UINT64": 8,
	"INT8": 1, "INT16": 2, "INT32": 4, "INT64": 8,
	"FP16": 2, "FP32": 4, "FP64": 8,
}

// checkDatatype returns an error for a datatype the model cannot take.
func checkDatatype(input, dt string) error {
	if dt == "BYTES" {
		return badRequest("input %q: datatype BYTES (strings) cannot feed the model's %s input; send a numeric datatype", input, modelDatatype)
	}
	if _, ok := datatypeSize[dt]; !ok {
		return badRequest("input %q: unknown datatype %q (want one of FP32, FP64, FP16, INT8..INT64, UINT8..UINT64, BOOL)", input, dt)
	}
	return nil
}

// decodeBinary converts n little-endian elements of datatype dt to float32.
func decodeBinary(input, dt string, raw []byte, n int) ([]float32, error) {
	if err := checkDatatype(input, dt); err != nil {
		return nil, err
	}
	size := datatypeSize[dt]
	if len(raw) != n*size {
		return nil, badRequest("input %q: %d bytes of binary data, its shape and datatype %s need %d", input, len(raw), dt, n*size)
	}
	out := make([]float32, n)
	le := binary.LittleEndian
	for i := range out {
		b := raw[i*size:]
		var v float32
		switch dt {
		case "FP32":
			v = math.Float32frombits(le.Uint32(b))
		case "FP64":
			v = float32(math.Float64frombits(le.Uint64(b)))
		case "FP16":
			v = halfToFloat32(le.Uint16(b))
		case "BOOL":
			if b[0] > 1 {
				return nil, badRequest("input %q: element %d: BOOL byte is %d, want 0 or 1", input, i, b[0])
			}
			v = float32(b[0])
		case "INT8":
			v = float32(int8(b[0]))
		case "INT16":
			v = float32(int16(le.Uint16(b)))
		case "INT32":
			v = float32(int32(le.Uint32(b)))
		case "INT64":
			v = float32(int64(le.Uint64(b)))
		case "UINT8":
			v = float32(b[0])
		case "UINT16":
			v = float32(le.Uint16(b))
		case "UINT32":
			v = float32(le.Uint32(b))
		case "UINT64":
			v = float32(le.Uint64(b))
		}
		out[i] = v
	}
	return out, checkFinite(input, out)
}

// halfToFloat32 widens an IEEE 754 binary16 value.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalize
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// integerRange is the range of each integer datatype, for checking JSON
// numbers.
var integerRange = map[string][2]float64{
	"INT8": {math.MinInt8, math.MaxInt8}, "INT16": {math.MinInt16, math.MaxInt16},
	"INT32": {math.MinInt32, math.MaxInt32}, "INT64": {math.MinInt64, math.MaxInt64},
	"UINT8": {0, math.MaxUint8}, "UINT16": {0, math.MaxUint16},
	"UINT32": {0, math.MaxUint32}, "UINT64": {0, math.MaxUint64},
}

// decodeJSONData reads the "data" of a JSON tensor: numbers (or true/false
// for BOOL), flat or nested in arrays as the shape says, n in all.
func decodeJSONData(input, dt string, raw []byte, n int) ([]float32, error) {
	if err := checkDatatype(input, dt); err != nil {
		return nil, err
	}
	out := make([]float32, 0, min(n, 1<<20))
	rng, isInt := integerRange[dt]
	i := 0
	for i < len(raw) {
		c := raw[i]
		switch {
		case c == '[' || c == ']' || c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r':
			i++
			continue
		}
		j := i
		for j < len(raw) && raw[j] != ',' && raw[j] != ']' && raw[j] != ' ' && raw[j] != '\n' && raw[j] != '\t' && raw[j] != '\r' {
			j++
		}
		tok := string(raw[i:j])
		k := len(out)
		if k >= n {
			return nil, badRequest("input %q: data has more than the %d elements its shape holds", input, n)
		}
		var v float64
		switch {
		case dt == "BOOL" && tok == "true":
			v = 1
		case dt == "BOOL" && tok == "false":
			v = 0
		case dt == "BOOL":
			return nil, badRequest("input %q: element %d is %s, a BOOL input takes true or false", input, k, tok)
		default:
			f, err := strconv.ParseFloat(tok, 64)
			if err != nil || tok == "" || tok[0] == '+' || tok[0] == '.' || tok[0] == 'I' || tok[0] == 'N' || tok[0] == 'i' || tok[0] == 'n' {
				return nil, badRequest("input %q: element %d is %s, not a number", input, k, tok)
			}
			if isInt && (f != math.Trunc(f) || f < rng[0] || f > rng[1]) {
				return nil, badRequest("input %q: element %d is %s, not a %s value", input, k, tok, dt)
			}
			v = f
		}
		out = append(out, float32(v))
		i = j
	}
	if len(out) != n {
		return nil, badRequest("input %q: data has %d elements, its shape holds %d", input, len(out), n)
	}
	return out, checkFinite(input, out)
}

// checkFinite refuses NaN and infinite inputs (as kerasrun's Predict does)
// here, so that one request's bad value never fails a batch it shares.
func checkFinite(input string, xs []float32) error {
	for i, v := range xs {
		if v != v || math.IsInf(float64(v), 0) {
			return badRequest("input %q: element %d is %v; the model takes finite numbers", input, i, v)
		}
	}
	return nil
}

// appendJSONFloats writes xs as a JSON array; NaN and infinities are written
// NaN, Infinity and -Infinity as TensorFlow Serving and Python's json do.
func appendJSONFloats(b []byte, xs []float32) []byte {
	b = append(b, '[')
	for i, v := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONFloat(b, v)
	}
	return append(b, ']')
}

func appendJSONFloat(b []byte, v float32) []byte {
	switch {
	case v != v:
		return append(b, "NaN"...)
	case math.IsInf(float64(v), 1):
		return append(b, "Infinity"...)
	case math.IsInf(float64(v), -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, float64(v), 'g', -1, 32)
}

// float32Bytes is xs as little-endian FP32 bytes.
func float32Bytes(xs []float32) []byte {
	out := make([]byte, 4*len(xs))
	for i, v := range xs {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}

// elementCount multiplies a request's shape, refusing negative dimensions
// and products above limit.
func elementCount(input string, shape []int64, limit int64) (int, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, badRequest("input %q: shape %v has a negative dimension", input, shape)
		}
		if d != 0 && n > limit/d {
			return 0, &Error{Status: 413, Msg: fmt.Sprintf("input %q: shape %v holds more than the %d elements a request may carry", input, shape, limit)}
		}
		n *= d
	}
	return int(n), nil
}
