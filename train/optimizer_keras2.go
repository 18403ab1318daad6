package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/kerasrun/kerasrun/runtime"
)

// Keras 2 optimizer weights.
//
// Keras 2 stores an optimizer's state in the /optimizer_weights group of a
// legacy .h5 file (attribute weight_names, one dataset per name). Three
// layouts exist; all list slots for the model's trainable variables in
// model order:
//
//   - tf.keras 2.0-2.10 and tf_keras.optimizers.legacy (OptimizerV2):
//     "<Opt>/iter:0" (int64 scalar) first, then each slot kind for all
//     variables before the next kind, named "<Opt>/<variable path>/<slot>:0":
//     Adam: m, v (then vhat with amsgrad) — "Adam/dense/kernel/m:0", ...;
//     RMSprop: rms, then momentum (momentum > 0), then mg (centered);
//     SGD: momentum (when momentum > 0); Adagrad: accumulator;
//     Adadelta: accum_grad, accum_var; Adamax: m, v; Nadam: m, v; Ftrl:
//     accumulator, linear.
//   - tf.keras 2.11+ new optimizers ("Custom>Adam" configs):
//     "iteration:0" first, then "<Opt>/<slot>/<variable path>:0" with the
//     slots of one variable together: "Adam/m/dense/kernel:0",
//     "Adam/v/dense/kernel:0", "Adam/m/dense/bias:0", ...; RMSprop:
//     velocity/momentum/average_gradient; SGD: m; Adamax: m, u.
//   - Keras 1 and Keras 2.0-2.2 (standalone): unnamed positional lists
//     ("Variable_4:0", "training/Adam/Variable:0", "param_0"): optionally
//     the iteration count, then each slot kind for all variables (Adam: ms,
//     vs, and in 2.2 vhats that are 1-element placeholders unless
//     amsgrad; RMSprop: accumulators; SGD: moments, even without momentum;
//     Adagrad: accumulators; Adadelta: accumulators, delta_accumulators;
//     Adamax: ms, us).
//
// Each Keras 2 slot kind holds the same quantity as the Keras 3 slot it
// maps to (Adam m/v = momentum/velocity, RMSprop rms/mg =
// velocity/average_gradient, ...). The layouts above were checked against
// files written by tf-keras 2.21 (testdata/legacy.json) and the
// real-world files in /work/shared/realworld.

