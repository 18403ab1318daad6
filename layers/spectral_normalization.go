package layers

import (
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime"
)

// SpectralNormalization is keras.layers.SpectralNormalization: a wrapper
// whose layer's kernel (or embeddings) is divided by its largest singular
// value in training. At inference it is the wrapped layer. In training,
// as Keras does, each call first runs power_iterations steps of the power
// method from vector_u and assigns the normalized kernel and the new
// vector_u, then runs the wrapped layer, whose gradient is the kernel's.
// Its own weight is vector_u (1, units), non-trainable; Keras 3 saves the
// kernel beside it in the wrapper's own variables (Keras3Vars).
type SpectralNormalization struct {
	Base
	PowerIterations int
	Layer           Layer
	// Kernel is the wrapped layer's kernel or embeddings; VectorU is
	// created by Build.
	Kernel, VectorU *runtime.Variable
}

// Keras3Vars is a layer whose own variables in a Keras 3 weights file
// (<layer path>/vars/<i>) are not its Weights(): SpectralNormalization
// also saves its wrapped layer's kernel there.
type Keras3Vars interface {
	Layer
	Keras3Vars() []*runtime.Variable
}

// OwnKeras3Vars returns the variables Keras 3 saves in a layer's own vars
// group.
func OwnKeras3Vars(l Layer) []*runtime.Variable {
	if k, ok := l.(Keras3Vars); ok {
		return k.Keras3Vars()
	}
	return l.Weights()
}

func init() {
	Register("SpectralNormalization", newSpectralNormalization, Supports{Inference: true, Training: true})
}

func newSpectralNormalization(spec *kerasjson.Layer) (Layer, error) {
	b, err := NewBase(spec)
	if err != nil {
		return nil, err
	}
	l := &SpectralNormalization{Base: b}
	if l.PowerIterations, err = spec.Config.Int("power_iterations", 1); err != nil {
		return nil, err
	}
	if l.PowerIterations < 1 {
		return nil, ShapeError(&l.Base, "power_iterations must be positive, got %d", l.PowerIterations)
	}
	if l.Layer, err = wrappedLayer(spec, "layer", "", nil); err != nil {
		return nil, err
	}
	if _, isModel := l.Layer.(*Model); isModel {
		return nil, ShapeError(&l.Base, "wrapping a model is not supported")
	}
	return l, nil
}

// Children returns the wrapped layer.
func (l *SpectralNormalization) Children() []Layer { return []Layer{l.Layer} }

// TrackedChildren returns the wrapped layer, saved under "layer".
func (l *SpectralNormalization) TrackedChildren() []NamedChild {
	return []NamedChild{{"layer", l.Layer}}
}

// Weights returns vector_u.
func (l *SpectralNormalization) Weights() []*runtime.Variable {
	if l.VectorU == nil {
		return nil
	}
	return []*runtime.Variable{l.VectorU}
}

// Keras3Vars returns the kernel and vector_u, the wrapper's own variables
// in a Keras 3 file.
func (l *SpectralNormalization) Keras3Vars() []*runtime.Variable {
	if l.VectorU == nil {
		return nil
	}
	return []*runtime.Variable{l.Kernel, l.VectorU}
}

// Build builds the wrapped layer and creates vector_u.
func (l *SpectralNormalization) Build(in [][]int) ([][]int, error) {
	out, err := l.Layer.Build(in)
	if err != nil {
		return nil, err
	}
	if l.Kernel == nil {
		for _, v := range l.Layer.Weights() {
			if v.Name == "kernel" || v.Name == "embeddings" {
				l.Kernel = v
				break
			}
		}
		if l.Kernel == nil || l.Kernel.Value.Rank() < 1 {
			return nil, ShapeError(&l.Base, "the wrapped layer %s has no kernel nor embeddings", l.Layer.Common())
		}
		n := l.Kernel.Value.Shape[l.Kernel.Value.Rank()-1]
		l.VectorU = &runtime.Variable{Name: "vector_u", Value: runtime.NewTensor(1, n)}
	}
	return out, nil
}

// Forward runs the wrapped layer, normalizing its kernel first in
// training.
func (l *SpectralNormalization) Forward(ctx *runtime.Context, in []*runtime.Tensor) ([]*runtime.Tensor, runtime.Backward, error) {
	if ctx.Training && l.Kernel != nil {
		l.normalize()
	}
	return l.Layer.Forward(ctx, in)
}

// normalize assigns kernel/sigma and the power method's new vector_u, as
// Keras's normalized_weights; an all-zero kernel is left alone.
func (l *SpectralNormalization) normalize() {
	w := l.Kernel.Value.Data
	n := l.VectorU.Value.Size()
	m := len(w) / n
	zero := true
	for _, x := range w {
		zero = zero && x == 0
	}
	if zero {
		return
	}
	u := append([]float32(nil), l.VectorU.Value.Data...)
	v := make([]float32, m)
	for range l.PowerIterations {
		// v = normalize(u·Wᵀ), u = normalize(v·W).
		for i := range v {
			var s float32
			for j, x := range w[i*n : (i+1)*n] {
				s += x * u[j]
			}
			v[i] = s
		}
		l2Normalize(v)
		clear(u)
		for i, vi := range v {
			for j, x := range w[i*n : (i+1)*n] {
				u[j] += vi * x
			}
		}
		l2Normalize(u)
	}
	// sigma = v·W·uᵀ.
	var sigma float32
	for i, vi := range v {
		var s float32
		for j, x := range w[i*n : (i+1)*n] {
			s += x * u[j]
		}
		sigma += vi * s
	}
	for i := range w {
		w[i] /= sigma
	}
	copy(l.VectorU.Value.Data, u)
	l.Kernel.Touch()
	l.VectorU.Touch()
}

// l2Normalize divides x by its L2 norm (by sqrt(1e-12) when smaller), as
// tf.math.l2_normalize.
func l2Normalize(x []float32) {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	inv := float32(1 / math.Sqrt(math.Max(s, 1e-12)))
	for i := range x {
		x[i] *= inv
	}
}
