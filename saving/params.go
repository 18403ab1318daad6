package saving

import "github.com/kerasrun/kerasrun/layers"

// TensorInfo names and shapes a model input or output; -1 marks an
// unknown dimension (the batch).
type TensorInfo struct {
	Name  string
	Shape []int
}

// TensorInfos pairs names and shapes, copying the shapes.
func TensorInfos(names []string, shapes [][]int) []TensorInfo {
	out := make([]TensorInfo, len(names))
	for i := range names {
		out[i] = TensorInfo{Name: names[i], Shape: append([]int(nil), shapes[i]...)}
	}
	return out
}

// ParamCounts are a model's parameter counts as model.summary() reports
// them.
type ParamCounts struct {
	Total, Trainable, NonTrainable int
}

// ModelParams counts a model's parameters, layer by layer of model.layers.
func ModelParams(net *layers.Model) ParamCounts {
	var c ParamCounts
	for _, l := range layers.ModelLayers(net) {
		lc := LayerParams(l)
		c.Trainable += lc.Trainable
		c.NonTrainable += lc.NonTrainable
	}
	c.Total = c.Trainable + c.NonTrainable
	return c
}

// LayerParams counts the parameters of l and the layers nested in it.
func LayerParams(l layers.Layer) ParamCounts {
	var c ParamCounts
	for _, v := range layers.WalkVariables(l) {
		if v.Trainable {
			c.Trainable += v.V.Value.Size()
		} else {
			c.NonTrainable += v.V.Value.Size()
		}
	}
	c.Total = c.Trainable + c.NonTrainable
	return c
}