// keras2SlotNames maps, per optimizer class, Keras 2 slot names (legacy
// and tf.keras 2.11+) to Keras 3 slot names.
var keras2SlotNames = map[string]map[string]string{
	"Adam":     {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
	"AdamW":    {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
	"RMSprop":  {"rms": "velocity", "velocity": "velocity", "momentum": "momentum", "mg": "average_gradient", "average_gradient": "average_gradient"},
	"SGD":      {"momentum": "momentum", "m": "momentum"},
	"Adagrad":  {"accumulator": "accumulator"},
	"Adadelta": {"accum_grad": "accumulated_grad", "accum_var": "accumulated_delta_var", "accumulated_grad": "accumulated_grad", "accumulated_delta_var": "accumulated_delta_var"},
	"Adamax":   {"m": "momentum", "v": "norm", "u": "norm"},
	"Nadam":    {"m": "momentum", "v": "velocity"},
	"Ftrl":     {"accumulator": "accumulator", "linear": "linear"},
	"Lion":     {"m": "momentum", "momentum": "momentum"},
}

// keras2PositionalSlots lists, per class, the slot kinds of the unnamed
// Keras 1 / Keras 2.0-2.2 layouts in stored order.
var keras2PositionalSlots = map[string][]string{
	"Adam":     {"momentum", "velocity", "velocity_hat"},
	"RMSprop":  {"velocity"},
	"SGD":      {"momentum"},
	"Adagrad":  {"accumulator"},
	"Adadelta": {"accumulated_grad", "accumulated_delta_var"},
	"Adamax":   {"momentum", "norm"},
}

// MapKeras2OptimizerWeights converts the optimizer_weights of a Keras 2
// .h5 file (weight_names and their values, in file order) to values for
// opt.Variables(), ready for SetVariables, and the iteration count. opt
// must be built on the model's trainable variables in Keras order.
// Variables Keras 2 has no counterpart for keep their current values
// (learning_rate, EMA averages, gradient accumulators), except Nadam's
// u_product, recomputed from the iteration count.
func MapKeras2OptimizerWeights(opt Optimizer, names []string, values []*runtime.Tensor) ([]*runtime.Tensor, int64, error) {
	b, ok := opt.(*baseOptimizer)
	if !ok || !b.built {
		return nil, 0, fmt.Errorf("train: MapKeras2OptimizerWeights needs a built Keras optimizer, got %T", opt)
	}
	if len(names) != len(values) {
		return nil, 0, fmt.Errorf("train: %d optimizer weight names but %d values", len(names), len(values))
	}
	nv := len(b.vars)
	// found[slot][var] is the value for that Keras 3 slot.
	found := map[string][]*runtime.Tensor{}
	put := func(slot string, vi int, t *runtime.Tensor) {
		if found[slot] == nil {
			found[slot] = make([]*runtime.Tensor, nv)
		}
		found[slot][vi] = t
	}
	var iterations int64
	iterOf := func(t *runtime.Tensor) (int64, error) {
		if t == nil || len(t.Data) != 1 || t.Data[0] < 0 || float64(t.Data[0]) != math.Trunc(float64(t.Data[0])) {
			return 0, fmt.Errorf("train: optimizer iteration count is not a non-negative integer scalar")
		}
		return int64(t.Data[0]), nil
	}
	named := false
	for _, n := range names {
		if strings.HasSuffix(n, "/iter:0") || n == "iteration:0" || strings.HasSuffix(n, "/iteration:0") {
			named = true
		}
	}
	class := b.className
	if named {
		slotMap := keras2SlotNames[class]
		if slotMap == nil {
			return nil, 0, fmt.Errorf("train: no Keras 2 slot names known for optimizer %s", class)
		}
		counts := map[string]int{}
		for k, n := range names {
			if strings.HasSuffix(n, "iter:0") || strings.HasSuffix(n, "iteration:0") {
				it, err := iterOf(values[k])
				if err != nil {
					return nil, 0, err
				}
				iterations = it
				continue
			}
			parts := strings.Split(strings.TrimSuffix(n, ":0"), "/")
			if len(parts) < 3 {
				return nil, 0, fmt.Errorf("train: cannot parse Keras 2 optimizer weight name %q", n)
			}
			kind := parts[len(parts)-1] // legacy: <Opt>/<path>/<slot>
			if _, ok := slotMap[kind]; !ok || names[0] == "iteration:0" {
				kind = parts[1] // tf.keras 2.11+: <Opt>/<slot>/<path>
			}
			slot, ok := slotMap[kind]
			if !ok {
				return nil, 0, fmt.Errorf("train: unknown %s slot %q in %q", class, kind, n)
			}
			vi := counts[slot]
			counts[slot]++
			if vi >= nv {
				return nil, 0, fmt.Errorf("train: more %q slots than the %d trainable variables", slot, nv)
			}
			put(slot, vi, values[k])
		}
	} else {
		kinds := keras2PositionalSlots[class]
		if kinds == nil {
			return nil, 0, fmt.Errorf("train: unnamed Keras 1/2 optimizer weights of %s are not supported", class)
		}
		vals := values
		// Try the known counts: with or without a leading iteration count,
		// with all kinds or without the last (Adam without vhat).
		matched := false
		for _, withIter := range []bool{true, false} {
			for nk := len(kinds); nk >= 1 && !matched; nk-- {
				want := nk * nv
				if withIter {
					want++
				}
				if len(vals) != want {
					continue
				}
				rest := vals
				if withIter {
					it, err := iterOf(vals[0])
					if err != nil {
						continue
					}
					iterations, rest = it, vals[1:]
				}
				for k := 0; k < nk; k++ {
					for vi := 0; vi < nv; vi++ {
						put(kinds[k], vi, rest[k*nv+vi])
					}
				}
				matched = true
			}
			if matched {
				break
			}
		}
		if !matched {
			return nil, 0, fmt.Errorf("train: %d unnamed optimizer weights do not fit %s with %d trainable variables", len(vals), class, nv)
		}
	}
	vars := opt.Variables()
	out := make([]*runtime.Tensor, len(vars))
	out[0] = runtime.NewTensor()
	out[0].Data[0] = float32(iterations)
	for k := 1; k < len(vars); k++ {
		out[k] = vars[k].Value.Clone()
	}
	base := len(vars) - len(b.slots)
	for k, ref := range b.slotInfo {
		v := vars[base+k]
		if ref.varIndex < 0 {
			if class == "Nadam" && ref.slot == "variable" {
				out[base+k].Data[0] = float32(nadamUProduct(b.rule.(*nadam).beta1, iterations))
			}
			continue
		}
		src := found[ref.slot]
		if src == nil || src[ref.varIndex] == nil {
			continue
		}
		t := src[ref.varIndex]
		if len(t.Data) != len(v.Value.Data) {
			if ref.slot == "velocity_hat" && len(t.Data) == 1 {
				continue // Keras 2.2 placeholder vhat without amsgrad
			}
			return nil, 0, fmt.Errorf("train: Keras 2 %s slot for %s has %d values, the variable has %d", ref.slot, b.paths[ref.varIndex], len(t.Data), len(v.Value.Data))
		}
		out[base+k] = &runtime.Tensor{Shape: append([]int(nil), v.Value.Shape...), Data: append([]float32(nil), t.Data...)}
	}
	for slot, ts := range found {
		used := false
		for _, ref := range b.slotInfo {
			if ref.slot == slot {
				used = true
			}
		}
		if !used && slot != "velocity_hat" && !(class == "SGD" && slot == "momentum") {
			return nil, 0, fmt.Errorf("train: Keras 2 optimizer state has %q slots (%d) that this %s configuration does not use", slot, len(ts), class)
		}
	}
	return out, iterations, nil
}

// nadamUProduct is Nadam's u_product after n steps.
func nadamUProduct(beta1 float64, n int64) float64 {
	u := 1.0
	for t := int64(1); t <= n; t++ {
		u *= beta1 * (1 - 0.5*math.Pow(0.96, float64(t)))
	}
	return u
}
