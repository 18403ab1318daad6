package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/runtime"
)

// The inference graph. A forward pass without training and without
// gradients (Predict, Evaluate) runs a rewritten copy of a model's graph
// in which a convolution, its BatchNormalization and its activation are
// one node:
//
//	[ZeroPadding ->] Conv/DepthwiseConv (linear) -> BatchNormalization -> activation
//
// (any but the convolution may be missing; the activation is one inPlace
// accepts: relu, relu6, ReLU(max_value), silu/swish, hard_silu/hard_swish,
// sigmoid, tanh). A ZeroPadding read only by the convolution becomes part
// of the convolution's own padding: the kernels skip the zero taps
// instead of reading a padded copy. The BatchNormalization is folded into
// the convolution's weights, as its inference formula y = z*scale + shift
// allows: kernel*scale per output channel, bias*scale + shift. The
// activation is computed in the kernel's epilogue where the kernel can
// (Conv: any of them, on each finished tile; DepthwiseConv: the clamps,
// in its store), else in one pass in place over the output. The results
// differ from the unfused graph's by float32 rounding only. Training and
// gradients keep the graph as Keras builds it; the folded weights are
// derived copies, rebuilt whenever one of the variables they come from
// changes (Touch).

// foldable is a layer computing z = linear(x; kernel) + bias per output
// channel, whose kernel's output channel is the fastest-varying one
// (flat index mod the channel count).
type foldable interface {
	Layer
	// foldInfo returns the kernel and bias (nil when none), the number of
	// output channels, their axis in an output of rank rank, and whether
	// the layer's own activation is linear (only then can anything fold
	// in).
	foldInfo() (kernel, bias *runtime.Variable, channels, axis, rank int, linear bool)
	// actInKernel says whether the copy withWeights makes computes act
	// inside its kernel (else the fused node applies it after).
	actInKernel(act *activation) bool
	// withWeights returns a copy of the layer computing with kernel, bias
	// and act in place of its own.
	withWeights(kernel, bias *runtime.Variable, act *activation) Layer
}

// zeroMergeable is a convolution that can take the zeros of a ZeroPadding
// before it into its own padding.
type zeroMergeable interface {
	foldable
	// withZeros returns a copy of the layer that first pads its input with
	// zeros[i] = (before, after) along spatial axis i, as ZeroPadding of
	// that data format does; false when it cannot.
	withZeros(zeros [][2]int, channelsFirst bool) (Layer, bool)
}

// zerosArgs returns the layer's window arguments with the zeros of a
// ZeroPadding merged in, or false when they do not apply to it.
func (l *BaseConv) zerosArgs(zeros [][2]int, channelsFirst bool) (windowArgs, bool) {
	a := l.args
	if a.zeros != nil || len(zeros) != a.rank || channelsFirst != a.channelsFirst {
		return a, false
	}
	for _, z := range zeros {
		if z[0] < 0 || z[1] < 0 {
			return a, false
		}
	}
	a.zeros = append([][2]int(nil), zeros...)
	return a, true
}

// fusedLayer is the inference node of a foldable layer with the
// BatchNormalization and the clamp activation that follow it.
type fusedLayer struct {
	src  foldable
	bn   *BatchNormalization // nil when none
	act  *activation         // elementwise activation, nil when none
	post *activation         // act when src does not compute it itself
	vars []*runtime.Variable
	cur  runtime.Packed[Layer]
}

func newFusedLayer(src foldable, bn *BatchNormalization, act *activation) *fusedLayer {
	f := &fusedLayer{src: src, bn: bn, act: act}
	kernel, bias, _, _, _, _ := src.foldInfo()
	if act != nil && !src.actInKernel(act) {
		f.post = act
	}
	vs := []*runtime.Variable{kernel, bias}
	if bn != nil {
		vs = append(vs, bn.Gamma, bn.Beta, bn.MovingMean, bn.MovingVariance)
	}
	for _, v := range vs {
		if v != nil {
			f.vars = append(f.vars, v)
		}
	}
	return f
}

// layer returns the copy of src with the folded weights of the variables'
// current values.
func (f *fusedLayer) layer() Layer {
	return f.cur.Get(func() Layer {
		kernel, bias, _, _, _, _ := f.src.foldInfo()
		act := activations["linear"]
		if f.act != nil && f.post == nil {
			act = f.act
		}
		if f.bn == nil {
			return f.src.withWeights(kernel, bias, act)
		}
		scale, shift := f.bn.affine()
		c := len(scale)
		k := make([]float32, len(kernel.Value.Data))
		for i, w := range kernel.Value.Data {
			k[i] = w * scale[i%c]
		}
		b := make([]float32, c)
		for j := range b {
			var bj float32
			if bias != nil {
				bj = bias.Value.Data[j]
			}
			b[j] = bj*scale[j] + shift[j]
		}
		kv := &runtime.Variable{Name: kernel.Name, Value: &runtime.Tensor{Shape: copyShape(kernel.Value.Shape), Data: k}}
		bv := &runtime.Variable{Name: "bias", Value: &runtime.Tensor{Shape: []int{c}, Data: b}}
		return f.src.withWeights(kv, bv, act)
	}, f.vars...)
}

