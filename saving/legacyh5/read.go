// Package legacyh5 reads and writes the legacy HDF5 model format
// (model.save("m.h5"), save_weights of Keras 1 and 2), as Keras's
// keras/src/legacy/saving does, and converts the weights older writers
// stored (Keras 1 layouts, Theano kernels, CuDNN recurrent weights) on
// load.
package legacyh5

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
)

// UnsupportedError reports a valid file that uses a Keras feature kerasrun
// cannot run (layers that cannot run are reported by *layers.UnsupportedError).
type UnsupportedError struct {
	Feature string
}

func (e *UnsupportedError) Error() string { return "unsupported: " + e.Feature }

// MaxWeightElements caps one weight's size (16 Gi float32 elements would
// be 64 GiB): a file declaring more is refused before allocating.
const MaxWeightElements = 1 << 34

// StringAttr reads a string attribute (variable or fixed length).
func StringAttr(g *h5.Group, name string) (string, error) {
	a, err := g.Attr(name)
	if err != nil {
		return "", err
	}
	ss, err := a.Strings()
	if err != nil || len(ss) != 1 {
		return "", fmt.Errorf("attribute %s of %s is not a single string", name, g.Path())
	}
	return ss[0], nil
}

// ReadStringList reads a list-of-strings attribute, including the split
// form Keras uses past 64 KiB (name0, name1, ...) and the zero-length
// float64 array Keras writes for an empty list.
func ReadStringList(g *h5.Group, name string) ([]string, error) {
	a, err := g.Attr(name)
	if errors.Is(err, h5.ErrNotFound) {
		var all []string
		for i := 0; ; i++ {
			part, err := g.Attr(name + strconv.Itoa(i))
			if errors.Is(err, h5.ErrNotFound) {
				if i == 0 {
					return nil, fmt.Errorf("%s has no attribute %s: %w", g.Path(), name, h5.ErrNotFound)
				}
				return all, nil
			}
			if err != nil {
				return nil, err
			}
			ss, err := part.Strings()
			if err != nil {
				return nil, fmt.Errorf("%s attribute %s%d: %w", g.Path(), name, i, err)
			}
			all = append(all, ss...)
		}
	}
	if err != nil {
		return nil, err
	}
	if a.Len() == 0 {
		return nil, nil
	}
	ss, err := a.Strings()
	if err != nil {
		return nil, fmt.Errorf("%s attribute %s: %w", g.Path(), name, err)
	}
	return ss, nil
}

// ReadWeight reads one weight dataset, refusing what a float32 layer
// cannot take: int8 data (Keras 3 quantized layers) and sizes beyond the cap.
func ReadWeight(ds *h5.Dataset, where, name string) (Array, error) {
	shape := ds.Shape()
	if _, err := runtime.CheckedShapeSize(shape, MaxWeightElements); err != nil {
		return Array{}, fmt.Errorf("%s: weight %q: %w", where, name, err)
	}
	switch ds.DType().Kind {
	case h5.Int8, h5.Uint8:
		return Array{}, fmt.Errorf("%s: weight %q at %s: %w", where, name, ds.Path(),
			&UnsupportedError{Feature: fmt.Sprintf("%s weights (a layer quantized with model.quantize); save the model before quantizing it", ds.DType())})
	}
	arr, err := ds.Read()
	if err != nil {
		return Array{}, fmt.Errorf("%s: weight %q: %w", where, name, err)
	}
	data, err := arr.Float32s()
	if err != nil {
		return Array{}, fmt.Errorf("%s: weight %q: %w", where, name, err)
	}
	return Array{Shape: shape, Data: data}, nil
}

// CheckWeightShape checks that a weight of the file's shape fits a
// variable.
func CheckWeightShape(v *runtime.Variable, shape []int, where string) error {
	want := v.Value.Shape
	if !slices.Equal(shape, want) {
		// A scalar and a one-element vector are the same to Keras.
		if runtime.ShapeSize(shape) != runtime.ShapeSize(want) || runtime.ShapeSize(want) != 1 {
			return fmt.Errorf("%s: weight %q has shape %s in the file, the layer expects %s",
				where, v.Name, runtime.FormatShape(shape), runtime.FormatShape(want))
		}
	}
	return nil
}

