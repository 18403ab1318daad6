package layers

import (
	"fmt"
	"maps"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// Bidirectional is keras.layers.Bidirectional: a recurrent layer run
// forward and a copy run backwards over the same sequences, their outputs
// merged by merge_mode (concat, sum, mul, ave, or None for both outputs).
// Its weights are the forward layer's, then the backward layer's. Initial
// states, when given, are the forward layer's then the backward layer's.
type Bidirectional struct {
	Base
	MergeMode     string // "" for None
	ForwardLayer  *RNN
	BackwardLayer *RNN
}

func init() {
	Register("Bidirectional", newBidirectional, Supports{Inference: true, Training: true})
}

// wrappedLayer builds the layer a wrapper's configuration holds under
// key, renamed and with the given configuration overrides.
func wrappedLayer(spec *kerasjson.Layer, key, name string, overrides map[string]any) (Layer, error) {
	o, err := spec.Config.Object(key)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("layer %s (%s): no %s in the configuration", spec.Name, spec.ClassName, key)
	}
	cfg := maps.Clone(o.Config)
	maps.Copy(cfg, overrides)
	if name == "" {
		name, _ = cfg.String("name", "")
	}
	cfg["name"] = name
	inner := &kerasjson.Layer{ClassName: o.ClassName, Module: o.Module, RegisteredName: o.RegisteredName, Name: name, Config: cfg}
	f, ok := Lookup(inner)
	if !ok {
		return nil, fmt.Errorf("layer %s (%s): wrapped layer class %s is not supported", spec.Name, spec.ClassName, o.ClassName)
	}
	return f(inner)
}

func newBidirectional(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &Bidirectional{Base: b}
	if v, ok := spec.Config["merge_mode"]; !ok {
		l.MergeMode = "concat"
	} else if v != nil {
		if l.MergeMode, err = spec.Config.String("merge_mode", "concat"); err != nil {
			return nil, err
		}
	}
	switch l.MergeMode {
	case "concat", "sum", "mul", "ave", "":
	default:
		return nil, ShapeError(&l.Base, "unknown merge_mode %q", l.MergeMode)
	}
	o, err := spec.Config.Object("layer")
	if err != nil || o == nil {
		return nil, fmt.Errorf("layer %s (Bidirectional): no wrapped layer: %v", spec.Name, err)
	}
	innerName, _ := o.Config.String("name", "")
	goBack, err := o.Config.Bool("go_backwards", false)
	if err != nil {
		return nil, err
	}
	fw, err := wrappedLayer(spec, "layer", "forward_"+trimPrefix(innerName, "forward_"), nil)
	if err != nil {
		return nil, err
	}
	var bw Layer
	if bo, _ := spec.Config.Object("backward_layer"); bo != nil {
		bw, err = wrappedLayer(spec, "backward_layer", "", nil)
	} else {
		// As tf.keras does: the copy runs in the other direction.
		bw, err = wrappedLayer(spec, "layer", "backward_"+trimPrefix(innerName, "backward_"), map[string]any{"go_backwards": !goBack})
	}
	if err != nil {
		return nil, err
	}
	var ok bool
	if l.ForwardLayer, ok = fw.(*RNN); !ok {
		return nil, ShapeError(&l.Base, "wraps %s, which is not a recurrent layer", fw.Common().ClassName)
	}
	if l.BackwardLayer, ok = bw.(*RNN); !ok {
		return nil, ShapeError(&l.Base, "backward_layer %s is not a recurrent layer", bw.Common().ClassName)
	}
	if l.ForwardLayer.ReturnSequences != l.BackwardLayer.ReturnSequences || l.ForwardLayer.ReturnState != l.BackwardLayer.ReturnState ||
		l.ForwardLayer.GoBackwards == l.BackwardLayer.GoBackwards {
		return nil, ShapeError(&l.Base, "forward and backward layers must agree on return_sequences and return_state and run in opposite directions")
	}
	for _, r := range []*RNN{l.ForwardLayer, l.BackwardLayer} {
		// Keras forces zero outputs at masked steps of returned sequences.
		r.ZeroOutputForMask = r.ReturnSequences
	}
	return l, nil
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// Children returns the forward and backward layers.
func (l *Bidirectional) Children() []Layer { return []Layer{l.ForwardLayer, l.BackwardLayer} }

// TrackedChildren returns forward_layer and backward_layer.
func (l *Bidirectional) TrackedChildren() []NamedChild {
	return []NamedChild{{"forward_layer", l.ForwardLayer}, {"backward_layer", l.BackwardLayer}}
}

// TensorKwargs names the call argument whose tensors follow the sequences.
func (l *Bidirectional) TensorKwargs() []string { return []string{"initial_state"} }

// Weights returns nothing: the weights are the wrapped layers'.
func (l *Bidirectional) Weights() []*runtime.Variable { return nil }

// splitStates splits the inputs into the forward and backward layers'.
func (l *Bidirectional) splitStates(n int) (int, error) {
	if n == 1 {
		return 0, nil
	}
	ns := numStates(l.ForwardLayer.Cell)
	if n-1 != 2*ns {
		return 0, ShapeError(&l.Base, "takes the sequences and %d initial states, got %d inputs", 2*ns, n)
	}
	return ns, nil
}

// Build builds both layers and returns the merged output shapes.
func (l *Bidirectional) Build(in [][]int) ([][]int, error) {
	ns, err := l.splitStates(len(in))
	if err != nil {
		return nil, err
	}
	fwIn, bwIn := [][]int{in[0]}, [][]int{in[0]}
	if ns > 0 {
		fwIn = append(fwIn, in[1:1+ns]...)
		bwIn = append(bwIn, in[1+ns:]...)
	}
	fo, err := l.ForwardLayer.Build(fwIn)
	if err != nil {
		return nil, err
	}
	bo, err := l.BackwardLayer.Build(bwIn)
	if err != nil {
		return nil, err
	}
	var out [][]int
	y, yr := fo[0], bo[0]
	switch l.MergeMode {
	case "":
		out = [][]int{y, yr}
	case "concat":
		s := copyShape(y)
		s[len(s)-1] = y[len(y)-1] + yr[len(yr)-1]
		out = [][]int{s}
	default:
		out = [][]int{copyShape(y)}
	}
	out = append(out, fo[1:]...)
	return append(out, bo[1:]...), nil
}

// Forward runs both directions without masks.
func (l *Bidirectional) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	out, _, back, err := l.ForwardMasked(ctx, in, nil)
	return out, back, err
}

