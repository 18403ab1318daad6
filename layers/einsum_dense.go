package layers

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// EinsumDense is keras.layers.EinsumDense: activation(einsum(equation,
// input, kernel) + bias). The equation is "X,Y->Z", "...X,Y->...Z" or
// "X...,Y->Z..."; output_shape gives the output's non-batch dimensions
// (None where taken from the input); bias_axes names the output letters
// the bias spans. Weights: kernel, bias.
type EinsumDense struct {
	Base
	Equation    string
	OutputShape []int // partial output shape, -1 for None
	BiasAxes    string
	Activation  *activation
	Kernel      *runtime.Variable
	Bias        *runtime.Variable
}

func init() { Register("EinsumDense", newEinsumDense, Supports{Inference: true, Training: true}) }

func newEinsumDense(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &EinsumDense{Base: b}
	c := spec.Config
	if l.Equation, err = c.String("equation", ""); err != nil {
		return nil, err
	}
	if _, err := parseEinsum(l.Equation, 0); err != nil {
		return nil, ShapeError(&l.Base, "%v", err)
	}
	switch v := c["output_shape"].(type) {
	case []any:
		if l.OutputShape, _, err = c.Shape("output_shape"); err != nil {
			return nil, err
		}
	case nil:
		return nil, ShapeError(&l.Base, "config has no output_shape")
	default:
		n, err := c.Int("output_shape", 0)
		if err != nil {
			return nil, fmt.Errorf("config \"output_shape\": %v", v)
		}
		l.OutputShape = []int{n}
	}
	if l.BiasAxes, err = c.String("bias_axes", ""); err != nil {
		return nil, err
	}
	act, err := c.Object("activation")
	if err != nil {
		return nil, err
	}
	if l.Activation, err = lookupActivation(act); err != nil {
		return nil, err
	}
	if l.Activation.halves {
		return nil, ShapeError(&l.Base, "activation glu is not supported here")
	}
	if c.Has("lora_rank") || c.Has("quantization_config") {
		return nil, ShapeError(&l.Base, "lora_rank and quantization_config are not supported")
	}
	return l, nil
}

// einsumSpec is an equation with its ellipsis expanded into letters.
type einsumSpec struct {
	in, kernel, out string
	leftElided      bool
	elided          int
}

var (
	einsumPlain = regexp.MustCompile(`^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$`)
	einsumLeft  = regexp.MustCompile(`^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$`)
	einsumRight = regexp.MustCompile(`^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$`)
)

// parseEinsum splits the equation and, for an input of rank (0 when not
// known yet), expands "..." into fresh letters.
func parseEinsum(eq string, rank int) (*einsumSpec, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	s := &einsumSpec{}
	var m []string
	switch {
	case einsumPlain.MatchString(eq):
		m = einsumPlain.FindStringSubmatch(eq)
	case einsumLeft.MatchString(eq):
		m = einsumLeft.FindStringSubmatch(eq)
		s.leftElided = true
	case einsumRight.MatchString(eq):
		m = einsumRight.FindStringSubmatch(eq)
	default:
		return nil, fmt.Errorf("invalid einsum equation %q: want [X],[Y]->[Z], ...[X],[Y]->...[Z] or [X]...,[Y]->[Z]...", eq)
	}
	s.in, s.kernel, s.out = m[1], m[2], m[3]
	if !strings.Contains(eq, "...") || rank == 0 {
		return s, nil
	}
	s.elided = rank - len(s.in)
	if s.elided < 0 {
		return nil, fmt.Errorf("equation %q needs rank >= %d inputs", eq, len(s.in))
	}
	var fresh []byte
	for c := byte('A'); c <= 'Z' && len(fresh) < s.elided; c++ {
		if !strings.ContainsRune(s.in+s.kernel+s.out, rune(c)) {
			fresh = append(fresh, c)
		}
	}
	if len(fresh) < s.elided {
		return nil, fmt.Errorf("equation %q: too many elided axes", eq)
	}
	if s.leftElided {
		s.in, s.out = string(fresh)+s.in, string(fresh)+s.out
	} else {
		s.in, s.out = s.in+string(fresh), s.out+string(fresh)
	}
	return s, nil
}

