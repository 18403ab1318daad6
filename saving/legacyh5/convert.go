package legacyh5

import (
	"fmt"
	"slices"

	"github.com/kerasrun/kerasrun/runtime"
)

// The weight conversions Keras 2 applies when it loads a legacy HDF5 file
// (tf_keras/src/saving/legacy/hdf5_format.py, preprocess_weights_for_loading
// and _convert_rnn_weights): Keras 1 layouts, the Theano kernel flip, and
// CuDNNLSTM/CuDNNGRU weights. Each layer class registers its own
// (Register); they work on plain arrays so that they are checked against
// tf-keras on their own.

// Array is one weight as a file stores it: a row-major float32 array.
type Array struct {
	Shape []int
	Data  []float32
}

func (w Array) String() string { return runtime.FormatShape(w.Shape) }

// Source is what a legacy weights group says about its writer.
type Source struct {
	// KerasVersion is the group's keras_version attribute, or "1" when it
	// has none: Keras 1 wrote none on the weights group, and Keras 2 keys
	// every Keras 1 conversion on exactly that value.
	KerasVersion string
	// Backend is the group's backend attribute ("tensorflow", "theano"), or
	// empty.
	Backend string
}

// Target describes the layer weights are converted for.
type Target struct {
	ClassName  string
	DataFormat string // channels_last or channels_first, for convolutions
	Filters    int
	KernelSize []int
	ResetAfter bool // GRU
	// Shapes are the shapes the layer's weights have, in file order; nil
	// when not known (then no shape-driven transposition happens).
	Shapes [][]int
}

// A Conversion is what one layer class's weights go through on load.
type Conversion struct {
	// KernelRank, when not 0, is the rank of the class's kernel_size,
	// read into Target.KernelSize.
	KernelRank int
	// Keras1 converts weights written by Keras 1 (Source.KerasVersion
	// "1"), before Convert.
	Keras1 func(t Target, ws []Array) ([]Array, error)
	// Convert converts weights of any writer.
	Convert func(t Target, ws []Array, src Source) ([]Array, error)
}

var conversions = map[string]Conversion{}

// Register sets the load-time conversion of a layer class's legacy
// weights; a class without one loads its weights as stored.
func Register(class string, c Conversion) {
	if _, dup := conversions[class]; dup {
		panic("legacyh5: conversion registered twice for " + class)
	}
	conversions[class] = c
}

func init() {
	Register("Conv1D", Conversion{KernelRank: 1, Keras1: keras1Conv1D, Convert: convKernel})
	Register("Conv2D", Conversion{KernelRank: 2, Keras1: keras1Conv2D, Convert: convKernel})
	Register("Conv2DTranspose", Conversion{KernelRank: 2, Keras1: keras1Conv2DTranspose, Convert: convKernel})
	Register("Conv3D", Conversion{KernelRank: 3, Keras1: keras1Conv3D, Convert: convKernel})
	Register("ConvLSTM2D", Conversion{KernelRank: 2, Keras1: keras1ConvLSTM2D, Convert: convKernel})
	Register("LSTM", Conversion{Keras1: keras1LSTM, Convert: convertRNNWeights})
	Register("GRU", Conversion{Keras1: keras1GRU, Convert: convertRNNWeights})
	Register("CuDNNLSTM", Conversion{Convert: convertRNNWeights})
	Register("CuDNNGRU", Conversion{Convert: convertRNNWeights})
}

// Preprocess converts the weights of one (non-container) layer as Keras
// 2's preprocess_weights_for_loading does, by the conversion its class
// registered. The input slice is not modified.
func Preprocess(t Target, in []Array, src Source) ([]Array, error) {
	ws := append([]Array(nil), in...)
	c, ok := conversions[t.ClassName]
	if !ok {
		return ws, nil
	}
	var err error
	if src.KerasVersion == "1" && c.Keras1 != nil && len(ws) > 0 {
		if ws, err = c.Keras1(t, ws); err != nil {
			return nil, err
		}
	}
	if c.Convert == nil {
		return ws, nil
	}
	return c.Convert(t, ws, src)
}