// setVariable copies a weight into a variable, checking the shape.
func setVariable(v *runtime.Variable, w Array, where string) error {
	if err := CheckWeightShape(v, w.Shape, where); err != nil {
		return err
	}
	if len(w.Data) != len(v.Value.Data) {
		return fmt.Errorf("%s: weight %q holds %d values, the layer expects %d", where, v.Name, len(w.Data), len(v.Value.Data))
	}
	copy(v.Value.Data, w.Data)
	v.Touch()
	return nil
}

// SourceOf reads keras_version and backend from a legacy weights group
// (model_weights, or a save_weights file's root).
func SourceOf(g *h5.Group) Source {
	src := Source{KerasVersion: "1"}
	if v, err := StringAttr(g, "keras_version"); err == nil {
		src.KerasVersion = v
	}
	src.Backend, _ = StringAttr(g, "backend")
	return src
}

// LoadWeights loads the layer groups of a legacy HDF5 file
// (/model_weights of a full model, or the root of a save_weights file)
// into net. As Keras does, layers are matched by position among those that
// have weights, and each layer's weights by position, after Keras 2's
// conversions for older writers (Preprocess).
func LoadWeights(g *h5.Group, net *layers.Model) error {
	names, err := ReadStringList(g, "layer_names")
	if err != nil {
		return err
	}
	src := SourceOf(g)
	type fileLayer struct {
		name    string
		group   *h5.Group
		weights []string
	}
	var inFile []fileLayer
	for _, name := range names {
		lg, err := g.Group(name)
		if err != nil {
			return fmt.Errorf("layer group %q: %w", name, err)
		}
		wn, err := ReadStringList(lg, "weight_names")
		if err != nil {
			return err
		}
		if len(wn) > 0 {
			inFile = append(inFile, fileLayer{name, lg, wn})
		}
	}
	var withWeights []layers.Layer
	for _, l := range layers.ModelLayers(net) {
		if len(kerasWeights(l)) > 0 {
			withWeights = append(withWeights, l)
		}
	}
	if len(inFile) != len(withWeights) {
		var fileNames, modelNames []string
		for _, fl := range inFile {
			fileNames = append(fileNames, fl.name)
		}
		for _, l := range withWeights {
			modelNames = append(modelNames, l.Common().String())
		}
		return fmt.Errorf("the file has weights for %d layers %v, the model has %d layers with weights %v",
			len(inFile), fileNames, len(withWeights), modelNames)
	}
	for i, fl := range inFile {
		l := withWeights[i]
		where := "layer " + l.Common().String()
		if fl.name != l.Common().Name {
			where += fmt.Sprintf(" (%q in the file)", fl.name)
		}
		ws := make([]Array, len(fl.weights))
		for j, wname := range fl.weights {
			ds, err := fl.group.Dataset(wname)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if ws[j], err = ReadWeight(ds, where, wname); err != nil {
				return err
			}
		}
		ws, err := preprocessLayer(l, ws, src)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		vars := kerasWeights(l)
		if len(vars) != len(ws) {
			return fmt.Errorf("%s: the file has %d weights %v, the layer expects %d",
				where, len(fl.weights), fl.weights, len(vars))
		}
		for j, v := range vars {
			if err := setVariable(v, ws[j], where); err != nil {
				return err
			}
		}
	}
	return nil
}

// kerasWeights returns l's weights in Keras's layer.weights order
// (trainable first), the order of legacy HDF5 files.
func kerasWeights(l layers.Layer) []*runtime.Variable {
	w, _ := layers.KerasWeights(l)
	return w
}

// countTrainable counts the weights of l that Keras lists in
// layer.trainable_weights.
func countTrainable(l layers.Layer) int {
	_, n := layers.KerasWeights(l)
	return n
}

