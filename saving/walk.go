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
	return walkSaveable("", l, visit, map[layers.Layer]bool{})
}

func walkSaveable(path string, l layers.Layer, visit func(string, layers.Layer) error, visited map[layers.Layer]bool) error {
	if visited[l] {
		return nil
	}
	visited[l] = true
	if err := visit(path, l); err != nil {
		return err
	}
	if t, ok := l.(layers.Tracked); ok {
		for _, ch := range t.TrackedChildren() {
			if err := walkSaveable(JoinPath(path, ch.Name), ch.Layer, visit, visited); err != nil {
				return err
			}
		}
	}
	m, ok := l.(*layers.Model)
	if !ok {
		return nil
	}
	children := layers.ModelLayers(m)
	classes := make([]string, len(children))
	for i, ch := range children {
		classes[i] = ch.Common().ClassName
	}
	for i, p := range ChildPaths(path, classes) {
		if err := walkSaveable(p, children[i], visit, visited); err != nil {
			return err
		}
	}
	return nil
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
