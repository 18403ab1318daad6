package kerasrun

import (
	"fmt"

	"github.com/kerasrun/kerasrun/runtime"
)

// The weight conversions Keras 2 applies when it loads a legacy HDF5 file
// (tf_keras/src/saving/legacy/hdf5_format.py, preprocess_weights_for_loading
// and _convert_rnn_weights): Keras 1 layouts, the Theano kernel flip, and
// CuDNNLSTM/CuDNNGRU weights. They work on plain arrays so that they can be
// checked against tf-keras before the layers that use them exist.

// weightArray is one weight as a file stores it: a row-major float32 array.
type weightArray struct {
	shape []int
	data  []float32
}

func (w weightArray) String() string { return runtime.FormatShape(w.shape) }

// legacySource is what a legacy weights group says about its writer.
type legacySource struct {
	// kerasVersion is the group's keras_version attribute, or "1" when it
	// has none: Keras 1 wrote none on the weights group, and Keras 2 keys
	// every Keras 1 conversion on exactly that value.
	kerasVersion string
	// backend is the group's backend attribute ("tensorflow", "theano"), or
	// empty.
	backend string
}

// legacyTarget describes the layer weights are converted for.
type legacyTarget struct {
	className  string
	dataFormat string // channels_last or channels_first, for convolutions
	filters    int
	kernelSize []int
	resetAfter bool // GRU
	// shapes are the shapes the layer's weights have, in file order; nil
	// when not known (then no shape-driven transposition happens).
	shapes [][]int
}

// preprocessLegacyWeights converts the weights of one (non-container)
// layer as Keras 2's preprocess_weights_for_loading does. The input slice
// is not modified.
func preprocessLegacyWeights(t legacyTarget, in []weightArray, src legacySource) ([]weightArray, error) {
	ws := append([]weightArray(nil), in...)
	var err error
	if src.kerasVersion == "1" {
		if ws, err = convertKeras1(t, ws); err != nil {
			return nil, err
		}
	}
	switch t.className {
	case "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "ConvLSTM2D":
		if len(ws) == 0 {
			break
		}
		// Keras 2.x (up to tf.keras 2.2) flipped kernels written by the
		// Theano backend, which computes a true convolution where TensorFlow
		// computes a correlation. tf-keras 2.21 no longer does; kerasrun does,
		// as every Keras that could read Theano files did.
		if src.backend == "theano" {
			if ws[0], err = flipKernel(ws[0]); err != nil {
				return nil, err
			}
			if t.className == "ConvLSTM2D" && len(ws) > 1 {
				if ws[1], err = flipKernel(ws[1]); err != nil {
					return nil, err
				}
			}
		}
		if len(t.shapes) > 0 && !sameShape(t.shapes[0], ws[0].shape) && len(ws[0].shape) == 4 {
			ws[0] = transposeArray(ws[0], []int{3, 2, 0, 1})
			if t.className == "ConvLSTM2D" && len(ws) > 1 && len(ws[1].shape) == 4 {
				ws[1] = transposeArray(ws[1], []int{3, 2, 0, 1})
			}
		}
	}
	return convertRNNWeights(t, ws)
}

// convertKeras1 applies the conversions Keras 2 makes for Keras 1 files.
func convertKeras1(t legacyTarget, ws []weightArray) ([]weightArray, error) {
	if len(ws) == 0 {
		return ws, nil
	}
	switch t.className {
	case "Conv1D":
		k := ws[0]
		if len(k.shape) != 4 || len(t.kernelSize) != 1 {
			return nil, fmt.Errorf("Keras 1 Conv1D kernel has shape %s, expected 4 dimensions", k)
		}
		if k.shape[0] != t.kernelSize[0] || k.shape[1] != 1 || k.shape[3] != t.filters {
			// Keras 1.1: (filters, input_dim, filter_length, 1).
			if k.shape[0] != t.filters || k.shape[2] != t.kernelSize[0] || k.shape[3] != 1 {
				return nil, fmt.Errorf("Keras 1 Conv1D kernel has shape %s, which fits neither Keras 1 layout for %d filters of length %d", k, t.filters, t.kernelSize[0])
			}
			k = transposeArray(k, []int{2, 3, 1, 0})
		}
		// (filter_length, 1, input_dim, filters) -> drop the 1.
		ws[0] = weightArray{shape: []int{k.shape[0], k.shape[2], k.shape[3]}, data: k.data}
	case "Conv2D":
		if t.dataFormat == "channels_first" {
			if err := wantRank(ws[0], 4, t.className); err != nil {
				return nil, err
			}
			ws[0] = transposeArray(ws[0], []int{2, 3, 1, 0})
		}
	case "Conv2DTranspose":
		if err := wantRank(ws[0], 4, t.className); err != nil {
			return nil, err
		}
		if t.dataFormat == "channels_first" {
			ws[0] = transposeArray(ws[0], []int{2, 3, 0, 1})
		} else {
			ws[0] = transposeArray(ws[0], []int{0, 1, 3, 2})
		}
	case "Conv3D":
		if t.dataFormat == "channels_first" {
			if err := wantRank(ws[0], 5, t.className); err != nil {
				return nil, err
			}
			ws[0] = transposeArray(ws[0], []int{2, 3, 4, 1, 0})
		}
	case "GRU":
		if len(ws) == 9 {
			return mergeKeras1Gates(ws, []int{0, 1, 2})
		}
	case "LSTM":
		if len(ws) == 12 {
			// Keras 1 stores the gates i, c, f, o; Keras 2 concatenates i, f, c, o.
			return mergeKeras1Gates(ws, []int{0, 2, 1, 3})
		}
	case "ConvLSTM2D":
		if len(ws) == 12 {
			merged, err := mergeKeras1Gates(ws, []int{0, 2, 1, 3})
			if err != nil {
				return nil, err
			}
			if t.dataFormat == "channels_first" {
				for i := 0; i < 2; i++ {
					if err := wantRank(merged[i], 4, t.className); err != nil {
						return nil, err
					}
					merged[i] = transposeArray(merged[i], []int{2, 3, 1, 0})
				}
			}
			return merged, nil
		}
	}
	return ws, nil
}

