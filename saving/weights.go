package saving

import (
	"fmt"
	"strconv"

	"github.com/kerasrun/kerasrun/h5"
	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/saving/legacyh5"
)

// loadVariable reads a weight dataset straight into a variable's memory,
// with no intermediate copy: Keras 3 files need no load-time conversion.
func loadVariable(v *runtime.Variable, ds *h5.Dataset, where string) error {
	if err := legacyh5.CheckWeightShape(v, ds.Shape(), where); err != nil {
		return err
	}
	switch ds.DType().Kind {
	case h5.Int8, h5.Uint8:
		_, err := legacyh5.ReadWeight(ds, where, v.Name) // names the quantized layer
		return err
	}
	if err := ds.ReadFloat32Into(v.Value.Data); err != nil {
		return fmt.Errorf("%s: weight %q: %w", where, v.Name, err)
	}
	v.Touch()
	return nil
}

// loadKeras3Weights loads a Keras 3 weights store (model.weights.h5 in a
// .keras archive, a .weights.h5, or sharded .weights.json) into the model:
// each layer's variables live at <path>/vars/<i>, where paths follow
// Keras's saving_lib walk of the model (layers/<snake_case class name,
// made unique>).
func loadKeras3Weights(store Store, m *Model) error {
	return WalkSaveable(m.Net, func(path string, l layers.Layer) error {
		return loadKeras3Layer(store, path, l)
	})
}

func loadKeras3Layer(store Store, path string, l layers.Layer) error {
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
						_, err := legacyh5.ReadWeight(ds, where, name)
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

func varsPath(path string) string { return "/" + JoinPath(path, "vars") }

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