// ForwardMasked runs both directions, reverses the backward layer's
// sequence back into time order and merges.
func (l *Bidirectional) ForwardMasked(ctx *runtime.Context, in, masks []*runtime.Tensor) ([]*runtime.Tensor, []*runtime.Tensor, runtime.Backward, error) {
	ns, err := l.splitStates(len(in))
	if err != nil {
		return nil, nil, nil, err
	}
	var mask *runtime.Tensor
	if len(masks) > 0 {
		mask = masks[0]
	}
	fwIn, bwIn := []*runtime.Tensor{in[0]}, []*runtime.Tensor{in[0]}
	if ns > 0 {
		fwIn = append(fwIn, in[1:1+ns]...)
		bwIn = append(bwIn, in[1+ns:]...)
	}
	fo, fback, err := l.ForwardLayer.run(ctx, fwIn, mask, l.Trainable && l.ForwardLayer.Trainable)
	if err != nil {
		return nil, nil, nil, err
	}
	bo, bback, err := l.BackwardLayer.run(ctx, bwIn, mask, l.Trainable && l.BackwardLayer.Trainable)
	if err != nil {
		return nil, nil, nil, err
	}
	seqs := l.ForwardLayer.ReturnSequences
	y := fo[0]
	yr := bo[0]
	if seqs {
		yr = reverseTime(yr)
	}
	var out []*runtime.Tensor
	switch l.MergeMode {
	case "":
		out = []*runtime.Tensor{y, yr}
	case "concat":
		out = []*runtime.Tensor{concatLast(y, yr)}
	default:
		m := runtime.NewTensor(y.Shape...)
		for i := range m.Data {
			a, b := y.Data[i], yr.Data[i]
			switch l.MergeMode {
			case "sum":
				m.Data[i] = a + b
			case "ave":
				m.Data[i] = (a + b) / 2
			case "mul":
				m.Data[i] = a * b
			}
		}
		out = []*runtime.Tensor{m}
	}
	nOut := len(out)
	out = append(out, fo[1:]...)
	out = append(out, bo[1:]...)
	var outMasks []*runtime.Tensor
	if mask != nil && seqs {
		outMasks = make([]*runtime.Tensor, len(out))
		for i := 0; i < nOut; i++ {
			outMasks[i] = mask
		}
	}
	if !ctx.Grad {
		return out, outMasks, nil, nil
	}
	nfs := len(fo) - 1
	back := func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		var gy, gyr *runtime.Tensor
		switch l.MergeMode {
		case "":
			gy, gyr = gout[0], gout[1]
		case "concat":
			if gout[0] != nil {
				gy, gyr = splitLast(gout[0], y.Shape[y.Rank()-1])
			}
		default:
			if g := gout[0]; g != nil {
				gy, gyr = runtime.NewTensor(y.Shape...), runtime.NewTensor(y.Shape...)
				for i, v := range g.Data {
					switch l.MergeMode {
					case "sum":
						gy.Data[i], gyr.Data[i] = v, v
					case "ave":
						gy.Data[i], gyr.Data[i] = v/2, v/2
					case "mul":
						gy.Data[i], gyr.Data[i] = v*yr.Data[i], v*y.Data[i]
					}
				}
			}
		}
		if gyr != nil && seqs {
			gyr = reverseTime(gyr)
		}
		fg := append([]*runtime.Tensor{gy}, gout[nOut:nOut+nfs]...)
		bg := append([]*runtime.Tensor{gyr}, gout[nOut+nfs:]...)
		gf, err := fback(fg)
		if err != nil {
			return nil, err
		}
		gb, err := bback(bg)
		if err != nil {
			return nil, err
		}
		gx := gf[0].Clone()
		for i, v := range gb[0].Data {
			gx.Data[i] += v
		}
		gin := []*runtime.Tensor{gx}
		gin = append(gin, gf[1:]...)
		return append(gin, gb[1:]...), nil
	}
	return out, outMasks, back, nil
}