// convKernel flips the kernels of a Theano-backend file and transposes a
// kernel stored in Theano's axis order.
func convKernel(t Target, ws []Array, src Source) ([]Array, error) {
	if len(ws) == 0 {
		return ws, nil
	}
	var err error
	// Keras 2.x (up to tf.keras 2.2) flipped kernels written by the
	// Theano backend, which computes a true convolution where TensorFlow
	// computes a correlation. tf-keras 2.21 no longer does; kerasrun does,
	// as every Keras that could read Theano files did.
	if src.Backend == "theano" {
		if ws[0], err = flipKernel(ws[0]); err != nil {
			return nil, err
		}
		if t.ClassName == "ConvLSTM2D" && len(ws) > 1 {
			if ws[1], err = flipKernel(ws[1]); err != nil {
				return nil, err
			}
		}
	}
	if len(t.Shapes) > 0 && !slices.Equal(t.Shapes[0], ws[0].Shape) && len(ws[0].Shape) == 4 {
		ws[0] = transposeArray(ws[0], []int{3, 2, 0, 1})
		if t.ClassName == "ConvLSTM2D" && len(ws) > 1 && len(ws[1].Shape) == 4 {
			ws[1] = transposeArray(ws[1], []int{3, 2, 0, 1})
		}
	}
	return ws, nil
}

// The Keras 1 conversions Keras 2 makes, by class.

func keras1Conv1D(t Target, ws []Array) ([]Array, error) {
	k := ws[0]
	if len(k.Shape) != 4 || len(t.KernelSize) != 1 {
		return nil, fmt.Errorf("Keras 1 Conv1D kernel has shape %s, expected 4 dimensions", k)
	}
	if k.Shape[0] != t.KernelSize[0] || k.Shape[1] != 1 || k.Shape[3] != t.Filters {
		// Keras 1.1: (filters, input_dim, filter_length, 1).
		if k.Shape[0] != t.Filters || k.Shape[2] != t.KernelSize[0] || k.Shape[3] != 1 {
			return nil, fmt.Errorf("Keras 1 Conv1D kernel has shape %s, which fits neither Keras 1 layout for %d filters of length %d", k, t.Filters, t.KernelSize[0])
		}
		k = transposeArray(k, []int{2, 3, 1, 0})
	}
	// (filter_length, 1, input_dim, filters) -> drop the 1.
	ws[0] = Array{Shape: []int{k.Shape[0], k.Shape[2], k.Shape[3]}, Data: k.Data}
	return ws, nil
}

func keras1Conv2D(t Target, ws []Array) ([]Array, error) {
	if t.DataFormat == "channels_first" {
		if err := wantRank(ws[0], 4, t.ClassName); err != nil {
			return nil, err
		}
		ws[0] = transposeArray(ws[0], []int{2, 3, 1, 0})
	}
	return ws, nil
}

func keras1Conv2DTranspose(t Target, ws []Array) ([]Array, error) {
	if err := wantRank(ws[0], 4, t.ClassName); err != nil {
		return nil, err
	}
	if t.DataFormat == "channels_first" {
		ws[0] = transposeArray(ws[0], []int{2, 3, 0, 1})
	} else {
		ws[0] = transposeArray(ws[0], []int{0, 1, 3, 2})
	}
	return ws, nil
}

func keras1Conv3D(t Target, ws []Array) ([]Array, error) {
	if t.DataFormat == "channels_first" {
		if err := wantRank(ws[0], 5, t.ClassName); err != nil {
			return nil, err
		}
		ws[0] = transposeArray(ws[0], []int{2, 3, 4, 1, 0})
	}
	return ws, nil
}

func keras1GRU(_ Target, ws []Array) ([]Array, error) {
	if len(ws) == 9 {
		return mergeKeras1Gates(ws, []int{0, 1, 2})
	}
	return ws, nil
}

func keras1LSTM(_ Target, ws []Array) ([]Array, error) {
	if len(ws) == 12 {
		// Keras 1 stores the gates i, c, f, o; Keras 2 concatenates i, f, c, o.
		return mergeKeras1Gates(ws, []int{0, 2, 1, 3})
	}
	return ws, nil
}

func keras1ConvLSTM2D(t Target, ws []Array) ([]Array, error) {
	if len(ws) != 12 {
		return ws, nil
	}
	merged, err := mergeKeras1Gates(ws, []int{0, 2, 1, 3})
	if err != nil {
		return nil, err
	}
	if t.DataFormat == "channels_first" {
		for i := 0; i < 2; i++ {
			if err := wantRank(merged[i], 4, t.ClassName); err != nil {
				return nil, err
			}
			merged[i] = transposeArray(merged[i], []int{2, 3, 1, 0})
		}
	}
	return merged, nil
}

func wantRank(w Array, rank int, class string) error {
	if len(w.Shape) != rank {
		return fmt.Errorf("Keras 1 %s kernel has shape %s, expected %d dimensions", class, w, rank)
	}
	return nil
}

