package kerasrun

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kerasrun/kerasrun/internal/npy"
	"github.com/kerasrun/kerasrun/runtime"
)

// ReadNPYFrom decodes one numpy .npy array from r as a float32 tensor (any
// numeric dtype is converted), reading exactly the array's bytes.
func ReadNPYFrom(r io.Reader) (*Tensor, error) {
	a, err := npy.Read(r)
	if err != nil {
		return nil, err
	}
	return &Tensor{Shape: a.Shape, Data: a.Data}, nil
}

// ReadNPZ reads every array of a numpy .npz archive (np.savez or
// np.savez_compressed) as float32 tensors, keyed by name as np.load does
// (np.savez(x=...) gives "x", positional arrays "arr_0", "arr_1", ...).
func ReadNPZ(path string) (map[string]*Tensor, error) {
	arrays, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Tensor, len(arrays))
	for k, a := range arrays {
		out[k] = &Tensor{Shape: a.Shape, Data: a.Data}
	}
	return out, nil
}

// OrderInputs puts named tensors into the model's input order, for
// Predict. Every input must be named once and no other name given; the
// error names the inputs missing or unknown and those the model takes.
func (m *Model) OrderInputs(named map[string]*Tensor) ([]*Tensor, error) {
	return orderNamed(m.info.Path, "input", m.net.InputNames, named)
}

// OrderTargets puts named targets into the model's output order, for
// Evaluate and Fit.
func (m *Model) OrderTargets(named map[string]*Tensor) ([]*Tensor, error) {
	return orderNamed(m.info.Path, "output", m.net.OutputNames, named)
}

func orderNamed(path, kind string, names []string, named map[string]*Tensor) ([]*Tensor, error) {
	out := make([]*Tensor, len(names))
	var missing, unknown []string
	for i, n := range names {
		t, ok := named[n]
		if !ok {
			missing = append(missing, fmt.Sprintf("%q", n))
			continue
		}
		out[i] = t
	}
	for n := range named {
		if !contains(names, n) {
			unknown = append(unknown, fmt.Sprintf("%q", n))
		}
	}
	sort.Strings(unknown)
	if len(missing) == 0 && len(unknown) == 0 {
		return out, nil
	}
	var why []string
	if len(missing) > 0 {
		why = append(why, "no value for "+kind+" "+strings.Join(missing, ", "))
	}
	if len(unknown) > 0 {
		why = append(why, "no "+kind+" named "+strings.Join(unknown, ", "))
	}
	return nil, fmt.Errorf("kerasrun: %s: %s (the model's %ss, in order: %s)", path, strings.Join(why, "; "), kind, quoteAll(names))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// PredictNamed is Predict with the inputs keyed by the model's input names
// (in any order) and the outputs keyed by its output names, as Keras's
// predict({"name": x, ...}) of a model with named inputs.
func (m *Model) PredictNamed(inputs map[string]*Tensor) (map[string]*Tensor, error) {
	xs, err := m.OrderInputs(inputs)
	if err != nil {
		return nil, err
	}
	ys, err := m.Predict(xs...)
	if err != nil {
		return nil, err
	}
	return m.namedOutputs(ys), nil
}

func (m *Model) namedOutputs(ys []*Tensor) map[string]*Tensor {
	out := make(map[string]*Tensor, len(ys))
	for i, y := range ys {
		out[m.net.OutputNames[i]] = y
	}
	return out
}

// CheckTargets refuses targets whose shapes cannot be the model's
// outputs' labels, before Evaluate or Fit computes a loss from them: a
// target must have the output's shape, or that shape without its last
// axis or with a last axis of 1 (sparse labels, binary labels of rank 1).
// Keras itself would broadcast (samples, 1) against (samples, 3) and
// report a wrong loss; here the error names the output and both shapes.
func (m *Model) CheckTargets(y []*Tensor) error {
	if len(y) != len(m.net.OutputNames) {
		return fmt.Errorf("kerasrun: %s: the model has %d output(s) %s, got %d target(s)", m.info.Path, len(m.net.OutputNames), quoteAll(m.net.OutputNames), len(y))
	}
	for i, t := range y {
		want := m.net.OutputShapes[i]
		if t == nil || targetFits(want, t.Shape) {
			continue
		}
		return fmt.Errorf("kerasrun: %s: target for output %q has shape %s, the output %s (a target has the output's shape, or sparse labels without its last axis)",
			m.info.Path, m.net.OutputNames[i], runtime.FormatShape(t.Shape), runtime.FormatShape(want))
	}
	return nil
}

func targetFits(out, y []int) bool {
	dimsMatch := func(a, b []int) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] >= 0 && b[i] >= 0 && a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if len(out) == 0 || len(y) == 0 {
		return len(out) == len(y)
	}
	// The batch axis is not compared (Evaluate checks the counts agree).
	o, t := out[1:], y[1:]
	switch {
	case dimsMatch(o, t):
		return true
	case len(o) > 0 && dimsMatch(o[:len(o)-1], t):
		return true
	case len(o) > 0 && len(t) == len(o) && t[len(t)-1] == 1 && dimsMatch(o[:len(o)-1], t[:len(t)-1]):
		return true
	case len(t) == len(o)+1 && t[len(t)-1] == 1 && dimsMatch(o, t[:len(o)]):
		return true
	}
	return false
}
