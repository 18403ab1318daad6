package layers

import (
	"math"
	"strings"
)

// The elementwise operations of keras.ops.numpy (and their tf.*
// spellings), with TensorFlow's derivatives.

const npOps = "keras.src.ops.numpy."

func bool64(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unaryFuncs maps the Keras numpy class names of elementwise functions to
// f and its derivative df(x, y) (nil: no gradient flows).
var unaryFuncs = map[string]struct {
	f  func(x float64) float64
	df func(x, y float64) float64
}{
	"Absolute":   {math.Abs, func(x, _ float64) float64 { return sign(x) }},
	"Negative":   {func(x float64) float64 { return -x }, func(_, _ float64) float64 { return -1 }},
	"Square":     {func(x float64) float64 { return x * x }, func(x, _ float64) float64 { return 2 * x }},
	"Sqrt":       {math.Sqrt, func(_, y float64) float64 { return 0.5 / y }},
	"Exp":        {math.Exp, func(_, y float64) float64 { return y }},
	"Exp2":       {math.Exp2, func(_, y float64) float64 { return y * math.Ln2 }},
	"Expm1":      {math.Expm1, func(_, y float64) float64 { return y + 1 }},
	"Log":        {math.Log, func(x, _ float64) float64 { return 1 / x }},
	"Log2":       {math.Log2, func(x, _ float64) float64 { return 1 / (x * math.Ln2) }},
	"Log10":      {math.Log10, func(x, _ float64) float64 { return 1 / (x * math.Ln10) }},
	"Log1p":      {math.Log1p, func(x, _ float64) float64 { return 1 / (1 + x) }},
	"Sin":        {math.Sin, func(x, _ float64) float64 { return math.Cos(x) }},
	"Cos":        {math.Cos, func(x, _ float64) float64 { return -math.Sin(x) }},
	"Tan":        {math.Tan, func(_, y float64) float64 { return 1 + y*y }},
	"Arcsin":     {math.Asin, func(x, _ float64) float64 { return 1 / math.Sqrt(1-x*x) }},
	"Arccos":     {math.Acos, func(x, _ float64) float64 { return -1 / math.Sqrt(1-x*x) }},
	"Arctan":     {math.Atan, func(x, _ float64) float64 { return 1 / (1 + x*x) }},
	"Sinh":       {math.Sinh, func(x, _ float64) float64 { return math.Cosh(x) }},
	"Cosh":       {math.Cosh, func(x, _ float64) float64 { return math.Sinh(x) }},
	"Tanh":       {math.Tanh, func(_, y float64) float64 { return 1 - y*y }},
	"Arcsinh":    {math.Asinh, func(x, _ float64) float64 { return 1 / math.Sqrt(x*x+1) }},
	"Arccosh":    {math.Acosh, func(x, _ float64) float64 { return 1 / math.Sqrt(x*x-1) }},
	"Arctanh":    {math.Atanh, func(x, _ float64) float64 { return 1 / (1 - x*x) }},
	"Reciprocal": {func(x float64) float64 { return 1 / x }, func(_, y float64) float64 { return -y * y }},
	"Sign":       {sign, func(_, _ float64) float64 { return 0 }},
	"Floor":      {math.Floor, func(_, _ float64) float64 { return 0 }},
	"Ceil":       {math.Ceil, func(_, _ float64) float64 { return 0 }},
	"Trunc":      {math.Trunc, func(_, _ float64) float64 { return 0 }},
	"Sinc": {func(x float64) float64 {
		if x == 0 {
			return 1
		}
		return math.Sin(math.Pi*x) / (math.Pi * x)
	}, func(x, y float64) float64 {
		if x == 0 {
			return 0
		}
		return (math.Cos(math.Pi*x) - y) / x
	}},
	"Conjugate":     {func(x float64) float64 { return x }, func(_, _ float64) float64 { return 1 }},
	"Conj":          {func(x float64) float64 { return x }, func(_, _ float64) float64 { return 1 }},
	"Real":          {func(x float64) float64 { return x }, func(_, _ float64) float64 { return 1 }},
	"Imag":          {func(float64) float64 { return 0 }, func(_, _ float64) float64 { return 0 }},
	"Signbit":       {func(x float64) float64 { return bool64(math.Signbit(x)) }, nil},
	"LogicalNot":    {func(x float64) float64 { return bool64(x == 0) }, nil},
	"Isfinite":      {func(x float64) float64 { return bool64(!math.IsInf(x, 0) && !math.IsNaN(x)) }, nil},
	"Isinf":         {func(x float64) float64 { return bool64(math.IsInf(x, 0)) }, nil},
	"Isnan":         {func(x float64) float64 { return bool64(math.IsNaN(x)) }, nil},
	"Isneginf":      {func(x float64) float64 { return bool64(math.IsInf(x, -1)) }, nil},
	"Isposinf":      {func(x float64) float64 { return bool64(math.IsInf(x, 1)) }, nil},
	"Isreal":        {func(float64) float64 { return 1 }, nil},
	"BitwiseInvert": {func(x float64) float64 { return float64(^int64(x)) }, nil},
	"Copy":          {func(x float64) float64 { return x }, func(_, _ float64) float64 { return 1 }},
	"Deg2rad":       {func(x float64) float64 { return x * math.Pi / 180 }, func(_, _ float64) float64 { return math.Pi / 180 }},
	"Rad2deg":       {func(x float64) float64 { return x * 180 / math.Pi }, func(_, _ float64) float64 { return 180 / math.Pi }},
	"Cbrt":          {math.Cbrt, func(_, y float64) float64 { return 1 / (3 * y * y) }},
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // 0 or NaN
}

// binaryFuncs maps the Keras numpy class names of broadcast binary
// functions of x1 and x2 to their implementation.
var binaryFuncs = map[string]binaryFunc{
	"Add": {func(a, b float64) float64 { return a + b },
		func(_, _, _ float64) float64 { return 1 }, func(_, _, _ float64) float64 { return 1 }},
	"Subtract": {func(a, b float64) float64 { return a - b },
		func(_, _, _ float64) float64 { return 1 }, func(_, _, _ float64) float64 { return -1 }},
	"Multiply": {func(a, b float64) float64 { return a * b },
		func(_, b, _ float64) float64 { return b }, func(a, _, _ float64) float64 { return a }},
	"Divide": {func(a, b float64) float64 { return a / b },
		func(_, b, _ float64) float64 { return 1 / b }, func(a, b, _ float64) float64 { return -a / (b * b) }},
	"TrueDivide": {func(a, b float64) float64 { return a / b },
		func(_, b, _ float64) float64 { return 1 / b }, func(a, b, _ float64) float64 { return -a / (b * b) }},
	"DivideNoNan": {func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}, func(_, b, _ float64) float64 {
		if b == 0 {
			return 0
		}
		return 1 / b
	}, func(a, b, _ float64) float64 {
		if b == 0 {
			return 0
		}
		return -a / (b * b)
	}},
	"FloorDivide": {func(a, b float64) float64 { return math.Floor(a / b) }, nil, nil},
	"Mod": {pyMod, func(_, _, _ float64) float64 { return 1 },
		func(a, b, _ float64) float64 { return -math.Floor(a / b) }},
	"Power": {math.Pow, func(a, b, _ float64) float64 {
		if b == 0 {
			return 0
		}
		return b * math.Pow(a, b-1)
	}, func(a, _, y float64) float64 {
		if a <= 0 {
			return 0
		}
		return y * math.Log(a)
	}},
	"Maximum": {math.Max, func(a, b, _ float64) float64 { return bool64(a >= b) },
		func(a, b, _ float64) float64 { return bool64(a < b) }},
	"Minimum": {math.Min, func(a, b, _ float64) float64 { return bool64(a <= b) },
		func(a, b, _ float64) float64 { return bool64(a > b) }},
	"Arctan2": {math.Atan2, func(a, b, _ float64) float64 { return b / (a*a + b*b) },
		func(a, b, _ float64) float64 { return -a / (a*a + b*b) }},
	"Hypot": {math.Hypot, func(a, _, y float64) float64 { return a / y },
		func(_, b, y float64) float64 { return b / y }},
	"Heaviside": {func(a, b float64) float64 {
		switch {
		case a < 0:
			return 0
		case a > 0:
			return 1
		}
		return b
	}, nil, nil},
	"Logaddexp": {func(a, b float64) float64 {
		m := math.Max(a, b)
		return m + math.Log(math.Exp(a-m)+math.Exp(b-m))
	}, func(a, _, y float64) float64 { return math.Exp(a - y) }, func(_, b, y float64) float64 { return math.Exp(b - y) }},
	"Logaddexp2": {func(a, b float64) float64 {
		m := math.Max(a, b)
		return m + math.Log2(math.Exp2(a-m)+math.Exp2(b-m))
	}, func(a, _, y float64) float64 { return math.Exp2(a - y) }, func(_, b, y float64) float64 { return math.Exp2(b - y) }},
	"Ldexp": {func(a, b float64) float64 { return a * math.Exp2(b) },
		func(_, b, _ float64) float64 { return math.Exp2(b) }, nil},
	"Fmod":              {math.Mod, func(_, _, _ float64) float64 { return 1 }, nil},
	"Equal":             {func(a, b float64) float64 { return bool64(a == b) }, nil, nil},
	"NotEqual":          {func(a, b float64) float64 { return bool64(a != b) }, nil, nil},
	"Less":              {func(a, b float64) float64 { return bool64(a < b) }, nil, nil},
	"LessEqual":         {func(a, b float64) float64 { return bool64(a <= b) }, nil, nil},
	"Greater":           {func(a, b float64) float64 { return bool64(a > b) }, nil, nil},
	"GreaterEqual":      {func(a, b float64) float64 { return bool64(a >= b) }, nil, nil},
	"LogicalAnd":        {func(a, b float64) float64 { return bool64(a != 0 && b != 0) }, nil, nil},
	"LogicalOr":         {func(a, b float64) float64 { return bool64(a != 0 || b != 0) }, nil, nil},
	"LogicalXor":        {func(a, b float64) float64 { return bool64((a != 0) != (b != 0)) }, nil, nil},
	"BitwiseAnd":        {intBinary(func(a, b int64) int64 { return a & b }), nil, nil},
	"BitwiseOr":         {intBinary(func(a, b int64) int64 { return a | b }), nil, nil},
	"BitwiseXor":        {intBinary(func(a, b int64) int64 { return a ^ b }), nil, nil},
	"BitwiseLeftShift":  {intBinary(func(a, b int64) int64 { return a << uint(b) }), nil, nil},
	"LeftShift":         {intBinary(func(a, b int64) int64 { return a << uint(b) }), nil, nil},
	"BitwiseRightShift": {intBinary(func(a, b int64) int64 { return a >> uint(b) }), nil, nil},
	"RightShift":        {intBinary(func(a, b int64) int64 { return a >> uint(b) }), nil, nil},
	"Gcd": {intBinary(func(a, b int64) int64 {
		a, b = abs64(a), abs64(b)
		for b != 0 {
			a, b = b, a%b
		}
		return a
	}), nil, nil},
	"Lcm": {intBinary(func(a, b int64) int64 {
		a, b = abs64(a), abs64(b)
		if a == 0 || b == 0 {
			return 0
		}
		x, y := a, b
		for y != 0 {
			x, y = y, x%y
		}
		return a / x * b
	}), nil, nil},
}

func abs64(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

func intBinary(f func(a, b int64) int64) func(a, b float64) float64 {
	return func(a, b float64) float64 { return float64(f(int64(a), int64(b))) }
}

// pyMod is Python's and NumPy's modulo: the result has the divisor's sign.
func pyMod(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	r := math.Mod(a, b)
	if r != 0 && (r < 0) != (b < 0) {
		r += b
	}
	return r
}

func init() {
	for name, u := range unaryFuncs {
		unaryOp(npOps+name, u.f, u.df)
	}
	unaryFuncs["Fabs"] = unaryFuncs["Absolute"]
	unaryFuncs["BitwiseNot"] = unaryFuncs["BitwiseInvert"]
	for name, u := range map[string]string{"Fabs": "Absolute", "Abs": "Absolute", "BitwiseNot": "BitwiseInvert"} {
		unaryOp(npOps+name, unaryFuncs[u].f, unaryFuncs[u].df)
	}
	for name, bf := range binaryFuncs {
		params := "x1,x2"
		if strings.HasPrefix(name, "Bitwise") || strings.HasSuffix(name, "Shift") {
			params = "x,y"
		}
		binaryOp(npOps+name, params, bf)
	}
}