// shapes returns the letter sizes, kernel, bias (nil when none) and
// output shapes for an input shape, as Keras's _analyze_split_string.
func (l *EinsumDense) shapes(in []int) (sizes map[byte]int, kernel, bias, out []int, err error) {
	s, err := parseEinsum(l.Equation, len(in))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if len(s.in) != len(in) {
		return nil, nil, nil, nil, fmt.Errorf("equation %q does not fit input %s", l.Equation, runtime.FormatShape(in))
	}
	// Output: batch, the partial output shape, and elided input axes.
	out = append([]int{in[0]}, l.OutputShape...)
	if s.elided > 0 && s.leftElided {
		out = append(append([]int{in[0]}, in[1:s.elided]...), l.OutputShape...)
	} else if s.elided > 0 {
		// Keras appends the elided input axes to output_shape, which for
		// "X...,Y->Z..." may already list them: only the explicit letters
		// take their size from output_shape.
		explicit := len(s.out) - s.elided - 1
		if explicit < 0 || explicit > len(l.OutputShape) {
			return nil, nil, nil, nil, fmt.Errorf("output_shape %v does not fit equation %q", l.OutputShape, l.Equation)
		}
		out = append(append([]int{in[0]}, l.OutputShape[:explicit]...), in[len(in)-s.elided:]...)
	}
	if len(out) != len(s.out) {
		return nil, nil, nil, nil, fmt.Errorf("output_shape %v does not fit equation %q", l.OutputShape, l.Equation)
	}
	sizes = map[byte]int{}
	for i := range s.in {
		sizes[s.in[i]] = in[i]
	}
	for i := range s.out {
		c := s.out[i]
		if d, ok := sizes[c]; ok && out[i] >= 0 && d >= 0 && d != out[i] {
			return nil, nil, nil, nil, fmt.Errorf("input and output shape differ at shared dimension %q: %d vs %d", c, d, out[i])
		}
		if out[i] < 0 {
			out[i] = sizes[c]
			if _, ok := sizes[c]; !ok {
				out[i] = -1
			}
		}
		if _, ok := sizes[c]; !ok || sizes[c] < 0 {
			sizes[c] = out[i]
		}
	}
	for i := range s.kernel {
		c := s.kernel[i]
		d, ok := sizes[c]
		if !ok {
			return nil, nil, nil, nil, fmt.Errorf("weight dimension %q has no match in the input or output spec", c)
		}
		if d < 0 {
			return nil, nil, nil, nil, fmt.Errorf("weight dimension %q must be known", c)
		}
		kernel = append(kernel, d)
	}
	if l.BiasAxes != "" {
		first := len(s.out)
		for _, c := range l.BiasAxes {
			i := strings.IndexRune(s.out, c)
			if i < 0 {
				return nil, nil, nil, nil, fmt.Errorf("bias dimension %q is not part of the output spec %q", c, s.out)
			}
			first = min(first, i)
		}
		// Keras builds the bias over the output spec from the first bias
		// letter on, size 1 where not a bias axis (elided axes included).
		for i := first; i < len(s.out); i++ {
			if strings.IndexByte(l.BiasAxes, s.out[i]) >= 0 {
				bias = append(bias, sizes[s.out[i]])
			} else {
				bias = append(bias, 1)
			}
		}
	}
	return sizes, kernel, bias, out, nil
}

// Build creates kernel and bias.
func (l *EinsumDense) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	_, kernel, bias, out, err := l.shapes(s)
	if err != nil {
		return nil, ShapeError(&l.Base, "%v", err)
	}
	if l.Kernel == nil {
		l.Kernel = &runtime.Variable{Name: "kernel", Value: runtime.NewTensor(kernel...), Trainable: true}
		if bias != nil {
			l.Bias = &runtime.Variable{Name: "bias", Value: runtime.NewTensor(bias...), Trainable: true}
		}
	} else if !equalShapes(l.Kernel.Value.Shape, kernel) {
		return nil, ShapeError(&l.Base, "built for kernel %s, called on %s", runtime.FormatShape(l.Kernel.Value.Shape), runtime.FormatShape(s))
	}
	return [][]int{out}, nil
}

