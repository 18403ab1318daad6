package layers

import (
	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// GroupNormalization is keras.layers.GroupNormalization: the channels of
// axis are split into groups (-1: one per channel) and each sample's group
// is normalized over its channels and all other non-batch axes, then
// scaled by gamma and shifted by beta per channel.
type GroupNormalization struct {
	Base
	Groups        int
	Axis          int
	Epsilon       float64
	Center, Scale bool
	Gamma, Beta   *runtime.Variable
}

func init() {
	Register("GroupNormalization", newGroupNormalization, Supports{Inference: true, Training: true})
}

func newGroupNormalization(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &GroupNormalization{Base: b}
	c := spec.Config
	if l.Groups, err = c.Int("groups", 32); err != nil {
		return nil, err
	}
	if l.Groups <= 0 && l.Groups != -1 {
		return nil, ShapeError(&l.Base, "groups must be positive or -1, got %d", l.Groups)
	}
	if l.Axis, err = c.Int("axis", -1); err != nil {
		return nil, err
	}
	if l.Epsilon, err = c.Float("epsilon", 1e-3); err != nil {
		return nil, err
	}
	if l.Center, err = c.Bool("center", true); err != nil {
		return nil, err
	}
	if l.Scale, err = c.Bool("scale", true); err != nil {
		return nil, err
	}
	return l, nil
}

// groupLayout returns the channel axis, the channel count and the groups.
func (l *GroupNormalization) groupLayout(s []int) (axis, c, groups int, err error) {
	axis, ok := normalizeAxis(l.Axis, len(s))
	if !ok || axis == 0 {
		return 0, 0, 0, ShapeError(&l.Base, "axis %d is invalid for input %s", l.Axis, runtime.FormatShape(s))
	}
	c = s[axis]
	if c < 0 {
		return 0, 0, 0, ShapeError(&l.Base, "axis %d of input %s must be known", l.Axis, runtime.FormatShape(s))
	}
	groups = l.Groups
	if groups == -1 {
		groups = c
	}
	if groups > c || c%groups != 0 {
		return 0, 0, 0, ShapeError(&l.Base, "number of groups (%d) must divide the number of channels (%d)", groups, c)
	}
	return axis, c, groups, nil
}

// Build creates gamma and beta.
func (l *GroupNormalization) Build(in [][]int) ([][]int, error) {
	s, err := single(&l.Base, in)
	if err != nil {
		return nil, err
	}
	_, c, _, err := l.groupLayout(s)
	if err != nil {
		return nil, err
	}
	if l.Gamma == nil && l.Beta == nil {
		if l.Scale {
			g := runtime.NewTensor(c)
			for i := range g.Data {
				g.Data[i] = 1
			}
			l.Gamma = &runtime.Variable{Name: "gamma", Value: g, Trainable: true}
		}
		if l.Center {
			l.Beta = &runtime.Variable{Name: "beta", Value: runtime.NewTensor(c), Trainable: true}
		}
	}
	return [][]int{copyShape(s)}, nil
}

// Weights returns gamma and beta (those that exist).
func (l *GroupNormalization) Weights() []*runtime.Variable {
	var ws []*runtime.Variable
	for _, v := range []*runtime.Variable{l.Gamma, l.Beta} {
		if v != nil {
			ws = append(ws, v)
		}
	}
	return ws
}

// Forward normalizes each (sample, group).
func (l *GroupNormalization) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	x := in[0]
	axis, c, groups, err := l.groupLayout(x.Shape)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range l.Weights() {
		if w.Value.Shape[0] != c {
			return nil, nil, ShapeError(&l.Base, "built for %d channels, called on %s", w.Value.Shape[0], runtime.FormatShape(x.Shape))
		}
	}
	// (batch, channels, rest): each (sample, group) is a contiguous row.
	perm := append([]int{0}, axisToFrontOf(x.Rank()-1, axis-1)...)
	for i := 1; i < len(perm); i++ {
		perm[i]++
	}
	xp, ps := permuteAxes(x.Data, x.Shape, perm)
	cpg := c / groups
	spatial := runtime.ShapeSize(ps[2:])
	rowLen := max(cpg*spatial, 1)
	byChannel := func(r, i int) int { return (r%groups)*cpg + i/spatial }
	gamma, beta := varData(l.Gamma), varData(l.Beta)
	mean, variance := rowMoments(xp, rowLen)
	inv := invStd(variance, l.Epsilon)
	yp, xhat := normalizeRows(xp, rowLen, mean, inv, gamma, beta, byChannel)
	inverse := inversePerm(perm)
	yd, _ := permuteAxes(yp, ps, inverse)
	y := &runtime.Tensor{Shape: copyShape(x.Shape), Data: yd}
	if !ctx.Grad {
		return []*runtime.Tensor{y}, nil, nil
	}
	return []*runtime.Tensor{y}, func(gout []*runtime.Tensor) ([]*runtime.Tensor, error) {
		g, _ := permuteAxes(gout[0].Data, x.Shape, perm)
		pg := newParamGrads(&l.Base, l.Gamma, l.Beta)
		gh := affineGrads(g, xhat, rowLen, gamma, byChannel, pg.dGamma, pg.dBeta)
		gx := normalizeRowsGrad(gh, xhat, rowLen, inv)
		pg.accumulate(ctx)
		gd, _ := permuteAxes(gx, ps, inverse)
		return []*runtime.Tensor{{Shape: copyShape(x.Shape), Data: gd}}, nil
	}, nil
}
