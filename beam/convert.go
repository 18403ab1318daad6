package kerasbeam

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/kerasrun/kerasrun"
)

// imageOptionsFunc tells how an encoded image becomes the named input
// (kerasrun.Model.ImageOptions).
type imageOptionsFunc func(input string) (kerasrun.ImageOptions, error)

// toExample converts one element to the model's inputs (see RunInference
// for the element types).
func toExample(elem any, inputs []kerasrun.TensorInfo, imageOptions imageOptionsFunc) (Example, error) {
	if img, ok := elem.(Image); ok {
		if len(inputs) != 1 {
			return Example{}, fmt.Errorf("an Image element feeds a single-input model; this one takes %d inputs %v", len(inputs), names(inputs))
		}
		t, err := imageTensor(inputs[0], img, imageOptions)
		if err != nil {
			return Example{}, err
		}
		return Example{Inputs: []Tensor{t}}, nil
	}
	if ex, ok := elem.(Example); ok {
		return matchExample(ex, inputs)
	}
	if t, ok := elem.(Tensor); ok {
		return matchExample(Example{Inputs: []Tensor{t}}, inputs)
	}
	if m, ok := elem.(map[string][]float32); ok {
		ex := Example{Inputs: make([]Tensor, len(inputs))}
		for i, in := range inputs {
			v, ok := m[in.Name]
			if !ok {
				return Example{}, fmt.Errorf("element has no values for input %q (it has %v)", in.Name, mapKeys(m))
			}
			t, err := fixedShape(in, v)
			if err != nil {
				return Example{}, err
			}
			ex.Inputs[i] = t
		}
		return ex, nil
	}
	v := reflect.ValueOf(elem)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if len(inputs) != 1 {
			return Example{}, fmt.Errorf("a %T element feeds a single-input model; this one takes %d inputs %v", elem, len(inputs), names(inputs))
		}
		data, err := floats(v)
		if err != nil {
			return Example{}, err
		}
		t, err := fixedShape(inputs[0], data)
		if err != nil {
			return Example{}, err
		}
		return Example{Inputs: []Tensor{t}}, nil
	case reflect.Struct:
		return structExample(v, inputs, imageOptions)
	}
	return Example{}, fmt.Errorf("kerasbeam cannot feed a %T element to a model (see RunInference for the element types)", elem)
}

// matchExample puts an Example's tensors in the model's input order
// (by Name when they are named) and checks their shapes; a tensor without
// a Shape takes its input's per-sample shape.
func matchExample(ex Example, inputs []kerasrun.TensorInfo) (Example, error) {
	if len(ex.Inputs) != len(inputs) {
		return Example{}, fmt.Errorf("element has %d tensor(s), model takes %d input(s) %v", len(ex.Inputs), len(inputs), names(inputs))
	}
	out := Example{Inputs: make([]Tensor, len(inputs))}
	named := ex.Inputs[0].Name != ""
	for i, in := range inputs {
		t := ex.Inputs[i]
		if named {
			j := indexByName(ex.Inputs, in.Name)
			if j < 0 {
				return Example{}, fmt.Errorf("element has no tensor named %q", in.Name)
			}
			t = ex.Inputs[j]
		}
		if t.Shape == nil {
			ft, err := fixedShape(in, t.Data)
			if err != nil {
				return Example{}, err
			}
			out.Inputs[i] = ft
			continue
		}
		if err := checkShape(in, t.Shape, len(t.Data)); err != nil {
			return Example{}, err
		}
		out.Inputs[i] = Tensor{Name: in.Name, Shape: t.Shape, Data: t.Data}
	}
	return out, nil
}

func indexByName(ts []Tensor, name string) int {
	for i, t := range ts {
		if t.Name == name {
			return i
		}
	}
	return -1
}