// Weights returns kernel and bias.
func (l *EinsumDense) Weights() []*runtime.Variable {
	if l.Bias == nil {
		return []*runtime.Variable{l.Kernel}
	}
	return []*runtime.Variable{l.Kernel, l.Bias}
}

// einsumStrides gives, for each letter of letters, the stride of operand
// spec (0 when the operand does not have it).
func einsumStrides(letters, spec string, shape []int) []int {
	st := rowMajorStrides(shape)
	out := make([]int, len(letters))
	for i := range letters {
		if j := strings.IndexByte(spec, letters[i]); j >= 0 {
			out[i] = st[j]
		}
	}
	return out
}

// Forward computes the contraction, bias and activation.
func (l *EinsumDense) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	sizes, kernel, _, outShape, err := l.shapes(x.Shape)
	if err != nil {
		return nil, nil, ShapeError(&l.Base, "%v", err)
	}
	if !equalShapes(kernel, l.Kernel.Value.Shape) {
		return nil, nil, ShapeError(&l.Base, "built for kernel %s, called on %s", runtime.FormatShape(l.Kernel.Value.Shape), runtime.FormatShape(x.Shape))
	}
	s, _ := parseEinsum(l.Equation, x.Rank())
	// Every letter once, and the joint index space over all of them.
	var letters []byte
	var dims []int
	for _, c := range []byte(s.in + s.kernel + s.out) {
		if strings.IndexByte(string(letters), c) < 0 {
			letters = append(letters, c)
			dims = append(dims, sizes[c])
		}
	}
	ls := string(letters)
	xs, ks, os := einsumStrides(ls, s.in, x.Shape), einsumStrides(ls, s.kernel, kernel), einsumStrides(ls, s.out, outShape)
	k := l.Kernel.Value.Data
	z := runtime.NewTensor(outShape...)
	forEachJoint(dims, xs, ks, os, func(xi, ki, oi int) { z.Data[oi] += x.Data[xi] * k[ki] })
	var biasShape []int
	if l.Bias != nil {
		biasShape = append(repeatInt(1, len(outShape)-l.Bias.Value.Rank()), l.Bias.Value.Shape...)
		b := broadcastTo(l.Bias.Value.Data, biasShape, outShape)
		for i, v := range b {
			z.Data[i] += v
		}
	}
	last := 1
	if len(outShape) > 0 {
		last = outShape[len(outShape)-1]
	}
	y := &runtime.Tensor{Shape: outShape, Data: l.Activation.apply(z.Data, last)}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		gz := activationGrad(l.Activation, z.Data, y.Data, gout[0].Data, last)
		gx := runtime.NewTensor(x.Shape...)
		var gk *runtime.Tensor
		if l.Base.Trainable {
			gk = runtime.NewTensor(kernel...)
		}
		forEachJoint(dims, xs, ks, os, func(xi, ki, oi int) {
			g := gz[oi]
			gx.Data[xi] += g * k[ki]
			if gk != nil {
				gk.Data[ki] += g * x.Data[xi]
			}
		})
		if gk != nil {
			ctx.AccumulateGrad(l.Kernel, gk)
			if l.Bias != nil {
				ctx.AccumulateGrad(l.Bias, &runtime.Tensor{Shape: copyShape(l.Bias.Value.Shape), Data: unbroadcast(gz, biasShape, outShape)})
			}
		}
		return []*runtime.Tensor{gx}, nil
	}, nil
}

// forEachJoint walks the joint index space dims and calls f with the
// offsets of the three operands.
func forEachJoint(dims, as, bs, cs []int, f func(a, b, c int)) {
	n := runtime.ShapeSize(dims)
	if n == 0 {
		return
	}
	idx := make([]int, len(dims))
	a, b, c := 0, 0, 0
	for range n {
		f(a, b, c)
		for i := len(dims) - 1; i >= 0; i-- {
			idx[i]++
			a, b, c = a+as[i], b+bs[i], c+cs[i]
			if idx[i] < dims[i] {
				break
			}
			a, b, c = a-as[i]*dims[i], b-bs[i]*dims[i], c-cs[i]*dims[i]
			idx[i] = 0
		}
	}
}
