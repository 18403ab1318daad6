package layers

import (
	"fmt"
	"math"

	"github.com/kerasrun/kerasrun/kerasjson"
)

// activation is an elementwise (or, for softmax, last-axis) function with
// its derivative. forward writes f(x) into y (y may alias x). backward
// computes gx = dL/dx from x, y = f(x) and gy = dL/dy.
type activation struct {
	name     string
	forward  func(x, y []float32, axisLen int)
	backward func(x, y, gy, gx []float32, axisLen int)
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

const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

var activations = map[string]*activation{
	"linear": elementwise("linear", func(x float64) float64 { return x }, func(_, _ float64) float64 { return 1 }),
	"relu": elementwise("relu", func(x float64) float64 { return math.Max(x, 0) }, func(x, _ float64) float64 {
		if x > 0 {
			return 1
		}
		return 0
	}),
	"sigmoid": elementwise("sigmoid", sigmoid, func(_, y float64) float64 { return y * (1 - y) }),
	"tanh":    elementwise("tanh", math.Tanh, func(_, y float64) float64 { return 1 - y*y }),
	"elu": elementwise("elu", func(x float64) float64 {
		if x > 0 {
			return x
		}
		return math.Expm1(x)
	}, func(x, y float64) float64 {
		if x > 0 {
			return 1
		}
		return y + 1
	}),
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
	"swish": elementwise("silu", func(x float64) float64 { return x * sigmoid(x) },
		func(x, _ float64) float64 { s := sigmoid(x); return s * (1 + x*(1-s)) }),
	"softmax":     {name: "softmax", forward: softmaxForward, backward: softmaxBackward},
	"log_softmax": {name: "log_softmax", forward: logSoftmaxForward, backward: logSoftmaxBackward},
}

func init() {
	activations["silu"] = activations["swish"]
	activations["relu6"] = elementwise("relu6", func(x float64) float64 { return math.Min(math.Max(x, 0), 6) },
		func(x, _ float64) float64 {
			if x > 0 && x < 6 {
				return 1
			}
			return 0
		})
	// Keras 3: hard_sigmoid(x) = relu6(x + 3) / 6. Keras 2 used
	// clip(0.2x + 0.5); files from Keras 2 are marked by the loader.
	activations["hard_sigmoid"] = elementwise("hard_sigmoid", func(x float64) float64 { return math.Min(math.Max(x+3, 0), 6) / 6 },
		func(x, _ float64) float64 {
			if x > -3 && x < 3 {
				return 1.0 / 6
			}
			return 0
		})
	activations["gelu"] = elementwise("gelu", geluApprox, geluApproxGrad)
}

// Keras 3's gelu defaults to approximate=True (the tanh form).
func geluApprox(x float64) float64 {
	c := math.Sqrt(2 / math.Pi)
	return 0.5 * x * (1 + math.Tanh(c*(x+0.044715*x*x*x)))
}

func geluApproxGrad(x, _ float64) float64 {
	c := math.Sqrt(2 / math.Pi)
	u := c * (x + 0.044715*x*x*x)
	t := math.Tanh(u)
	return 0.5*(1+t) + 0.5*x*(1-t*t)*c*(1+3*0.044715*x*x)
}

func softmaxForward(x, y []float32, n int) {
	for off := 0; off < len(x); off += n {
		row, out := x[off:off+n], y[off:off+n]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var sum float64
		for i, v := range row {
			e := math.Exp(float64(v - m))
			out[i] = float32(e)
			sum += e
		}
		for i := range out {
			out[i] = float32(float64(out[i]) / sum)
		}
	}
}

func softmaxBackward(_, y, gy, gx []float32, n int) {
	for off := 0; off < len(y); off += n {
		var dot float64
		for i := off; i < off+n; i++ {
			dot += float64(gy[i]) * float64(y[i])
		}
		for i := off; i < off+n; i++ {
			gx[i] = float32(float64(y[i]) * (float64(gy[i]) - dot))
		}
	}
}

func logSoftmaxForward(x, y []float32, n int) {
	for off := 0; off < len(x); off += n {
		row, out := x[off:off+n], y[off:off+n]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - m))
		}
		lse := float64(m) + math.Log(sum)
		for i, v := range row {
			out[i] = float32(float64(v) - lse)
		}
	}
}

func logSoftmaxBackward(_, y, gy, gx []float32, n int) {
	for off := 0; off < len(y); off += n {
		var sum float64
		for i := off; i < off+n; i++ {
			sum += float64(gy[i])
		}
		for i := off; i < off+n; i++ {
			gx[i] = float32(float64(gy[i]) - math.Exp(float64(y[i]))*sum)
		}
	}
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
	return nil, fmt.Errorf("unsupported activation %q", name)
}

// applyActivation returns f(x) in a new slice (or x itself for linear).
func (a *activation) apply(x []float32, axisLen int) []float32 {
	if a.name == "linear" {
		return x
	}
	y := make([]float32, len(x))
	a.forward(x, y, axisLen)
	return y
}