// structExample reads one field per model input from a struct (a schema
// row): the field tagged `keras:"name"`, else the field whose schema name
// (its `beam:"name"` tag) or Go name is the input's, case-insensitive and
// ignoring underscores.
func structExample(v reflect.Value, inputs []kerasrun.TensorInfo, imageOptions imageOptionsFunc) (Example, error) {
	typ := v.Type()
	ex := Example{Inputs: make([]Tensor, len(inputs))}
	for i, in := range inputs {
		f := inputField(typ, in.Name)
		if f < 0 {
			return Example{}, fmt.Errorf("%s has no field for input %q (tag one `keras:%q`)", typ, in.Name, in.Name)
		}
		fv := v.Field(f)
		if img, ok := fv.Interface().(Image); ok {
			t, err := imageTensor(in, img, imageOptions)
			if err != nil {
				return Example{}, fmt.Errorf("%s.%s: %w", typ, typ.Field(f).Name, err)
			}
			ex.Inputs[i] = t
			continue
		}
		if t, ok := fv.Interface().(Tensor); ok {
			if err := checkShape(in, t.Shape, len(t.Data)); err != nil {
				return Example{}, fmt.Errorf("%s.%s: %w", typ, typ.Field(f).Name, err)
			}
			ex.Inputs[i] = Tensor{Name: in.Name, Shape: t.Shape, Data: t.Data}
			continue
		}
		data, err := floats(fv)
		if err != nil {
			return Example{}, fmt.Errorf("%s.%s: %w", typ, typ.Field(f).Name, err)
		}
		t, err := fixedShape(in, data)
		if err != nil {
			return Example{}, fmt.Errorf("%s.%s: %w", typ, typ.Field(f).Name, err)
		}
		ex.Inputs[i] = t
	}
	return ex, nil
}

// inputField is the index of the exported field of typ that feeds the
// input called name, or -1: a field tagged `keras:"name"` wins; a field
// whose keras tag names another input never matches by name.
func inputField(typ reflect.Type, name string) int {
	loose := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	byName := -1
	for j := 0; j < typ.NumField(); j++ {
		sf := typ.Field(j)
		if !sf.IsExported() {
			continue
		}
		if tag, ok := sf.Tag.Lookup("keras"); ok {
			if tag == name {
				return j
			}
			continue
		}
		schemaName := sf.Name
		if tag, _, _ := strings.Cut(sf.Tag.Get("beam"), ","); tag != "" && tag != "-" {
			schemaName = tag
		}
		if byName < 0 && loose(schemaName) == loose(name) {
			byName = j
		}
	}
	return byName
}

// floats reads a number, or a (nested, rectangular) slice or array of
// numbers in row-major order, as float32.
func floats(v reflect.Value) ([]float32, error) {
	if s, ok := v.Interface().([]float32); ok {
		return s, nil
	}
	var out []float32
	if err := appendFloats(&out, v, v.Type()); err != nil {
		return nil, err
	}
	return out, nil
}