// mergeKeras1Gates turns Keras 1's per-gate (W, U, b) triples into Keras
// 2's kernel, recurrent_kernel and bias, each the concatenation over the
// last axis of the gates taken in the given order (gate g's triple starts
// at ws[3*g]).
func mergeKeras1Gates(ws []Array, order []int) ([]Array, error) {
	out := make([]Array, 3)
	for part := 0; part < 3; part++ {
		pieces := make([]Array, len(order))
		for i, g := range order {
			pieces[i] = ws[3*g+part]
		}
		merged, err := concatLastAxis(pieces)
		if err != nil {
			return nil, fmt.Errorf("Keras 1 recurrent weights: %w", err)
		}
		out[part] = merged
	}
	return out, nil
}

// convertRNNWeights converts between LSTM and CuDNNLSTM, and between
// GRU(reset_after=True) and CuDNNGRU, telling the source from the bias
// shape as Keras's _convert_rnn_weights does.
func convertRNNWeights(t Target, ws []Array, _ Source) ([]Array, error) {
	if len(ws) != 3 {
		return ws, nil
	}
	rk, bias := ws[1], ws[2]
	if len(rk.Shape) != 2 {
		return ws, nil
	}
	units := rk.Shape[0]
	switch t.ClassName {
	case "LSTM", "CuDNNLSTM":
		const gates = 4
		var source string
		switch {
		case slices.Equal(bias.Shape, []int{2 * units * gates}):
			source = "CuDNNLSTM"
		case slices.Equal(bias.Shape, []int{units * gates}):
			source = "LSTM"
		default:
			return nil, fmt.Errorf("%s: invalid bias shape %s for %d units", t.ClassName, bias, units)
		}
		if source == t.ClassName {
			return ws, nil
		}
		return convertCuDNNWeights(ws, gates, source == "CuDNNLSTM", true)
	case "GRU", "CuDNNGRU":
		const gates = 3
		var source string
		switch {
		case slices.Equal(bias.Shape, []int{2 * units * gates}):
			source = "CuDNNGRU"
		case slices.Equal(bias.Shape, []int{2, units * gates}):
			source = "GRU(reset_after=True)"
		case slices.Equal(bias.Shape, []int{units * gates}):
			source = "GRU(reset_after=False)"
		default:
			return nil, fmt.Errorf("%s: invalid bias shape %s for %d units", t.ClassName, bias, units)
		}
		target := "CuDNNGRU"
		if t.ClassName == "GRU" {
			target = "GRU(reset_after=False)"
			if t.ResetAfter {
				target = "GRU(reset_after=True)"
			}
		}
		if source == target {
			return ws, nil
		}
		if source == "GRU(reset_after=False)" || target == "GRU(reset_after=False)" {
			return nil, fmt.Errorf("weights of a %s are not compatible with a %s", source, target)
		}
		return convertCuDNNWeights(ws, gates, source == "CuDNNGRU", false)
	}
	return ws, nil
}

// convertCuDNNWeights converts (kernel, recurrent_kernel, bias) between
// the cuDNN layout and Keras's: each gate's input kernel changes between
// Fortran and C order, each gate's recurrent kernel is transposed, and the
// biases are merged (LSTM: the input and recurrent halves summed; GRU:
// reshaped to (2, 3*units)) or split.
func convertCuDNNWeights(ws []Array, gates int, fromCuDNN, lstm bool) ([]Array, error) {
	k, rk, b := ws[0], ws[1], ws[2]
	if len(k.Shape) != 2 || k.Shape[1]%gates != 0 || rk.Shape[1]%gates != 0 {
		return nil, fmt.Errorf("recurrent kernels of shapes %s and %s do not split into %d gates", k, rk, gates)
	}
	kernel := mapGates(k, gates, func(g Array) Array { return reorderInputKernel(g, fromCuDNN) })
	recurrent := mapGates(rk, gates, func(g Array) Array { return transposeArray(g, []int{1, 0}) })
	var bias Array
	switch {
	case lstm && fromCuDNN:
		half := len(b.Data) / 2
		bias = Array{Shape: []int{half}, Data: make([]float32, half)}
		for i := range half {
			bias.Data[i] = b.Data[i] + b.Data[half+i]
		}
	case lstm:
		n := len(b.Data)
		bias = Array{Shape: []int{2 * n}, Data: make([]float32, 2*n)}
		for i, v := range b.Data {
			bias.Data[i], bias.Data[n+i] = 0.5*v, 0.5*v
		}
	case fromCuDNN:
		bias = Array{Shape: []int{2, len(b.Data) / 2}, Data: b.Data}
	default:
		bias = Array{Shape: []int{len(b.Data)}, Data: b.Data}
	}
	return []Array{kernel, recurrent, bias}, nil
}