// Forward runs the folded layer, then the activation it does not compute,
// in place.
func (f *fusedLayer) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	if ctx.Grad {
		return nil, nil, fmt.Errorf("the inference graph has no backward pass")
	}
	out, _, err := f.layer().Forward(ctx, in)
	if err != nil || f.post == nil {
		return out, nil, err
	}
	y := out[0].Data
	f.post.forward(y, y, out[0].Shape[len(out[0].Shape)-1])
	return out, nil, nil
}

// inPlace reports whether a is elementwise and may write its output over
// its input: the clamps (relu, relu6, ReLU(max_value)) and the activations
// on the vectorized kernels.
func inPlace(a *activation) bool {
	if a == nil {
		return false
	}
	if a.clamp != nil {
		return true
	}
	for _, name := range []string{"silu", "hard_silu", "sigmoid", "tanh"} {
		if a == activations[name] {
			return true
		}
	}
	return false
}

// fusibleActivation returns the activation a node's op applies when it is
// one inPlace accepts (ReLU without slope or threshold, Activation), or
// nil.
func fusibleActivation(op runtime.Op) *activation {
	var a *activation
	switch l := op.(type) {
	case *ReLU:
		a = l.act
	case *Activation:
		a = l.Activation
	}
	if !inPlace(a) {
		return nil
	}
	return a
}

// foldableBN reports whether bn normalizes the channels of src's output.
func foldableBN(op runtime.Op, channels, axis, rank int) (*BatchNormalization, bool) {
	bn, ok := op.(*BatchNormalization)
	if !ok || bn.MovingMean == nil {
		return nil, false
	}
	a, ok := normalizeAxis(bn.Axis, rank)
	return bn, ok && a == axis && bn.MovingMean.Value.Shape[0] == channels && !math.IsNaN(bn.Epsilon)
}

// inferenceGraph rewrites g for inference (see above); it returns g itself
// when nothing fuses.
func inferenceGraph(g *runtime.Graph) (*runtime.Graph, error) {
	readers := make([]int, g.NumValues)
	reader := make([]int, g.NumValues)
	for i, n := range g.Nodes {
		for _, v := range n.In {
			readers[v]++
			reader[v] = i
		}
	}
	for _, v := range g.Outputs {
		readers[v]++
		reader[v] = -1
	}
	// next returns the node that alone reads node n's only output.
	next := func(n *runtime.Node) (int, bool) {
		if len(n.Out) != 1 || readers[n.Out[0]] != 1 || reader[n.Out[0]] < 0 {
			return 0, false
		}
		j := reader[n.Out[0]]
		nj := &g.Nodes[j]
		if len(nj.In) != 1 || len(nj.Out) != 1 {
			return 0, false
		}
		if _, masked := nj.Op.(runtime.MaskedOp); masked {
			return 0, false
		}
		return j, true
	}
	nodes := append([]runtime.Node(nil), g.Nodes...)
	removed := make([]bool, len(nodes))
	fused := 0
	// ZeroPadding -> convolution: the convolution pads by itself.
	for i := range nodes {
		n := &nodes[i]
		pad, ok := n.Op.(*gatherLayer)
		if !ok || pad.zeros == nil || len(n.In) != 1 || n.Mask != nil {
			continue
		}
		j, ok := next(n)
		if !ok || nodes[j].Mask != nil {
			continue
		}
		conv, ok := nodes[j].Op.(zeroMergeable)
		if !ok {
			continue
		}
		merged, ok := conv.withZeros(pad.zeros, pad.ChannelsFirst)
		if !ok {
			continue
		}
		nodes[j] = runtime.Node{Name: n.Name + " + " + nodes[j].Name, Op: merged, In: n.In, Out: nodes[j].Out}
		removed[i] = true
		fused++
	}
	for i := range nodes {
		n := &nodes[i]
		src, ok := n.Op.(foldable)
		if !ok || removed[i] || len(n.In) != 1 || len(n.Out) != 1 || n.Mask != nil {
			continue
		}
		_, _, channels, axis, rank, linear := src.foldInfo()
		if !linear {
			continue
		}
		last := n
		name := n.Name
		var bn *BatchNormalization
		if j, ok := next(last); ok {
			if b, ok := foldableBN(nodes[j].Op, channels, axis, rank); ok {
				bn, removed[j], last = b, true, &nodes[j]
				name += " + " + nodes[j].Name
			}
		}
		var act *activation
		if j, ok := next(last); ok {
			if a := fusibleActivation(nodes[j].Op); a != nil {
				act, removed[j], last = a, true, &nodes[j]
				name += " + " + nodes[j].Name
			}
		}
		if bn == nil && act == nil {
			continue
		}
		nodes[i] = runtime.Node{Name: name, Op: newFusedLayer(src, bn, act), In: n.In, Out: last.Out}
		fused++
	}
	if fused == 0 {
		return g, nil
	}
	out := &runtime.Graph{NumValues: g.NumValues, Inputs: g.Inputs, Outputs: g.Outputs}
	for i, n := range nodes {
		if !removed[i] {
			out.Nodes = append(out.Nodes, n)
		}
	}
	if err := out.Finish(); err != nil {
		return nil, err
	}
	return out, nil
}
