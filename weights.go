package kerasrun

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/saving"
)

// maxWeightElements caps one weight's size (16 Gi float32 elements would
// be 64 GiB): a file declaring more is refused before allocating.
const maxWeightElements = 1 << 34

// legacyWeights returns l's weights in Keras's layer.weights order
// (trainable first), the order of legacy HDF5 files.
func legacyWeights(l layers.Layer) []*runtime.Variable {
	w, _ := layers.KerasWeights(l)
	return w
}

// kerasLayers lists a model's layers as Keras's model.layers does: a
// Sequential model leaves out its InputLayer.
func kerasLayers(m *layers.Model) []layers.Layer { return saving.ModelLayers(m) }

// readStringList reads a list-of-strings attribute, including the split
// form Keras uses past 64 KiB (name0, name1, ...) and the zero-length
// float64 array Keras writes for an empty list.
func readStringList(g *h5.Group, name string) ([]string, error) {
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

// readWeight reads one weight dataset, refusing what a float32 layer
// cannot take: int8 data (Keras 3 quantized layers) and sizes beyond the cap.
func readWeight(ds *h5.Dataset, where, name string) (weightArray, error) {
	shape := ds.Shape()
	if _, err := runtime.CheckedShapeSize(shape, maxWeightElements); err != nil {
		return weightArray{}, fmt.Errorf("%s: weight %q: %w", where, name, err)
	}
	switch ds.DType().Kind {
	case h5.Int8, h5.Uint8:
		return weightArray{}, fmt.Errorf("%s: weight %q at %s: %w", where, name, ds.Path(),
			&UnsupportedError{Feature: fmt.Sprintf("%s weights (a layer quantized with model.quantize); save the model before quantizing it", ds.DType())})
	}
	arr, err := ds.Read()
	if err != nil {
		return weightArray{}, fmt.Errorf("%s: weight %q: %w", where, name, err)
	}
	data, err := arr.Float32s()
	if err != nil {
		return weightArray{}, fmt.Errorf("%s: weight %q: %w", where, name, err)
	}
	return weightArray{shape: shape, data: data}, nil
}

// checkWeightShape checks that a weight of the file's shape fits a
// variable.
func checkWeightShape(v *runtime.Variable, shape []int, where string) error {
	want := v.Value.Shape
	if !sameShape(shape, want) {
		// A scalar and a one-element vector are the same to Keras.
		if runtime.ShapeSize(shape) != runtime.ShapeSize(want) || runtime.ShapeSize(want) != 1 {
			return fmt.Errorf("%s: weight %q has shape %s in the file, the layer expects %s",
				where, v.Name, runtime.FormatShape(shape), runtime.FormatShape(want))
		}
	}
	return nil
}

// loadVariable reads a weight dataset straight into a variable's memory,
// with no intermediate copy: Keras 3 files need no load-time conversion.
func loadVariable(v *runtime.Variable, ds *h5.Dataset, where string) error {
	if err := checkWeightShape(v, ds.Shape(), where); err != nil {
		return err
	}
	switch ds.DType().Kind {
	case h5.Int8, h5.Uint8:
		_, err := readWeight(ds, where, v.Name) // names the quantized layer
		return err
	}
	if err := ds.ReadFloat32Into(v.Value.Data); err != nil {
		return fmt.Errorf("%s: weight %q: %w", where, v.Name, err)
	}
	v.Touch()
	return nil
}

// setVariable copies a weight into a variable, checking the shape.
func setVariable(v *runtime.Variable, w weightArray, where string) error {
	if err := checkWeightShape(v, w.shape, where); err != nil {
		return err
	}
	if len(w.data) != len(v.Value.Data) {
		return fmt.Errorf("%s: weight %q holds %d values, the layer expects %d", where, v.Name, len(w.data), len(v.Value.Data))
	}
	copy(v.Value.Data, w.data)
	v.Touch()
	return nil
}

func sameShape(a, b []int) bool {
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

// legacySourceOf reads keras_version and backend from a legacy weights
// group (model_weights, or a save_weights file's root).
func legacySourceOf(g *h5.Group) legacySource {
	src := legacySource{kerasVersion: "1"}
	if v, err := stringAttr(g, "keras_version"); err == nil {
		src.kerasVersion = v
	}
	src.backend, _ = stringAttr(g, "backend")
	return src
}

// loadLegacyWeights loads the layer groups of a legacy HDF5 file
// (/model_weights of a full model, or the root of a save_weights file).
// As Keras does, layers are matched by position among those that have
// weights, and each layer's weights by position, after Keras 2's
// conversions for older writers (legacy_convert.go).
func loadLegacyWeights(g *h5.Group, m *Model) error {
	names, err := readStringList(g, "layer_names")
	if err != nil {
		return err
	}
	src := legacySourceOf(g)
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
		wn, err := readStringList(lg, "weight_names")
		if err != nil {
			return err
		}
		if len(wn) > 0 {
			inFile = append(inFile, fileLayer{name, lg, wn})
		}
	}
	var withWeights []layers.Layer
	for _, l := range kerasLayers(m.net) {
		if len(legacyWeights(l)) > 0 {
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
		ws := make([]weightArray, len(fl.weights))
		for j, wname := range fl.weights {
			ds, err := fl.group.Dataset(wname)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if ws[j], err = readWeight(ds, where, wname); err != nil {
				return err
			}
		}
		ws, err := preprocessLayerWeights(l, ws, src)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		vars := legacyWeights(l)
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

// preprocessLayerWeights applies Keras 2's load-time conversions to one
// entry of layer_names, descending into nested models as Keras's
// convert_nested_model does: the group holds every trainable weight of the
// nested layers, then every non-trainable one.
func preprocessLayerWeights(l layers.Layer, ws []weightArray, src legacySource) ([]weightArray, error) {
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
			fw, err := preprocessLayerWeights(ch[0], ws[:half], src)
			if err != nil {
				return nil, err
			}
			bw, err := preprocessLayerWeights(ch[1], ws[half:], src)
			if err != nil {
				return nil, err
			}
			return append(fw, bw...), nil
		case "TimeDistributed":
			return preprocessLayerWeights(c.Children()[0], ws, src)
		}
	}
	sub, ok := l.(*layers.Model)
	if !ok {
		return preprocessLegacyWeights(legacyTargetOf(l), ws, src)
	}
	nTrain := countTrainable(l)
	if nTrain > len(ws) {
		return ws, nil // the count check after conversion reports it
	}
	train, frozen := ws[:nTrain], ws[nTrain:]
	var newTrain, newFrozen []weightArray
	for _, child := range kerasLayers(sub) {
		ct := countTrainable(child)
		cf := len(legacyWeights(child)) - ct
		if ct+cf == 0 {
			continue
		}
		if ct > len(train) || cf > len(frozen) {
			return ws, nil
		}
		cw := append(append([]weightArray(nil), train[:ct]...), frozen[:cf]...)
		conv, err := preprocessLayerWeights(child, cw, src)
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

// countTrainable counts the weights of l that Keras lists in
// layer.trainable_weights.
func countTrainable(l layers.Layer) int {
	_, n := layers.KerasWeights(l)
	return n
}

// legacyTargetOf describes a layer for preprocessLegacyWeights.
func legacyTargetOf(l layers.Layer) legacyTarget {
	b := l.Common()
	t := legacyTarget{className: b.ClassName}
	t.dataFormat, _ = b.Config.String("data_format", "channels_last")
	t.filters, _ = b.Config.Int("filters", 0)
	rank := 0
	switch b.ClassName {
	case "Conv1D":
		rank = 1
	case "Conv2D", "Conv2DTranspose", "ConvLSTM2D":
		rank = 2
	case "Conv3D":
		rank = 3
	}
	if rank > 0 {
		t.kernelSize, _ = b.Config.Ints("kernel_size", rank, nil)
	}
	t.resetAfter, _ = b.Config.Bool("reset_after", true)
	for _, v := range legacyWeights(l) {
		t.shapes = append(t.shapes, v.Value.Shape)
	}
	return t
}

// loadKeras3Weights loads a Keras 3 weights store (model.weights.h5 in a
// .keras archive, a .weights.h5, or sharded .weights.json) into the model:
// each layer's variables live at <path>/vars/<i>, where paths follow
// Keras's saving_lib walk of the model (layers/<snake_case class name,
// made unique>).
func loadKeras3Weights(store saving.Store, m *Model) error {
	return saving.WalkSaveable(m.net, func(path string, l layers.Layer) error {
		return loadKeras3Layer(store, path, l)
	})
}

func loadKeras3Layer(store saving.Store, path string, l layers.Layer) error {
	vars := layers.OwnKeras3Vars(l)
	if len(vars) > 0 {
		where := "layer " + l.Common().String()
		groups, err := store.Get(path)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if len(groups) == 0 {
			return fmt.Errorf("%s: no weights at %s in the file", where, varsPath(path))
		}
		n := 0
		for _, g := range groups {
			names, err := g.Children()
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			n += len(names)
			for _, name := range names {
				// An int8 variable means a quantized layer; say so before
				// its extra scale variables make the counts differ.
				if ds, err := g.Dataset(name); err == nil {
					if k := ds.DType().Kind; k == h5.Int8 || k == h5.Uint8 {
						_, err := readWeight(ds, where, name)
						return err
					}
				}
			}
		}
		if n != len(vars) {
			return fmt.Errorf("%s: the file has %d weights at %s, the layer expects %d", where, n, varsPath(path), len(vars))
		}
		for i, v := range vars {
			ds, err := findVar(groups, strconv.Itoa(i))
			if err != nil {
				return fmt.Errorf("%s: weight %d (%s) missing at %s/%d", where, i, v.Name, varsPath(path), i)
			}
			if err := loadVariable(v, ds, where); err != nil {
				return err
			}
		}
	}
	return nil
}

func varsPath(path string) string { return "/" + saving.JoinPath(path, "vars") }

func findVar(groups []*h5.Group, key string) (*h5.Dataset, error) {
	var err error
	for _, g := range groups {
		var ds *h5.Dataset
		if ds, err = g.Dataset(key); err == nil {
			return ds, nil
		}
	}
	return nil, err
}