// preprocessLayer applies Keras 2's load-time conversions to one entry of
// layer_names, descending into wrappers and nested models as Keras's
// convert_nested_bidirectional, convert_nested_time_distributed and
// convert_nested_model do (a nested model's group holds every trainable
// weight of its layers, then every non-trainable one).
func preprocessLayer(l layers.Layer, ws []Array, src Source) ([]Array, error) {
	if c, ok := l.(layers.Container); ok && len(c.Children()) > 0 {
		switch l.Common().ClassName {
		case "Bidirectional":
			// Keras splits the weights in halves: forward layer, then
			// backward layer (Children's first two).
			ch := c.Children()
			if len(ch) < 2 || len(ws)%2 != 0 {
				return ws, nil
			}
			half := len(ws) / 2
			fw, err := preprocessLayer(ch[0], ws[:half], src)
			if err != nil {
				return nil, err
			}
			bw, err := preprocessLayer(ch[1], ws[half:], src)
			if err != nil {
				return nil, err
			}
			return append(fw, bw...), nil
		case "TimeDistributed":
			return preprocessLayer(c.Children()[0], ws, src)
		}
	}
	sub, ok := l.(*layers.Model)
	if !ok {
		return Preprocess(TargetOf(l), ws, src)
	}
	nTrain := countTrainable(l)
	if nTrain > len(ws) {
		return ws, nil // the count check after conversion reports it
	}
	train, frozen := ws[:nTrain], ws[nTrain:]
	var newTrain, newFrozen []Array
	for _, child := range layers.ModelLayers(sub) {
		ct := countTrainable(child)
		cf := len(kerasWeights(child)) - ct
		if ct+cf == 0 {
			continue
		}
		if ct > len(train) || cf > len(frozen) {
			return ws, nil
		}
		cw := append(append([]Array(nil), train[:ct]...), frozen[:cf]...)
		conv, err := preprocessLayer(child, cw, src)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", child.Common(), err)
		}
		if len(conv) != ct+cf {
			return conv, nil
		}
		newTrain = append(newTrain, conv[:ct]...)
		newFrozen = append(newFrozen, conv[ct:]...)
		train, frozen = train[ct:], frozen[cf:]
	}
	return append(newTrain, newFrozen...), nil
}

// TargetOf describes a layer for Preprocess.
func TargetOf(l layers.Layer) Target {
	b := l.Common()
	t := Target{ClassName: b.ClassName}
	t.DataFormat, _ = b.Config.String("data_format", "channels_last")
	t.Filters, _ = b.Config.Int("filters", 0)
	if rank := conversions[b.ClassName].KernelRank; rank > 0 {
		t.KernelSize, _ = b.Config.Ints("kernel_size", rank, nil)
	}
	t.ResetAfter, _ = b.Config.Bool("reset_after", true)
	for _, v := range kerasWeights(l) {
		t.Shapes = append(t.Shapes, v.Value.Shape)
	}
	return t
}

// WeightCounts maps each entry of a legacy weights group's layer_names to
// the number of parameters its datasets hold, from their shapes only (for
// Inspect).
func WeightCounts(g *h5.Group) (map[string]int, error) {
	names, err := ReadStringList(g, "layer_names")
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, name := range names {
		lg, err := g.Group(name)
		if err != nil {
			return nil, fmt.Errorf("layer group %q: %w", name, err)
		}
		wn, err := ReadStringList(lg, "weight_names")
		if err != nil {
			return nil, err
		}
		for _, w := range wn {
			ds, err := lg.Dataset(w)
			if err != nil {
				return nil, fmt.Errorf("layer %q: %w", name, err)
			}
			n, err := runtime.CheckedShapeSize(ds.Shape(), MaxWeightElements)
			if err != nil {
				return nil, fmt.Errorf("layer %q weight %q: %w", name, w, err)
			}
			out[name] += n
		}
	}
	return out, nil
}