// reverseTime flips axis 1 of a (batch, time, ...) tensor.
func reverseTime(x *runtime.Tensor) *runtime.Tensor {
	b, t := x.Shape[0], x.Shape[1]
	d := x.Size() / max(b*t, 1)
	y := runtime.NewTensor(x.Shape...)
	for i := 0; i < b; i++ {
		for s := 0; s < t; s++ {
			copy(y.Data[(i*t+s)*d:(i*t+s+1)*d], x.Data[(i*t+t-1-s)*d:(i*t+t-s)*d])
		}
	}
	return y
}

// concatLast concatenates two tensors of equal leading shape on the last
// axis.
func concatLast(a, b *runtime.Tensor) *runtime.Tensor {
	da, db := a.Shape[a.Rank()-1], b.Shape[b.Rank()-1]
	rows := a.Size() / da
	s := copyShape(a.Shape)
	s[len(s)-1] = da + db
	y := runtime.NewTensor(s...)
	for r := 0; r < rows; r++ {
		copy(y.Data[r*(da+db):], a.Data[r*da:(r+1)*da])
		copy(y.Data[r*(da+db)+da:], b.Data[r*db:(r+1)*db])
	}
	return y
}

// splitLast splits the last axis of g after da elements.
func splitLast(g *runtime.Tensor, da int) (*runtime.Tensor, *runtime.Tensor) {
	d := g.Shape[g.Rank()-1]
	db := d - da
	rows := g.Size() / d
	sa, sb := copyShape(g.Shape), copyShape(g.Shape)
	sa[len(sa)-1], sb[len(sb)-1] = da, db
	a, b := runtime.NewTensor(sa...), runtime.NewTensor(sb...)
	for r := 0; r < rows; r++ {
		copy(a.Data[r*da:(r+1)*da], g.Data[r*d:r*d+da])
		copy(b.Data[r*db:(r+1)*db], g.Data[r*d+da:(r+1)*d])
	}
	return a, b
}
