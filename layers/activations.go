package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
	"github.com/kerasrun/kerasrun/runtime/kernels"
)

// activation is an elementwise (or, for softmax, log_softmax, sparsemax
// and glu, last-axis) function with its derivative. forward writes f(x)
// into y (y may alias x for elementwise functions). backward computes
// gx = dL/dx from x, y = f(x) and gy = dL/dy. The formulas and the
// derivatives at kinks are those of Keras's TensorFlow backend.
type activation struct {
	name     string
	forward  func(x, y []float32, axisLen int)
	backward func(x, y, gy, gx []float32, axisLen int)
	// halves is set for glu, whose output's last axis is half its input's.
	halves bool
	// fromY is set when backward reads only y (not x): forward may then
	// write y over x.
	fromY bool
	// clamp, when set, says the forward pass is min(max(x, Lo), Hi)
	// (relu, relu6, ReLU(max_value)): a kernel may fuse it into its store.
	clamp *kernels.Clamp
}

// outDim returns the output's last dimension for an input last dimension n.
func (a *activation) outDim(n int) int {
	if a.halves {
		return n / 2
	}
	return n
}

// elementwise builds an activation from a scalar function and its
// derivative expressed through x and y.
func elementwise(name string, f func(x float64) float64, df func(x, y float64) float64) *activation {
	return &activation{
		name: name,
		forward: func(x, y []float32, _ int) {
			for i, v := range x {
				y[i] = float32(f(float64(v)))
			}
		},
		backward: func(x, y, gy, gx []float32, _ int) {
			for i := range gy {
				gx[i] = gy[i] * float32(df(float64(x[i]), float64(y[i])))
			}
		},
	}
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softplus(x float64) float64 {
	// log(1 + exp(x)) without overflow.
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// step returns 1 when cond holds, else 0.
func step(cond bool) float64 {
	if cond {
		return 1
	}
	return 0
}

const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

// activations maps Keras activation names (keras.activations
// ALL_OBJECTS_DICT, with the Keras 2 variants under their own names) to
// their implementations with Keras's default arguments.
var activations = map[string]*activation{
	"linear":  elementwise("linear", func(x float64) float64 { return x }, func(_, _ float64) float64 { return 1 }),
	"relu":    reluActivation(0, -1, 0),
	"relu6":   reluActivation(0, 6, 0),
	"sigmoid": elementwise("sigmoid", sigmoid, func(_, y float64) float64 { return y * (1 - y) }),
	"tanh":    elementwise("tanh", math.Tanh, func(_, y float64) float64 { return 1 - y*y }),
	"elu":     eluActivation(1),
	"selu": elementwise("selu", func(x float64) float64 {
		if x > 0 {
			return seluScale * x
		}
		return seluScale * seluAlpha * math.Expm1(x)
	}, func(x, _ float64) float64 {
		if x > 0 {
			return seluScale
		}
		return seluScale * seluAlpha * math.Exp(x)
	}),
	"softplus": elementwise("softplus", softplus, func(x, _ float64) float64 { return sigmoid(x) }),
	"softsign": elementwise("softsign", func(x float64) float64 { return x / (1 + math.Abs(x)) },
		func(x, _ float64) float64 { d := 1 + math.Abs(x); return 1 / (d * d) }),
	"exponential": elementwise("exponential", math.Exp, func(_, y float64) float64 { return y }),
	"silu": elementwise("silu", func(x float64) float64 { return x * sigmoid(x) },
		func(x, _ float64) float64 { s := sigmoid(x); return s * (1 + x*(1-s)) }),
	"softmax":     {name: "softmax", forward: softmaxForward, backward: softmaxBackward},
	"log_softmax": {name: "log_softmax", forward: logSoftmaxForward, backward: logSoftmaxBackward},
	"sparsemax":   {name: "sparsemax", forward: sparsemaxForward, backward: sparsemaxBackward},
	"glu":         {name: "glu", forward: gluForward, backward: gluBackward, halves: true},
	// Keras 3: hard_sigmoid(x) = relu6(x + 3) / 6.
	"hard_sigmoid": elementwise("hard_sigmoid", func(x float64) float64 { return math.Min(math.Max(x+3, 0), 6) / 6 },
		func(x, _ float64) float64 { return step(x > -3 && x < 3) / 6 }),
	// Keras 2 (tf_keras backend.hard_sigmoid): clip(0.2x + 0.5, 0, 1).
	// Files written by Keras < 3 reach it through Keras2Activation.
	"hard_sigmoid_keras2": elementwise("hard_sigmoid_keras2", func(x float64) float64 { return math.Min(math.Max(0.2*x+0.5, 0), 1) },
		func(x, _ float64) float64 { u := 0.2*x + 0.5; return 0.2 * step(u >= 0 && u <= 1) }),
	"hard_silu": elementwise("hard_silu", func(x float64) float64 { return x * math.Min(math.Max(x+3, 0), 6) / 6 },
		func(x, _ float64) float64 {
			return math.Min(math.Max(x+3, 0), 6)/6 + x*step(x > -3 && x < 3)/6
		}),
	"hard_tanh": elementwise("hard_tanh", func(x float64) float64 { return math.Min(math.Max(x, -1), 1) },
		func(x, _ float64) float64 { return step(x >= -1 && x <= 1) }),
	"hard_shrink": elementwise("hard_shrink", func(x float64) float64 { return x * step(math.Abs(x) > 0.5) },
		func(x, _ float64) float64 { return step(math.Abs(x) > 0.5) }),
	"soft_shrink": elementwise("soft_shrink", func(x float64) float64 {
		switch {
		case x > 0.5:
			return x - 0.5
		case x < -0.5:
			return x + 0.5
		}
		return 0
	}, func(x, _ float64) float64 { return step(math.Abs(x) > 0.5) }),
	"tanh_shrink": elementwise("tanh_shrink", func(x float64) float64 { return x - math.Tanh(x) },
		func(x, _ float64) float64 { t := math.Tanh(x); return t * t }),
	"sparse_plus": elementwise("sparse_plus", func(x float64) float64 {
		switch {
		case x <= -1:
			return 0
		case x < 1:
			return (x + 1) * (x + 1) / 4
		}
		return x
	}, func(x, _ float64) float64 {
		switch {
		case x <= -1:
			return 0
		case x < 1:
			return (x + 1) / 2
		}
		return 1
	}),
	"sparse_sigmoid": elementwise("sparse_sigmoid", func(x float64) float64 {
		switch {
		case x <= -1:
			return 0
		case x >= 1:
			return 1
		}
		return (x + 1) / 2
	}, func(x, _ float64) float64 { return step(x > -1 && x < 1) / 2 }),
	"squareplus": elementwise("squareplus", func(x float64) float64 { return (x + math.Sqrt(x*x+4)) / 2 },
		func(x, _ float64) float64 { return (1 + x/math.Sqrt(x*x+4)) / 2 }),
	"log_sigmoid": elementwise("log_sigmoid", func(x float64) float64 { return -softplus(-x) },
		func(x, _ float64) float64 { return sigmoid(-x) }),
	"mish": elementwise("mish", func(x float64) float64 { return x * math.Tanh(softplus(x)) },
		func(x, _ float64) float64 {
			t := math.Tanh(softplus(x))
			return t + x*(1-t*t)*sigmoid(x)
		}),
	"celu": elementwise("celu", func(x float64) float64 { return math.Max(x, 0) + math.Expm1(math.Min(x, 0)) },
		func(x, _ float64) float64 { return step(x >= 0) + step(x <= 0)*math.Exp(math.Min(x, 0)) }),
	// keras.activations.gelu defaults to approximate=False (the erf form),
	// in Keras 2 and 3 alike.
	"gelu":       elementwise("gelu", geluExact, geluExactGrad),
	"leaky_relu": leakyReluActivation(0.2),
}

func init() {
	// silu and hard_silu compute on the float32 kernels, as Keras's
	// float32 formulas do; their derivatives (from x) stay as above.
	for name, f := range map[string]func(dst, x []float32){"silu": kernels.Silu, "hard_silu": kernels.HardSilu} {
		a := *activations[name]
		a.forward = func(x, y []float32, _ int) { f(y, x) }
		activations[name] = &a
	}
	activations["swish"] = activations["silu"]
	activations["hard_swish"] = activations["hard_silu"]
	// The commonest activations run on the vectorized float32 kernels
	// (accurate to a few ulps); their derivatives need only y, so they may
	// be applied in place.
	reluVectorized = vectorized("relu", kernels.Relu, reluGrad)
	reluVectorized.clamp = &kernels.Clamp{Lo: 0, Hi: float32(math.Inf(1))}
	activations["relu"] = reluVectorized
	activations["sigmoid"] = vectorized("sigmoid", kernels.Sigmoid, func(y, gy, gx []float32) {
		gy = gy[:len(y)]
		for i, v := range y {
			gx[i] = gy[i] * (v * (1 - v))
		}
	})
	activations["tanh"] = vectorized("tanh", kernels.Tanh, func(y, gy, gx []float32) {
		gy = gy[:len(y)]
		for i, v := range y {
			gx[i] = gy[i] * (1 - v*v)
		}
	})
}

// vectorized builds an activation from a runtime/kernels function and its
// backward pass from y = f(x) alone.
func vectorized(name string, f func(dst, x []float32), grad func(y, gy, gx []float32)) *activation {
	return &activation{
		name:     name,
		forward:  func(x, y []float32, _ int) { f(y, x) },
		backward: func(_, y, gy, gx []float32, _ int) { grad(y[:len(gy)], gy, gx) },
		fromY:    true,
	}
}

// reluGrad sets gx = gy * (y > 0 ? 1 : 0), as TensorFlow's ReluGrad does
// (relu's derivative is 1 for x > 0, and y > 0 exactly when x > 0). It
// picks the factor with a bit mask rather than a branch: the signs of
// activations are unpredictable.
func reluGrad(y, gy, gx []float32) {
	gy, gx = gy[:len(y)], gx[:len(y)]
	for i, v := range y {
		// v > 0 (not NaN) exactly when its bits lie in [1, 0x7f800000].
		m := uint32(0)
		if math.Float32bits(v)-1 < 0x7f800000 {
			m = ^uint32(0)
		}
		gx[i] = gy[i] * math.Float32frombits(0x3f800000&m)
	}
}

// keras2Activations maps names whose formula differs in Keras 2 to the
// names of their Keras 2 forms.
var keras2Activations = map[string]string{"hard_sigmoid": "hard_sigmoid_keras2"}

// Keras2Activation returns the activation name to use for name in a file
// written by Keras 1 or 2: the same name unless Keras 2's formula differs
// (hard_sigmoid was clip(0.2x + 0.5, 0, 1) before Keras 3).
func Keras2Activation(name string) string {
	if k2, ok := keras2Activations[name]; ok {
		return k2
	}
	return name
}

// RenameKeras2Activations rewrites the activation arguments of a layer
// configuration written by Keras 1 or 2 (activation,
// recurrent_activation) to the names of their Keras 2 forms, so that the
// layer computes what Keras 2 computed. A loader calls it for every layer
// of a file whose keras_version is below 3.
func RenameKeras2Activations(c kerasjson.Config) {
	// Wrapped layers and cells (Bidirectional, TimeDistributed, RNN) hold
	// their own configurations.
	for _, key := range []string{"layer", "backward_layer", "cell"} {
		if obj, ok := c[key].(map[string]any); ok {
			if cfg, ok := obj["config"].(map[string]any); ok {
				RenameKeras2Activations(kerasjson.Config(cfg))
			}
		}
	}
	for _, key := range []string{"activation", "recurrent_activation"} {
		switch v := c[key].(type) {
		case string:
			c[key] = Keras2Activation(v)
		case map[string]any:
			if s, ok := v["class_name"].(string); ok {
				v["class_name"] = Keras2Activation(s)
			}
			if s, ok := v["config"].(string); ok {
				v["config"] = Keras2Activation(s)
			}
		}
	}
}

// reluVectorized is activations["relu"], which reluActivation returns for
// plain relu once the package is initialized.
var reluVectorized *activation

// reluActivation is keras.activations.relu(negative_slope, max_value,
// threshold); maxValue < 0 means none.
func reluActivation(slope, maxValue, threshold float64) *activation {
	if slope != 0 && maxValue < 0 && threshold == 0 {
		return leakyReluActivation(slope)
	}
	if slope == 0 && maxValue < 0 && threshold == 0 {
		if reluVectorized != nil {
			return reluVectorized
		}
	}
	name := "relu"
	if slope == 0 && maxValue == 6 && threshold == 0 {
		name = "relu6"
	}
	// Keras computes positive part p (x where x > threshold, else 0;
	// relu or relu6 without a threshold), clips p to [0, max_value], and
	// subtracts negative_slope * relu(threshold - x).
	a := elementwise(name, func(x float64) float64 {
		p := 0.0
		if x > threshold {
			p = x
		}
		if maxValue >= 0 {
			p = math.Min(math.Max(p, 0), maxValue)
		}
		return p - slope*math.Max(threshold-x, 0)
	}, func(x, _ float64) float64 {
		d := step(x > threshold)
		if maxValue >= 0 {
			if threshold == 0 && maxValue == 6 {
				d = step(x > 0 && x < 6) // tf.nn.relu6's gradient
			} else if x > threshold && x > maxValue {
				d = 0
			}
		}
		return d + slope*step(threshold-x > 0)
	})
	if slope == 0 && threshold == 0 && maxValue >= 0 {
		// min(max(x, 0), max_value) in float32 gives the same values
		// (float32(max_value) rounded once), NaN included.
		c := kernels.Clamp{Lo: 0, Hi: float32(maxValue)}
		a.clamp = &c
		a.forward = func(x, y []float32, _ int) { kernels.ClampTo(y[:len(x)], x, c) }
	}
	return a
}

// leakyReluActivation is tf.nn.leaky_relu: x for x > 0, else slope * x.
func leakyReluActivation(slope float64) *activation {
	return elementwise("leaky_relu", func(x float64) float64 {
		if x > 0 {
			return x
		}
		return slope * x
	}, func(x, _ float64) float64 {
		if x > 0 {
			return 1
		}
		return slope
	})
}

// eluActivation is keras.activations.elu(alpha).
func eluActivation(alpha float64) *activation {
	return elementwise("elu", func(x float64) float64 {
		if x > 0 {
			return x
		}
		return alpha * math.Expm1(x)
	}, func(x, _ float64) float64 {
		if x > 0 {
			return 1
		}
		return alpha * math.Exp(x)
	})
}

func geluExact(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func geluExactGrad(x, _ float64) float64 {
	return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
}

// lookupActivation resolves an activation argument: a string, a
// serialized object ({"class_name": "relu"} or a Keras 3 function
// reference), or absent (linear).
func lookupActivation(o *kerasjson.Object) (*activation, error) {
	if o == nil {
		return activations["linear"], nil
	}
	name := o.ClassName
	if name == "function" || name == "builtins.function" {
		// Keras 3 may serialize a function as {"class_name": "function", "config": "relu"}.
		if v, ok := o.Config["value"].(string); ok {
			name = v
		}
	}
	if a, ok := activations[name]; ok {
		return a, nil
	}
	if a, err := activationLayerObject(o); a != nil || err != nil {
		return a, err
	}
	return nil, fmt.Errorf("unsupported activation %q", name)
}

// apply returns f(x) in a new slice (or x itself for linear); axisLen is
// the length of the last axis.
func (a *activation) apply(x []float32, axisLen int) []float32 {
	if a.name == "linear" {
		return x
	}
	n := len(x)
	if a.halves && axisLen > 0 {
		n = len(x) / axisLen * (axisLen / 2)
	}
	y := make([]float32, n)
	if len(x) > 0 && axisLen > 0 {
		a.forward(x, y, axisLen)
	}
	return y
}

// checkAxis reports whether the activation can take a last axis of
// length n (glu needs an even one).
func (a *activation) checkAxis(n int) error {
	if a.halves && n >= 0 && n%2 != 0 {
		return fmt.Errorf("activation %s needs an even last dimension, got %d", a.name, n)
	}
	return nil
}

// activationLayerObject resolves an activation argument that is a
// serialized activation layer (Keras 2 allowed
// activation=LeakyReLU(alpha=0.1)); it returns nil, nil for other classes.
func activationLayerObject(o *kerasjson.Object) (*activation, error) {
	c := o.Config
	num := func(key string, def float64) float64 {
		if v, err := c.Float(key, def); err == nil {
			return v
		}
		return math.NaN()
	}
	var a *activation
	switch o.ClassName {
	case "ReLU":
		a = reluActivation(num("negative_slope", 0), num("max_value", -1), num("threshold", 0))
	case "LeakyReLU":
		a = leakyReluActivation(num("negative_slope", num("alpha", 0.3)))
	case "ELU":
		a = eluActivation(num("alpha", 1))
	case "ThresholdedReLU":
		theta := num("theta", 1)
		a = elementwise("thresholded_relu", func(x float64) float64 { return x * step(x > theta) },
			func(x, _ float64) float64 { return step(x > theta) })
	case "Softmax":
		if axis, err := c.Int("axis", -1); err != nil || axis != -1 {
			return nil, fmt.Errorf("activation Softmax(axis=%v) is not supported as an activation argument", c["axis"])
		}
		return activations["softmax"], nil
	default:
		return nil, nil
	}
	for _, k := range []string{"negative_slope", "max_value", "threshold", "alpha", "theta"} {
		if c.Has(k) && math.IsNaN(num(k, 0)) {
			return nil, fmt.Errorf("activation %s: config %q is not a number", o.ClassName, k)
		}
	}
	return a, nil
}
