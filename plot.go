package kerasrun

import (
	"fmt"
	"io"
	"strings"

	"github.com/kerasrun/kerasrun/internal/plot"
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/layers"
)

// PlotOptions are the arguments of keras.utils.plot_model.
type PlotOptions struct {
	// ShowShapes adds each layer's input and output shapes.
	ShowShapes bool
	// ShowDtype adds each layer's output dtype.
	ShowDtype bool
	// ShowLayerNames titles each box "name (Class)" rather than "Class".
	ShowLayerNames bool
	// ShowTrainable marks each layer with weights trainable or not.
	ShowTrainable bool
	// ExpandNested draws the layers of nested models inside a dashed
	// frame named after the model.
	ExpandNested bool
}

// ImageFormat is a picture's file format.
type ImageFormat string

// The formats PlotModel and PlotHistory write.
const (
	SVG ImageFormat = "svg"
	PNG ImageFormat = "png"
)

// ImageFormatOf picks the format from a file name's extension.
func ImageFormatOf(path string) (ImageFormat, error) {
	switch {
	case hasSuffixFold(path, ".svg"):
		return SVG, nil
	case hasSuffixFold(path, ".png"):
		return PNG, nil
	}
	return "", fmt.Errorf("kerasrun: %s: a picture is .svg or .png", path)
}

func hasSuffixFold(s, suffix string) bool { return strings.HasSuffix(strings.ToLower(s), suffix) }

// pngScale is the PNG resolution in pixels per SVG unit.
const pngScale = 2

func writePicture(w io.Writer, cv *plot.Canvas, format ImageFormat) error {
	switch format {
	case SVG:
		return cv.WriteSVG(w)
	case PNG:
		return cv.WritePNG(w, pngScale)
	}
	return fmt.Errorf("kerasrun: unknown picture format %q (svg or png)", format)
}

// PlotModel draws the model's layer graph top to bottom as
// keras.utils.plot_model lays it out: one box per layer (a Functional
// model's InputLayers included, a Sequential model's left out), with the
// labels plot_model gives it, and an arrow from each layer to the layers
// that take its output.
func (m *Model) PlotModel(w io.Writer, format ImageFormat, o PlotOptions) error {
	m.mu.RLock()
	g := m.plotGraph(o)
	m.mu.RUnlock()
	return writePicture(w, g.Draw(), format)
}

// PlotModelFile is PlotModel of the model file at path; like
// WriteSummaryFile, a model JSON needs no weights file.
func PlotModelFile(w io.Writer, path string, format ImageFormat, o PlotOptions, opts ...LoadOption) error {
	m, err := loadForDisplay(path, opts)
	if err != nil {
		return err
	}
	return m.PlotModel(w, format, o)
}

type plotBuilder struct {
	g        plot.Graph
	o        PlotOptions
	recorded map[tensorKey]recordedTensor
}

// plotScope is one (nested) model's part of the picture.
type plotScope struct {
	view *kerasView
	ids  map[string]int        // layer name -> box
	subs map[string]*plotScope // expanded nested models
}

func (m *Model) plotGraph(o PlotOptions) *plot.Graph {
	b := &plotBuilder{o: o, recorded: recordedShapes(m.f.RawConfig)}
	v := newKerasView(m.f.Spec, m.net)
	v.recorded = b.recorded
	b.addScope(v, -1)
	return &b.g
}

// addScope adds the boxes and edges of a model (model_to_dot).
func (b *plotBuilder) addScope(v *kerasView, cluster int) *plotScope {
	s := &plotScope{view: v, ids: map[string]int{}, subs: map[string]*plotScope{}}
	for _, ls := range v.ops {
		if b.o.ExpandNested && ls.Model != nil {
			sub, _ := v.byName[ls.Name].(*layers.Model)
			sv := newKerasView(ls.Model, sub)
			sv.recorded = b.recorded
			b.g.Clusters = append(b.g.Clusters, plot.Cluster{Label: ls.Name, Parent: cluster})
			s.subs[ls.Name] = b.addScope(sv, len(b.g.Clusters)-1)
			continue
		}
		s.ids[ls.Name] = len(b.g.Nodes)
		b.g.Nodes = append(b.g.Nodes, plot.Node{Title: b.title(ls), Cells: b.cells(v, ls), Cluster: cluster})
	}
	seen := map[[2]int]bool{}
	edge := func(from, to int) {
		if from >= 0 && to >= 0 && from != to && !seen[[2]int{from, to}] {
			seen[[2]int{from, to}] = true
			b.g.Edges = append(b.g.Edges, [2]int{from, to})
		}
	}
	if v.spec.ClassName == "Sequential" {
		for i := 1; i < len(v.ops); i++ {
			edge(s.output(v.ops[i-1].Name, 0), s.input(v.ops[i].Name, 0))
		}
		return s
	}
	for _, ls := range v.ops {
		for k, n := range ls.Inbound {
			if _, ok := v.inGraph[nodeKey{ls.Name, k}]; !ok {
				continue
			}
			for i, r := range nodeInputs(n) {
				edge(s.output(r.Layer, r.TensorIndex), s.input(ls.Name, i))
			}
		}
	}
	return s
}

// output is the box producing output t of layer name: inside an expanded
// model, the layer giving that model output.
func (s *plotScope) output(name string, t int) int {
	if sub := s.subs[name]; sub != nil {
		outs := sub.view.spec.Outputs
		if t >= len(outs) {
			return -1
		}
		return sub.output(outs[t].Layer, outs[t].TensorIndex)
	}
	if id, ok := s.ids[name]; ok {
		return id
	}
	return -1
}