func wantRank(w weightArray, rank int, class string) error {
	if len(w.shape) != rank {
		return fmt.Errorf("Keras 1 %s kernel has shape %s, expected %d dimensions", class, w, rank)
	}
	return nil
}

// mergeKeras1Gates turns Keras 1's per-gate (W, U, b) triples into Keras
// 2's kernel, recurrent_kernel and bias, each the concatenation over the
// last axis of the gates taken in the given order (gate g's triple starts
// at ws[3*g]).
func mergeKeras1Gates(ws []weightArray, order []int) ([]weightArray, error) {
	out := make([]weightArray, 3)
	for part := 0; part < 3; part++ {
		pieces := make([]weightArray, len(order))
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
func convertRNNWeights(t legacyTarget, ws []weightArray) ([]weightArray, error) {
	if len(ws) != 3 {
		return ws, nil
	}
	rk, bias := ws[1], ws[2]
	if len(rk.shape) != 2 {
		return ws, nil
	}
	units := rk.shape[0]
	switch t.className {
	case "LSTM", "CuDNNLSTM":
		const gates = 4
		var source string
		switch {
		case sameShape(bias.shape, []int{2 * units * gates}):
			source = "CuDNNLSTM"
		case sameShape(bias.shape, []int{units * gates}):
			source = "LSTM"
		default:
			return nil, fmt.Errorf("%s: invalid bias shape %s for %d units", t.className, bias, units)
		}
		if source == t.className {
			return ws, nil
		}
		return convertCuDNNWeights(ws, gates, source == "CuDNNLSTM", true)
	case "GRU", "CuDNNGRU":
		const gates = 3
		var source string
		switch {
		case sameShape(bias.shape, []int{2 * units * gates}):
			source = "CuDNNGRU"
		case sameShape(bias.shape, []int{2, units * gates}):
			source = "GRU(reset_after=True)"
		case sameShape(bias.shape, []int{units * gates}):
			source = "GRU(reset_after=False)"
		default:
			return nil, fmt.Errorf("%s: invalid bias shape %s for %d units", t.className, bias, units)
		}
		target := "CuDNNGRU"
		if t.className == "GRU" {
			target = "GRU(reset_after=False)"
			if t.resetAfter {
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
func convertCuDNNWeights(ws []weightArray, gates int, fromCuDNN, lstm bool) ([]weightArray, error) {
	k, rk, b := ws[0], ws[1], ws[2]
	if len(k.shape) != 2 || k.shape[1]%gates != 0 || rk.shape[1]%gates != 0 {
		return nil, fmt.Errorf("recurrent kernels of shapes %s and %s do not split into %d gates", k, rk, gates)
	}
	kernel := mapGates(k, gates, func(g weightArray) weightArray { return reorderInputKernel(g, fromCuDNN) })
	recurrent := mapGates(rk, gates, func(g weightArray) weightArray { return transposeArray(g, []int{1, 0}) })
	var bias weightArray
	switch {
	case lstm && fromCuDNN:
		half := len(b.data) / 2
		bias = weightArray{shape: []int{half}, data: make([]float32, half)}
		for i := range half {
			bias.data[i] = b.data[i] + b.data[half+i]
		}
	case lstm:
		n := len(b.data)
		bias = weightArray{shape: []int{2 * n}, data: make([]float32, 2*n)}
		for i, v := range b.data {
			bias.data[i], bias.data[n+i] = 0.5*v, 0.5*v
		}
	case fromCuDNN:
		bias = weightArray{shape: []int{2, len(b.data) / 2}, data: b.data}
	default:
		bias = weightArray{shape: []int{len(b.data)}, data: b.data}
	}
	return []weightArray{kernel, recurrent, bias}, nil
}

// mapGates splits a 2-D array into equal column blocks (numpy's hsplit),
// applies f to each and stacks the results side by side again (hstack).
func mapGates(w weightArray, gates int, f func(weightArray) weightArray) weightArray {
	rows, cols := w.shape[0], w.shape[1]
	width := cols / gates
	blocks := make([]weightArray, gates)
	for g := range gates {
		blk := weightArray{shape: []int{rows, width}, data: make([]float32, rows*width)}
		for r := range rows {
			copy(blk.data[r*width:(r+1)*width], w.data[r*cols+g*width:r*cols+(g+1)*width])
		}
		blocks[g] = f(blk)
	}
	out, _ := concatLastAxis(blocks) // blocks have equal row counts by construction
	return out
}

// reorderInputKernel is Keras's transpose_input: kernel.T reshaped to the
// kernel's own shape, reading and filling in Fortran order when converting
// from cuDNN and in C order when converting to it.
func reorderInputKernel(k weightArray, fromCuDNN bool) weightArray {
	r, c := k.shape[0], k.shape[1]
	t := transposeArray(k, []int{1, 0}) // shape (c, r)
	if !fromCuDNN {
		return weightArray{shape: []int{r, c}, data: t.data}
	}
	out := weightArray{shape: []int{r, c}, data: make([]float32, r*c)}
	// Element n of t in Fortran order is t[n%c][n/c]; it goes to out's
	// Fortran position n, out[n%r][n/r].
	for n := 0; n < r*c; n++ {
		out.data[(n%r)*c+n/r] = t.data[(n%c)*r+n/c]
	}
	return out
}

// concatLastAxis concatenates arrays of equal leading dimensions along
// their last axis.
func concatLastAxis(ws []weightArray) (weightArray, error) {
	if len(ws) == 0 {
		return weightArray{}, fmt.Errorf("nothing to concatenate")
	}
	lead := ws[0].shape[:len(ws[0].shape)-1]
	outer := runtime.ShapeSize(lead)
	total := 0
	for _, w := range ws {
		if len(w.shape) != len(ws[0].shape) || !sameShape(w.shape[:len(w.shape)-1], lead) {
			return weightArray{}, fmt.Errorf("cannot concatenate arrays of shapes %s and %s", ws[0], w)
		}
		total += w.shape[len(w.shape)-1]
	}
	out := weightArray{shape: append(append([]int(nil), lead...), total), data: make([]float32, outer*total)}
	off := 0
	for _, w := range ws {
		n := w.shape[len(w.shape)-1]
		for o := range outer {
			copy(out.data[o*total+off:o*total+off+n], w.data[o*n:(o+1)*n])
		}
		off += n
	}
	return out, nil
}

// transposeArray permutes the axes of w (numpy's transpose).
func transposeArray(w weightArray, perm []int) weightArray {
	rank := len(w.shape)
	outShape := make([]int, rank)
	for i, p := range perm {
		outShape[i] = w.shape[p]
	}
	inStrides := make([]int, rank)
	s := 1
	for i := rank - 1; i >= 0; i-- {
		inStrides[i] = s
		s *= w.shape[i]
	}
	out := weightArray{shape: outShape, data: make([]float32, len(w.data))}
	idx := make([]int, rank)
	for n := range out.data {
		src := 0
		for i := range rank {
			src += idx[i] * inStrides[perm[i]]
		}
		out.data[n] = w.data[src]
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
func flipKernel(w weightArray) (weightArray, error) {
	rank := len(w.shape)
	if rank < 3 || rank > 5 {
		return weightArray{}, fmt.Errorf("cannot flip a convolution kernel of shape %s", w)
	}
	strides := make([]int, rank)
	s := 1
	for i := rank - 1; i >= 0; i-- {
		strides[i] = s
		s *= w.shape[i]
	}
	out := weightArray{shape: append([]int(nil), w.shape...), data: make([]float32, len(w.data))}
	idx := make([]int, rank)
	for n := range out.data {
		src := 0
		for i := range rank {
			j := idx[i]
			if i < rank-2 {
				j = w.shape[i] - 1 - j
			}
			src += j * strides[i]
		}
		out.data[n] = w.data[src]
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < w.shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, nil
}
