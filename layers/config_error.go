package layers

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
)

// ConfigError reports a malformed layer configuration: an argument that
// Keras itself refuses (of the wrong type or length, out of range, an
// unknown value of an enumerated argument, missing). It is kept apart from
// a valid configuration that kerasrun cannot run (lora_rank, renorm, a
// custom activation), which a factory reports as an ordinary error.
type ConfigError struct {
	Layer, ClassName string // empty when the argument was read without a layer
	Arg              string // the configuration key
	Err              error  // what is wrong; its text starts with `config "Arg": `
}

func (e *ConfigError) Error() string {
	if e.Layer == "" && e.ClassName == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("layer %s (%s): %v", e.Layer, e.ClassName, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// argReader reads a layer's configuration arguments. The first malformed
// one is kept in err as a *ConfigError naming the layer (b, when not nil),
// its class and the argument; a read that fails returns its default, so a
// factory checks err once after a group of reads.
type argReader struct {
	b   *Base
	c   kerasjson.Config
	err error
}

// fail records err as the malformed argument key, unless one is recorded.
func (r *argReader) fail(key string, err error) {
	if r.err != nil {
		return
	}
	ce := &ConfigError{Arg: key, Err: err}
	if r.b != nil {
		ce.Layer, ce.ClassName = r.b.Name, r.b.ClassName
	}
	r.err = ce
}

// check records key as malformed, with the message format, unless ok.
func (r *argReader) check(ok bool, key, format string, args ...any) {
	if !ok {
		r.fail(key, fmt.Errorf("config %q: %s", key, fmt.Sprintf(format, args...)))
	}
}

// got returns v, or def after recording err as the malformed argument key.
func got[T any](r *argReader, key string, def, v T, err error) T {
	if err != nil {
		r.fail(key, err)
		return def
	}
	return v
}

func (r *argReader) Int(key string, def int) int {
	v, err := r.c.Int(key, def)
	return got(r, key, def, v, err)
}

func (r *argReader) Ints(key string, n int, def []int) []int {
	v, err := r.c.Ints(key, n, def)
	return got(r, key, def, v, err)
}

func (r *argReader) Bool(key string, def bool) bool {
	v, err := r.c.Bool(key, def)
	return got(r, key, def, v, err)
}

func (r *argReader) Float(key string, def float64) float64 {
	v, err := r.c.Float(key, def)
	return got(r, key, def, v, err)
}

func (r *argReader) String(key, def string) string {
	v, err := r.c.String(key, def)
	return got(r, key, def, v, err)
}

// activation reads an activation argument. A malformed value is recorded
// in r.err; an activation kerasrun does not implement is returned as an
// ordinary (unsupported) error.
func (r *argReader) activation(key string) (*activation, error) {
	o, err := r.c.Object(key)
	if err != nil {
		r.fail(key, err)
		return activations["linear"], nil
	}
	return lookupActivation(o)
}