// input is the box taking input i of layer name: inside an expanded
// Functional model its InputLayer, inside a Sequential its first layer.
func (s *plotScope) input(name string, i int) int {
	if sub := s.subs[name]; sub != nil {
		if sub.view.spec.ClassName == "Sequential" {
			if len(sub.view.ops) == 0 {
				return -1
			}
			return sub.input(sub.view.ops[0].Name, i)
		}
		ins := sub.view.spec.Inputs
		if i >= len(ins) {
			return -1
		}
		return sub.input(ins[i].Layer, i)
	}
	if id, ok := s.ids[name]; ok {
		return id
	}
	return -1
}

func (b *plotBuilder) title(ls *kerasjson.Layer) string {
	class := pythonClassName(ls.ClassName)
	if b.o.ShowLayerNames {
		return ls.Name + " (" + class + ")"
	}
	return class
}

// cells are make_layer_label's second row.
func (b *plotBuilder) cells(v *kerasView, ls *kerasjson.Layer) []plot.Cell {
	var cells []plot.Cell
	cell := func(text string) {
		c := plot.CellWhite
		c.Text = text
		cells = append(cells, c)
	}
	l := v.byName[ls.Name]
	if b.o.ShowShapes {
		if ls.ClassName != "InputLayer" {
			cell("Input shape: " + v.inputShapes(ls))
		}
		cell("Output shape: " + pyShapes(v.outputShapes(ls, l)))
	}
	if b.o.ShowDtype {
		cell("Output dtype: " + v.outputDtype(ls))
	}
	if b.o.ShowTrainable && l != nil && len(layers.WalkVariables(l)) > 0 {
		if l.Common().Trainable || ls.ClassName == "Sequential" {
			cells = append(cells, plot.TrainableCell)
		} else {
			cells = append(cells, plot.FrozenCell)
		}
	}
	return cells
}

// outputShapes are the shapes of the layer's first call.
func (v *kerasView) outputShapes(ls *kerasjson.Layer, l layers.Layer) [][]int {
	if l != nil && v.net != nil {
		if s := v.net.NodeShapes[l]; s != nil {
			return s
		}
	}
	var out [][]int
	for t := 0; ; t++ {
		rt, ok := v.recorded[tensorKey{v.spec.Name, ls.Name, 0, t}]
		if !ok {
			return out
		}
		out = append(out, rt.shape)
	}
}

// inputShapes formats layer.input's shapes: the tensors of its first call
// (for a Sequential model, the previous layer's output).
func (v *kerasView) inputShapes(ls *kerasjson.Layer) string {
	var refs []kerasjson.TensorRef
	if v.spec.ClassName == "Sequential" {
		for i, o := range v.spec.Layers {
			if o == ls && i > 0 {
				refs = []kerasjson.TensorRef{{Layer: v.spec.Layers[i-1].Name}}
			}
		}
	} else if len(ls.Inbound) > 0 {
		refs = nodeInputs(ls.Inbound[0])
	}
	var shapes [][]int
	for _, r := range refs {
		var shape []int
		if rt, ok := v.recorded[tensorKey{v.spec.Name, r.Layer, r.NodeIndex, r.TensorIndex}]; ok {
			shape = rt.shape
		} else if ps := v.outputShapes(v.specs[r.Layer], v.byName[r.Layer]); r.TensorIndex < len(ps) {
			shape = ps[r.TensorIndex]
		}
		if shape == nil {
			return "?"
		}
		shapes = append(shapes, shape)
	}
	if len(shapes) == 0 {
		return "?"
	}
	return pyShapes(shapes)
}

// outputDtype is the dtype of the layer's output as Keras prints it: the
// dtype the config records where the output is passed on, else the
// InputLayer's dtype or the layer's compute dtype.
func (v *kerasView) outputDtype(ls *kerasjson.Layer) string {
	var dtypes []string
	for t := 0; ; t++ {
		rt, ok := v.recorded[tensorKey{v.spec.Name, ls.Name, 0, t}]
		if !ok || rt.dtype == "" {
			break
		}
		dtypes = append(dtypes, rt.dtype)
	}
	if len(dtypes) == 0 {
		d := computeDtype(ls.Config)
		n := 1
		if l := v.byName[ls.Name]; l != nil && v.net != nil && len(v.net.NodeShapes[l]) > 1 {
			n = len(v.net.NodeShapes[l])
		}
		for range n {
			dtypes = append(dtypes, d)
		}
	}
	if len(dtypes) == 1 {
		return dtypes[0]
	}
	return "['" + strings.Join(dtypes, "', '") + "']"
}

// computeDtype is a layer's compute dtype from its dtype policy.
func computeDtype(cfg kerasjson.Config) string {
	name := dtypePolicyName(cfg)
	switch name {
	case "":
		return "float32"
	case "mixed_float16":
		return "float16"
	case "mixed_bfloat16":
		return "bfloat16"
	}
	return name
}

// pyShapes formats shapes as Python prints them: a tuple, "(None, 4)" or
// "(None,)", or a list of tuples for several.
func pyShapes(shapes [][]int) string { return formatShapes(shapes, true) }

// formatShapes formats shapes as "(None, 4)", several as a list
// "[(None, 4), (None, 2)]", none as "?"; pyTuple writes a rank-1 shape
// as the Python tuple "(None,)" rather than "(None)".
func formatShapes(shapes [][]int, pyTuple bool) string {
	if len(shapes) == 0 {
		return "?"
	}
	parts := make([]string, len(shapes))
	for i, s := range shapes {
		dims := make([]string, len(s))
		for j, d := range s {
			if d < 0 {
				dims[j] = "None"
			} else {
				dims[j] = fmt.Sprint(d)
			}
		}
		parts[i] = "(" + strings.Join(dims, ", ")
		if pyTuple && len(s) == 1 {
			parts[i] += ","
		}
		parts[i] += ")"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