func appendFloats(out *[]float32, v reflect.Value, top reflect.Type) error {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		*out = append(*out, float32(v.Float()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		*out = append(*out, float32(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		*out = append(*out, float32(v.Uint()))
	case reflect.Bool:
		b := float32(0)
		if v.Bool() {
			b = 1
		}
		*out = append(*out, b)
	case reflect.Slice, reflect.Array:
		if s, ok := v.Interface().([]float32); ok {
			*out = append(*out, s...)
			return nil
		}
		width := -1 // nested rows must be rectangular to fill a shape
		for i := 0; i < v.Len(); i++ {
			e := v.Index(i)
			if e.Kind() == reflect.Slice || e.Kind() == reflect.Array {
				if width >= 0 && e.Len() != width {
					return fmt.Errorf("a %s is ragged: rows of %d and %d values", top, width, e.Len())
				}
				width = e.Len()
			}
			if err := appendFloats(out, e, top); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("a %s is not a number or a list of numbers", top)
	}
	return nil
}

// imageTensor decodes an encoded image as load_img + img_to_array do for
// input in (the target size, color mode and data format its shape
// implies).
func imageTensor(in kerasrun.TensorInfo, img Image, imageOptions imageOptionsFunc) (Tensor, error) {
	opts, err := imageOptions(in.Name)
	if err != nil {
		return Tensor{}, err
	}
	x, err := kerasrun.DecodeImage(bytes.NewReader(img), opts)
	if err != nil {
		return Tensor{}, fmt.Errorf("input %q: %w", in.Name, err)
	}
	if err := checkShape(in, x.Shape, len(x.Data)); err != nil {
		return Tensor{}, err
	}
	return Tensor{Name: in.Name, Shape: x.Shape, Data: x.Data}, nil
}

// fixedShape shapes flat values as one sample of input in, whose
// per-sample shape must be fully known.
func fixedShape(in kerasrun.TensorInfo, data []float32) (Tensor, error) {
	shape := append([]int(nil), in.Shape[1:]...)
	for _, d := range shape {
		if d < 0 {
			return Tensor{}, fmt.Errorf("input %q has shape %v with an unknown dimension: give a Tensor with its shape", in.Name, in.Shape)
		}
	}
	if err := checkShape(in, shape, len(data)); err != nil {
		return Tensor{}, err
	}
	return Tensor{Name: in.Name, Shape: shape, Data: data}, nil
}

// checkShape checks one sample's shape against a model input's shape
// (batch dimension first, -1 for unknown).
func checkShape(in kerasrun.TensorInfo, shape []int, n int) error {
	want := in.Shape[1:]
	ok := len(shape) == len(want)
	size := 1
	for i, d := range shape {
		size *= d
		if d < 0 || ok && want[i] >= 0 && want[i] != d {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("input %q takes samples of shape %v, element has shape %v", in.Name, want, shape)
	}
	if size != n {
		return fmt.Errorf("input %q: %d values do not fill shape %v (%d)", in.Name, n, shape, size)
	}
	return nil
}

// predict runs one batch: the elements' tensors are stacked per input
// (all of one shape) and the outputs split per element.
func predict(m *kerasrun.Model, elems []pending) ([][]Tensor, error) {
	ins := m.Inputs()
	xs := make([]*kerasrun.Tensor, len(ins))
	for i := range ins {
		shape := elems[0].example.Inputs[i].Shape
		per := len(elems[0].example.Inputs[i].Data)
		data := make([]float32, 0, per*len(elems))
		for _, e := range elems {
			t := e.example.Inputs[i]
			if !equalInts(t.Shape, shape) {
				return nil, fmt.Errorf("input %q: elements of shapes %v and %v cannot share a batch", ins[i].Name, shape, t.Shape)
			}
			data = append(data, t.Data...)
		}
		x, err := kerasrun.NewTensor(append([]int{len(elems)}, shape...), data)
		if err != nil {
			return nil, err
		}
		xs[i] = x
	}
	ys, err := m.Predict(xs...)
	if err != nil {
		return nil, err
	}
	outs := m.Outputs()
	res := make([][]Tensor, len(elems))
	for j, y := range ys {
		if len(y.Shape) == 0 || y.Shape[0] != len(elems) {
			return nil, fmt.Errorf("output %q has shape %v, not a batch of %d", outs[j].Name, y.Shape, len(elems))
		}
		per := len(y.Data) / len(elems)
		for i := range elems {
			res[i] = append(res[i], Tensor{Name: outs[j].Name, Shape: append([]int(nil), y.Shape[1:]...), Data: append([]float32(nil), y.Data[i*per:(i+1)*per]...)})
		}
	}
	return res, nil
}

func exampleBytes(ex Example) int64 {
	var n int64
	for _, t := range ex.Inputs {
		n += 4 * int64(len(t.Data))
	}
	return n
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func names(inputs []kerasrun.TensorInfo) []string {
	out := make([]string, len(inputs))
	for i, in := range inputs {
		out[i] = in.Name
	}
	return out
}

func mapKeys(m map[string][]float32) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// describe prints an element for the dead-letter output, cut to 1 KiB.
func describe(elem any) string {
	s := fmt.Sprintf("%+v", elem)
	if len(s) > 1024 {
		s = s[:1024] + "..."
	}
	return s
}