// mapGates splits a 2-D array into equal column blocks (numpy's hsplit),
// applies f to each and stacks the results side by side again (hstack).
func mapGates(w Array, gates int, f func(Array) Array) Array {
	rows, cols := w.Shape[0], w.Shape[1]
	width := cols / gates
	blocks := make([]Array, gates)
	for g := range gates {
		blk := Array{Shape: []int{rows, width}, Data: make([]float32, rows*width)}
		for r := range rows {
			copy(blk.Data[r*width:(r+1)*width], w.Data[r*cols+g*width:r*cols+(g+1)*width])
		}
		blocks[g] = f(blk)
	}
	out, _ := concatLastAxis(blocks) // blocks have equal row counts by construction
	return out
}

// reorderInputKernel is Keras's transpose_input: kernel.T reshaped to the
// kernel's own shape, reading and filling in Fortran order when converting
// from cuDNN and in C order when converting to it.
func reorderInputKernel(k Array, fromCuDNN bool) Array {
	r, c := k.Shape[0], k.Shape[1]
	t := transposeArray(k, []int{1, 0}) // shape (c, r)
	if !fromCuDNN {
		return Array{Shape: []int{r, c}, Data: t.Data}
	}
	out := Array{Shape: []int{r, c}, Data: make([]float32, r*c)}
	// Element n of t in Fortran order is t[n%c][n/c]; it goes to out's
	// Fortran position n, out[n%r][n/r].
	for n := 0; n < r*c; n++ {
		out.Data[(n%r)*c+n/r] = t.Data[(n%c)*r+n/c]
	}
	return out
}

// concatLastAxis concatenates arrays of equal leading dimensions along
// their last axis.
func concatLastAxis(ws []Array) (Array, error) {
	if len(ws) == 0 {
		return Array{}, fmt.Errorf("nothing to concatenate")
	}
	lead := ws[0].Shape[:len(ws[0].Shape)-1]
	outer := runtime.ShapeSize(lead)
	total := 0
	for _, w := range ws {
		if len(w.Shape) != len(ws[0].Shape) || !slices.Equal(w.Shape[:len(w.Shape)-1], lead) {
			return Array{}, fmt.Errorf("cannot concatenate arrays of shapes %s and %s", ws[0], w)
		}
		total += w.Shape[len(w.Shape)-1]
	}
	out := Array{Shape: append(append([]int(nil), lead...), total), Data: make([]float32, outer*total)}
	off := 0
	for _, w := range ws {
		n := w.Shape[len(w.Shape)-1]
		for o := range outer {
			copy(out.Data[o*total+off:o*total+off+n], w.Data[o*n:(o+1)*n])
		}
		off += n
	}
	return out, nil
}

// transposeArray permutes the axes of w (numpy's transpose).
func transposeArray(w Array, perm []int) Array {
	rank := len(w.Shape)
	outShape := make([]int, rank)
	for i, p := range perm {
		outShape[i] = w.Shape[p]
	}
	inStrides := make([]int, rank)
	s := 1
	for i := rank - 1; i >= 0; i-- {
		inStrides[i] = s
		s *= w.Shape[i]
	}
	out := Array{Shape: outShape, Data: make([]float32, len(w.Data))}
	idx := make([]int, rank)
	for n := range out.Data {
		src := 0
		for i := range rank {
			src += idx[i] * inStrides[perm[i]]
		}
		out.Data[n] = w.Data[src]
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < outShape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// flipKernel reverses every spatial axis of a convolution kernel (all but
// the last two, the channel axes): Keras's conv_utils.convert_kernel.
func flipKernel(w Array) (Array, error) {
	rank := len(w.Shape)
	if rank < 3 || rank > 5 {
		return Array{}, fmt.Errorf("cannot flip a convolution kernel of shape %s", w)
	}
	strides := make([]int, rank)
	s := 1
	for i := rank - 1; i >= 0; i-- {
		strides[i] = s
		s *= w.Shape[i]
	}
	out := Array{Shape: append([]int(nil), w.Shape...), Data: make([]float32, len(w.Data))}
	idx := make([]int, rank)
	for n := range out.Data {
		src := 0
		for i := range rank {
			j := idx[i]
			if i < rank-2 {
				j = w.Shape[i] - 1 - j
			}
			src += j * strides[i]
		}
		out.Data[n] = w.Data[src]
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < w.Shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, nil
}
