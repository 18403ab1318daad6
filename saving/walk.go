package saving

import (
	"strconv"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
)

// WalkSaveable visits l and every layer nested in it once, in the order
// and with the object paths of Keras 3's saving_lib._walk_saveable: l at
// path "", then its tracked attributes (an RNN's cell, Bidirectional's
// forward_layer, TimeDistributed's layer) under their attribute names,
// then a model's layers at layers/<snake_case class name, made unique>. A
// layer reached twice is visited at its first path only, as Keras saves
// it once. Load, Save and Inspect all place variables by this walk.
func WalkSaveable(l layers.Layer, visit func(path string, l layers.Layer) error) error {
	return walkSaveable("", l, layerTree{}, visit, map[layers.Layer]bool{})
}

// walkConfig is WalkSaveable on a model's configuration, for Inspect,
// which reads models it cannot build: the layers of spec and of its nested
// models at the paths WalkSaveable gives them once built. A configuration
// does not say what a layer tracks, so a layer's sub-objects are not
// visited (their variables are below its path).
func walkConfig(spec *kerasjson.Model, visit func(path string, l *kerasjson.Layer) error) error {
	return walkSaveable("", &kerasjson.Layer{Model: spec}, configTree{}, visit, map[*kerasjson.Layer]bool{})
}

// saveableTree is what the walk needs of the objects it walks: their
// tracked attributes, and a model's layers with their classes.
type saveableTree[T comparable] interface {
	tracked(x T) []tracked[T]
	modelLayers(x T) (children []T, classes []string)
}

type tracked[T any] struct {
	name string
	x    T
}

func walkSaveable[T comparable](path string, x T, tree saveableTree[T], visit func(string, T) error, visited map[T]bool) error {
	if visited[x] {
		return nil
	}
	visited[x] = true
	if err := visit(path, x); err != nil {
		return err
	}
	for _, ch := range tree.tracked(x) {
		if err := walkSaveable(JoinPath(path, ch.name), ch.x, tree, visit, visited); err != nil {
			return err
		}
	}
	children, classes := tree.modelLayers(x)
	for i, p := range ChildPaths(path, classes) {
		if err := walkSaveable(p, children[i], tree, visit, visited); err != nil {
			return err
		}
	}
	return nil
}

// layerTree walks built layers.
type layerTree struct{}

func (layerTree) tracked(l layers.Layer) []tracked[layers.Layer] {
	t, ok := l.(layers.Tracked)
	if !ok {
		return nil
	}
	var out []tracked[layers.Layer]
	for _, ch := range t.TrackedChildren() {
		out = append(out, tracked[layers.Layer]{ch.Name, ch.Layer})
	}
	return out
}

func (layerTree) modelLayers(l layers.Layer) ([]layers.Layer, []string) {
	m, ok := l.(*layers.Model)
	if !ok {
		return nil, nil
	}
	children := layers.ModelLayers(m)
	classes := make([]string, len(children))
	for i, ch := range children {
		classes[i] = ch.Common().ClassName
	}
	return children, classes
}

// configTree walks a configuration's layers.
type configTree struct{}

func (configTree) tracked(*kerasjson.Layer) []tracked[*kerasjson.Layer] { return nil }

func (configTree) modelLayers(ls *kerasjson.Layer) ([]*kerasjson.Layer, []string) {
	if ls.Model == nil {
		return nil, nil
	}
	children := specLayers(ls.Model)
	classes := make([]string, len(children))
	for i, ch := range children {
		classes[i] = ch.ClassName
	}
	return children, classes
}

// ChildPaths returns the saving_lib paths of a model's layers at path,
// given their classes in model.layers order: layers/<snake_case class>,
// made unique by _1, _2, ... (for Inspect, which walks a config).
func ChildPaths(path string, classes []string) []string {
	used := map[string]int{}
	out := make([]string, len(classes))
	for i, c := range classes {
		name := kerasjson.SnakeCase(c)
		n := used[name]
		used[name] = n + 1
		if n > 0 {
			name += "_" + strconv.Itoa(n)
		}
		out[i] = JoinPath(path, "layers/"+name)
	}
	return out
}
