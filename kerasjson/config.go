package kerasjson

import (
	"encoding/json"
	"fmt"
	"math"
)

// Config is a decoded JSON object (a layer's "config"). Numbers are
// json.Number so that integers stay exact.
type Config map[string]any

// Has reports whether key is present and not null.
func (c Config) Has(key string) bool {
	v, ok := c[key]
	return ok && v != nil
}

// String returns a string argument, or def when it is absent or null.
func (c Config) String(key, def string) (string, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("config %q: want a string, got %s", key, describe(v))
	}
	return s, nil
}

// Bool returns a boolean argument, or def when it is absent or null.
func (c Config) Bool(key string, def bool) (bool, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("config %q: want a boolean, got %s", key, describe(v))
	}
	return b, nil
}

// Float returns a numeric argument, or def when it is absent or null.
func (c Config) Float(key string, def float64) (float64, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	f, err := toFloat(v)
	if err != nil {
		return 0, fmt.Errorf("config %q: %v", key, err)
	}
	return f, nil
}

// Int returns an integer argument, or def when it is absent or null.
func (c Config) Int(key string, def int) (int, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	n, err := toInt(v)
	if err != nil {
		return 0, fmt.Errorf("config %q: %v", key, err)
	}
	return n, nil
}

// Ints returns an integer tuple argument. A single integer is repeated n
// times, as Keras does for kernel_size=3 meaning (3, 3); n <= 0 accepts any
// length. def is returned when the key is absent or null.
func (c Config) Ints(key string, n int, def []int) ([]int, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	if list, ok := v.([]any); ok {
		if n > 0 && len(list) != n {
			return nil, fmt.Errorf("config %q: want %d integers, got %d", key, n, len(list))
		}
		out := make([]int, len(list))
		for i, e := range list {
			x, err := toInt(e)
			if err != nil {
				return nil, fmt.Errorf("config %q[%d]: %v", key, i, err)
			}
			out[i] = x
		}
		return out, nil
	}
	x, err := toInt(v)
	if err != nil {
		return nil, fmt.Errorf("config %q: %v", key, err)
	}
	if n <= 0 {
		n = 1
	}
	out := make([]int, n)
	for i := range out {
		out[i] = x
	}
	return out, nil
}

// Floats returns a numeric argument that is a number or a list of
// numbers (an augmentation layer's factor, a value_range): a number comes
// back as a one-element slice. ok is false when the key is absent or null.
func (c Config) Floats(key string) (vals []float64, ok bool, err error) {
	v, present := c[key]
	if !present || v == nil {
		return nil, false, nil
	}
	list, isList := v.([]any)
	if !isList {
		f, err := toFloat(v)
		if err != nil {
			return nil, false, fmt.Errorf("config %q: %v", key, err)
		}
		return []float64{f}, true, nil
	}
	vals = make([]float64, len(list))
	for i, e := range list {
		if vals[i], err = toFloat(e); err != nil {
			return nil, false, fmt.Errorf("config %q[%d]: %v", key, i, err)
		}
	}
	return vals, true, nil
}

// Shape returns a shape argument such as batch_shape, with -1 for each
// null (unknown) dimension. ok is false when the key is absent or null.
func (c Config) Shape(key string) (shape []int, ok bool, err error) {
	v, present := c[key]
	if !present || v == nil {
		return nil, false, nil
	}
	list, isList := v.([]any)
	if !isList {
		return nil, false, fmt.Errorf("config %q: want a shape list, got %s", key, describe(v))
	}
	shape = make([]int, len(list))
	for i, e := range list {
		if e == nil {
			shape[i] = -1
			continue
		}
		x, err := toInt(e)
		if err != nil {
			return nil, false, fmt.Errorf("config %q[%d]: %v", key, i, err)
		}
		if x < 0 {
			return nil, false, fmt.Errorf("config %q[%d]: negative dimension %d", key, i, x)
		}
		shape[i] = x
	}
	return shape, true, nil
}

// Object returns a serialized-object argument (activation, initializer,
// regularizer, ...). A bare string decodes to an Object with that
// ClassName; nil is returned when the key is absent or null.
func (c Config) Object(key string) (*Object, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return nil, nil
	}
	o, err := DecodeObject(v)
	if err != nil {
		return nil, fmt.Errorf("config %q: %v", key, err)
	}
	return o, nil
}

// DecodeObject decodes a serialized Keras object from its decoded JSON: a
// bare string, a Keras 2 {"class_name","config"} or a Keras 3
// {"module","class_name","config","registered_name"} object.
func DecodeObject(v any) (*Object, error) {
	switch t := v.(type) {
	case string:
		return &Object{ClassName: t, Config: Config{}}, nil
	case map[string]any:
		o := &Object{Config: Config{}}
		cn, ok := t["class_name"].(string)
		if !ok {
			return nil, fmt.Errorf("object has no class_name")
		}
		o.ClassName = cn
		o.Module, _ = t["module"].(string)
		o.RegisteredName, _ = t["registered_name"].(string)
		switch cfg := t["config"].(type) {
		case map[string]any:
			o.Config = Config(cfg)
		case nil:
		default:
			// Keras 3 serializes some objects (e.g. a function) with a
			// string config: keep it under "value".
			o.Config = Config{"value": cfg}
		}
		return o, nil
	}
	return nil, fmt.Errorf("want a string or an object, got %s", describe(v))
}

func toFloat(v any) (float64, error) {
	switch t := v.(type) {
	case json.Number:
		return t.Float64()
	case float64:
		return t, nil
	case int:
		return float64(t), nil
	}
	return 0, fmt.Errorf("want a number, got %s", describe(v))
}

func toInt(v any) (int, error) {
	switch t := v.(type) {
	case json.Number:
		if n, err := t.Int64(); err == nil {
			if n > math.MaxInt32 || n < math.MinInt32 {
				return 0, fmt.Errorf("integer %d out of range", n)
			}
			return int(n), nil
		}
		f, err := t.Float64()
		if err != nil || f != math.Trunc(f) {
			return 0, fmt.Errorf("want an integer, got %s", t)
		}
		if f > math.MaxInt32 || f < math.MinInt32 {
			return 0, fmt.Errorf("integer %v out of range", f)
		}
		return int(f), nil
	case float64:
		if t != math.Trunc(t) || t > math.MaxInt32 || t < math.MinInt32 {
			return 0, fmt.Errorf("want an integer, got %v", t)
		}
		return int(t), nil
	case int:
		return t, nil
	}
	return 0, fmt.Errorf("want an integer, got %s", describe(v))
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", v)
	case bool:
		return "a boolean"
	case json.Number, float64:
		return fmt.Sprintf("number %v", v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
