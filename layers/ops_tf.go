package layers

import "fmt"

// The tf.* functions of tf-keras's TFOpLambda layers, under the names
// tf-keras writes ("tf." + the layer's function), mapped onto the same
// kernels as keras.ops with TensorFlow's parameter names and defaults.

func init() {
	tfBinary := map[string]string{
		"math.add": "Add", "__operators__.add": "Add", "math.add_n": "", "math.subtract": "Subtract",
		"math.multiply": "Multiply", "math.truediv": "TrueDivide", "math.divide": "Divide",
		"math.divide_no_nan": "DivideNoNan", "math.floordiv": "FloorDivide", "math.floormod": "Mod",
		"math.pow": "Power", "math.maximum": "Maximum", "math.minimum": "Minimum",
		"math.squared_difference": "", "math.equal": "Equal", "__operators__.eq": "Equal",
		"math.not_equal": "NotEqual", "__operators__.ne": "NotEqual", "math.less": "Less",
		"math.less_equal": "LessEqual", "math.greater": "Greater", "math.greater_equal": "GreaterEqual",
		"math.logical_and": "LogicalAnd", "math.logical_or": "LogicalOr", "math.logical_xor": "LogicalXor",
		"math.atan2": "Arctan2",
	}
	for fn, class := range tfBinary {
		if class == "" {
			continue
		}
		params := "x,y"
		if fn == "math.atan2" {
			params = "y,x"
		}
		binaryOp("tf."+fn, params, binaryFuncs[class])
	}
	binaryOp("tf.math.squared_difference", "x,y", binaryFunc{
		func(a, b float64) float64 { return (a - b) * (a - b) },
		func(a, b, _ float64) float64 { return 2 * (a - b) }, func(a, b, _ float64) float64 { return -2 * (a - b) }})
	tfUnary := map[string]string{
		"math.abs": "Absolute", "math.negative": "Negative", "math.square": "Square", "math.sqrt": "Sqrt",
		"math.exp": "Exp", "math.expm1": "Expm1", "math.log": "Log", "math.log1p": "Log1p",
		"math.sin": "Sin", "math.cos": "Cos", "math.tan": "Tan", "math.asin": "Arcsin", "math.acos": "Arccos",
		"math.atan": "Arctan", "math.sinh": "Sinh", "math.cosh": "Cosh", "math.tanh": "Tanh",
		"nn.tanh": "Tanh", "math.asinh": "Arcsinh", "math.acosh": "Arccosh", "math.atanh": "Arctanh",
		"math.reciprocal": "Reciprocal", "math.sign": "Sign", "math.floor": "Floor", "math.ceil": "Ceil",
		"math.round": "RoundHalfEven", "math.logical_not": "LogicalNot", "math.is_nan": "Isnan",
		"math.is_inf": "Isinf", "math.is_finite": "Isfinite", "identity": "Copy",
	}
	for fn, class := range tfUnary {
		if class == "RoundHalfEven" {
			unaryOp("tf."+fn, roundHalfEven, func(_, _ float64) float64 { return 0 })
			continue
		}
		u := unaryFuncs[class]
		unaryOp("tf."+fn, u.f, u.df)
	}
	rsqrt := func(x float64) float64 { return 1 / sqrt(x) }
	unaryOp("tf.math.rsqrt", rsqrt, func(_, y float64) float64 { return -0.5 * y * y * y })
	tfActivations := map[string]string{
		"nn.relu": "relu", "nn.relu6": "relu6", "math.sigmoid": "sigmoid", "nn.sigmoid": "sigmoid",
		"math.softplus": "softplus", "nn.softplus": "softplus", "nn.softsign": "softsign",
		"math.softsign": "softsign", "nn.elu": "elu", "nn.selu": "selu",
	}
	for fn, name := range tfActivations {
		act := activations[name]
		xOp("tf."+fn, "features", func(_ *opArgs, x operand) (opKernel, error) { return activationKernel(x, act), nil })
	}
	for _, fn := range []string{"nn.silu", "nn.swish"} {
		xOp("tf."+fn, "features,beta", func(a *opArgs, x operand) (opKernel, error) {
			if b, err := a.float("beta", 1); err != nil || b != 1 {
				return nil, fmt.Errorf("beta=%v is not supported", b)
			}
			return activationKernel(x, activations["silu"]), nil
		})
	}
	xOp("tf.nn.leaky_relu", "features,alpha", func(a *opArgs, x operand) (opKernel, error) {
		alpha, err := a.float("alpha", 0.2)
		return activationKernel(x, leakyReluActivation(alpha)), err
	})
	xOp("tf.nn.gelu", "features,approximate", func(a *opArgs, x operand) (opKernel, error) {
		approx, err := a.boolean("approximate", false)
		if approx {
			return unaryKernel(x, geluTanh, geluTanhGrad), err
		}
		return unaryKernel(x, geluExact, geluExactGrad), err
	})
	for fn, log := range map[string]bool{"nn.softmax": false, "math.softmax": false, "nn.log_softmax": true, "math.log_softmax": true} {
		xOp("tf."+fn, "logits,axis", func(a *opArgs, x operand) (opKernel, error) {
			axis, err := a.int("axis", -1)
			return &softmaxKernel{x: x, axis: axis, log: log}, err
		})
	}
	xOp("tf.cast", "x,dtype", func(a *opArgs, x operand) (opKernel, error) {
		dt, err := a.str("dtype", "")
		if err != nil {
			return nil, err
		}
		return castKernel(x, dt)
	})
	xOp("tf.clip_by_value", "t,clip_value_min,clip_value_max", func(a *opArgs, x operand) (opKernel, error) {
		lo, err := a.operand("clip_value_min")
		if err != nil {
			return nil, err
		}
		hi, err := a.operand("clip_value_max")
		return clipKernel(x, lo, hi), err
	})
	registerOp("tf.where", "condition,x,y", func(a *opArgs) (opKernel, error) {
		c, err := a.operand("condition")
		if err != nil {
			return nil, err
		}
		x, err := a.operand("x")
		if err != nil {
			return nil, err
		}
		y, err := a.operand("y")
		return whereKernel(c, x, y), err
	})
	xOp("tf.reshape", "tensor,shape", func(a *opArgs, x operand) (opKernel, error) {
		s, _, err := a.ints("shape")
		return reshapeTo(x, s), err
	})
	for _, fn := range []string{"transpose", "compat.v1.transpose", "linalg.matrix_transpose"} {
		xOp("tf."+fn, "a,perm", func(a *opArgs, x operand) (opKernel, error) {
			perm, _, err := a.ints("perm")
			if c, _ := a.boolean("conjugate", false); c {
				return nil, fmt.Errorf("conjugate=true is not supported")
			}
			if fn == "linalg.matrix_transpose" {
				return matrixTransposeKernel(x), err
			}
			return permuteKernel(x, perm), err
		})
	}
	xOp("tf.expand_dims", "input,axis", func(a *opArgs, x operand) (opKernel, error) {
		axes, _, err := a.ints("axis")
		return expandDimsKernel(x, axes), err
	})
	for _, fn := range []string{"squeeze", "compat.v1.squeeze"} {
		xOp("tf."+fn, "input,axis", func(a *opArgs, x operand) (opKernel, error) {
			axes, _, err := a.ints("axis")
			return squeezeKernel(x, axes), err
		})
	}
	for fn, stack := range map[string]bool{"concat": false, "stack": true} {
		registerOp("tf."+fn, "values,axis", func(a *opArgs) (opKernel, error) {
			xs, err := a.operands("values")
			if err != nil {
				return nil, err
			}
			axis, err := a.int("axis", 0)
			return concatKernel(xs, axis, stack), err
		})
	}
	xOp("tf.tile", "input,multiples", func(a *opArgs, x operand) (opKernel, error) {
		reps, _, err := a.ints("multiples")
		return tileKernel(x, reps), err
	})
	xOp("tf.reverse", "tensor,axis", func(a *opArgs, x operand) (opKernel, error) {
		axes, _, err := a.ints("axis")
		return flipKernel(x, axes), err
	})
	xOp("tf.broadcast_to", "input,shape", func(a *opArgs, x operand) (opKernel, error) {
		s, _, err := a.ints("shape")
		return broadcastToKernel(x, s), err
	})
	registerOp("tf.math.add_n", "inputs", func(a *opArgs) (opKernel, error) {
		xs, err := a.operands("inputs")
		if err != nil {
			return nil, err
		}
		k := &elementwiseKernel{args: xs, f: func(v []float64) float64 {
			s := 0.0
			for _, x := range v {
				s += x
			}
			return s
		}}
		for range xs {
			k.grads = append(k.grads, func([]float64, float64) float64 { return 1 })
		}
		return k, nil
	})
}
