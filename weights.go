package kerasrun

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
)

// maxWeightElements caps one weight's size (16 Gi float32 elements would
// be 64 GiB): a file declaring more is refused before allocating.
const maxWeightElements = 1 << 34

// legacyWeights lists a layer's variables in the order legacy HDF5 files
// store them: Keras's layer.trainable_weights + layer.non_trainable_weights,
// over the layer and everything nested in it. A layer with trainable=False
// counts all its weights as non-trainable.
func legacyWeights(l layers.Layer) []*runtime.Variable {
	var train, frozen []*runtime.Variable
	var walk func(l layers.Layer, trainable bool)
	walk = func(l layers.Layer, trainable bool) {
		trainable = trainable && l.Common().Trainable
		for _, v := range l.Weights() {
			if trainable && v.Trainable {
				train = append(train, v)
			} else {
				frozen = append(frozen, v)
			}
		}
		if c, ok := l.(layers.Container); ok {
			for _, child := range c.Children() {
				walk(child, trainable)
			}
		}
	}
	walk(l, true)
	return append(train, frozen...)
}

// kerasLayers lists a model's layers as Keras's model.layers does: a
// Sequential model leaves out its InputLayer.
func kerasLayers(m *layers.Model) []layers.Layer {
	var out []layers.Layer
	for _, l := range m.Layers {
		if _, isInput := l.(*layers.InputLayer); isInput && m.ClassName == "Sequential" {
			continue
		}
		out = append(out, l)
	}
	return out
}

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

// assign copies a dataset into a variable, checking the shape.
func assign(v *runtime.Variable, ds *h5.Dataset, where string) error {
	shape := ds.Shape()
	want := v.Value.Shape
	if !sameShape(shape, want) {
		// A scalar and a one-element vector are the same to Keras.
		if runtime.ShapeSize(shape) != runtime.ShapeSize(want) || runtime.ShapeSize(want) != 1 {
			return fmt.Errorf("%s: weight %q has shape %s in the file, the layer expects %s",
				where, v.Name, runtime.FormatShape(shape), runtime.FormatShape(want))
		}
	}
	if _, err := runtime.CheckedShapeSize(shape, maxWeightElements); err != nil {
		return fmt.Errorf("%s: weight %q: %w", where, v.Name, err)
	}
	arr, err := ds.Read()
	if err != nil {
		return fmt.Errorf("%s: weight %q: %w", where, v.Name, err)
	}
	data, err := arr.Float32s()
	if err != nil {
		return fmt.Errorf("%s: weight %q: %w", where, v.Name, err)
	}
	copy(v.Value.Data, data)
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

// loadLegacyWeights loads the layer groups of a legacy HDF5 file
// (/model_weights of a full model, or the root of a save_weights file).
// As Keras does, layers are matched by position among those that have
// weights, and each layer's weights by position.
func loadLegacyWeights(g *h5.Group, m *Model) error {
	names, err := readStringList(g, "layer_names")
	if err != nil {
		return err
	}
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
			modelNames = append(modelNames, l.Common().Name)
		}
		return fmt.Errorf("the file has weights for %d layers %v, the model has %d layers with weights %v",
			len(inFile), fileNames, len(withWeights), modelNames)
	}
	for i, fl := range inFile {
		l := withWeights[i]
		vars := legacyWeights(l)
		if len(vars) != len(fl.weights) {
			return fmt.Errorf("layer %s: the file has %d weights %v, the layer expects %d",
				l.Common(), len(fl.weights), fl.weights, len(vars))
		}
		for j, wname := range fl.weights {
			ds, err := fl.group.Dataset(wname)
			if err != nil {
				return fmt.Errorf("layer %s: %w", l.Common(), err)
			}
			if err := assign(vars[j], ds, "layer "+l.Common().String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadKeras3Weights loads a Keras 3 weights file (model.weights.h5 in a
// .keras archive, or a .weights.h5): each layer's variables live at
// <path>/vars/<i>, where paths follow Keras's saving_lib walk of the model
// (layers/<snake_case class name, made unique>).
func loadKeras3Weights(root *h5.Group, m *Model) error {
	return loadKeras3Layer(root, m.net)
}

func loadKeras3Layer(g *h5.Group, l layers.Layer) error {
	vars := l.Weights()
	if len(vars) > 0 {
		vg, err := g.Group("vars")
		if err != nil {
			return fmt.Errorf("layer %s: no weights at %s/vars in the file", l.Common(), g.Path())
		}
		for i, v := range vars {
			ds, err := vg.Dataset(strconv.Itoa(i))
			if err != nil {
				return fmt.Errorf("layer %s: weight %d (%s) missing at %s/vars/%d", l.Common(), i, v.Name, g.Path(), i)
			}
			if err := assign(v, ds, "layer "+l.Common().String()); err != nil {
				return err
			}
		}
	}
	m, ok := l.(*layers.Model)
	if !ok {
		return nil
	}
	children := kerasLayers(m)
	if len(children) == 0 {
		return nil
	}
	lg, err := g.Group("layers")
	if err != nil {
		return fmt.Errorf("model %s: no layers group at %s", l.Common(), g.Path())
	}
	used := map[string]int{}
	for _, child := range children {
		name := uniqueName(used, snakeCase(child.Common().ClassName))
		if len(legacyWeights(child)) == 0 {
			continue
		}
		cg, err := lg.Group(name)
		if err != nil {
			return fmt.Errorf("layer %s: expected its weights at %s/%s: %w", child.Common(), lg.Path(), name, err)
		}
		if err := loadKeras3Layer(cg, child); err != nil {
			return err
		}
	}
	return nil
}

// uniqueName returns name, then name_1, name_2, ... as Keras's saving_lib
// names the members of a tracked list.
func uniqueName(used map[string]int, name string) string {
	n := used[name]
	used[name] = n + 1
	if n == 0 {
		return name
	}
	return name + "_" + strconv.Itoa(n)
}

var (
	snakeNonWord = regexp.MustCompile(`\W+`)
	snakeUpper1  = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	snakeUpper2  = regexp.MustCompile(`([a-z])([A-Z])`)
)

// snakeCase is Keras's naming.to_snake_case.
func snakeCase(name string) string {
	name = snakeNonWord.ReplaceAllString(name, "")
	name = snakeUpper1.ReplaceAllString(name, "${1}_${2}")
	name = snakeUpper2.ReplaceAllString(name, "${1}_${2}")
	return strings.ToLower(name)
}
