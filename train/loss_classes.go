package train

import (
	"fmt"

	"github.com/kerasrun/kerasrun/kerasjson"
)

// lossClass is a Keras 3 loss class: its default name and a constructor
// from its config.
type lossClass struct {
	defaultName string
	// make builds the loss function from the class-specific arguments.
	make func(c kerasjson.Config) (fn lossFn, logits lossFn, err error)
}

func (s lossClass) build(name string, c kerasjson.Config) (*keras3Loss, error) {
	n, err := c.String("name", name)
	if err != nil {
		return nil, fmt.Errorf("train: loss %s: %v", name, err)
	}
	red, err := c.String("reduction", "")
	if err != nil {
		return nil, fmt.Errorf("train: loss %s: %v", n, err)
	}
	red, err = standardizeReduction(red)
	if err != nil {
		return nil, fmt.Errorf("train: loss %s: %v", n, err)
	}
	fn, logits, err := s.make(c)
	if err != nil {
		return nil, fmt.Errorf("train: loss %s: %v", n, err)
	}
	l := &keras3Loss{name: n, reduction: red, fn: fn}
	if logits != nil {
		l.logits = &keras3Loss{name: n, reduction: red, fn: logits}
	}
	return l, nil
}

func plain(fn lossFn) func(kerasjson.Config) (lossFn, lossFn, error) {
	return func(kerasjson.Config) (lossFn, lossFn, error) { return fn, nil, nil }
}

// lossClasses lists the Keras 3 loss classes by class name.
var lossClasses = map[string]lossClass{
	"MeanSquaredError":            {"mean_squared_error", plain(elementwiseMean(mseElem))},
	"MeanAbsoluteError":           {"mean_absolute_error", plain(elementwiseMean(maeElem))},
	"MeanAbsolutePercentageError": {"mean_absolute_percentage_error", plain(elementwiseMean(mapeElem))},
	"MeanSquaredLogarithmicError": {"mean_squared_logarithmic_error", plain(elementwiseMean(msleElem))},
	"Huber": {"huber_loss", func(c kerasjson.Config) (lossFn, lossFn, error) {
		d, err := c.Float("delta", 1.0)
		return elementwiseMean(huberElem(d)), nil, err
	}},
	"LogCosh":          {"log_cosh", plain(elementwiseMean(logCoshElem))},
	"Poisson":          {"poisson", plain(elementwiseMean(poissonElem))},
	"Hinge":            {"hinge", plain(hingeLoss(false))},
	"SquaredHinge":     {"squared_hinge", plain(hingeLoss(true))},
	"CategoricalHinge": {"categorical_hinge", plain(categoricalHinge)},
	"KLDivergence":     {"kl_divergence", plain(klDivergence)},
	"CosineSimilarity": {"cosine_similarity", func(c kerasjson.Config) (lossFn, lossFn, error) {
		axis, err := c.Int("axis", -1)
		return cosineSimilarityLoss(axis, -1), nil, err
	}},
	"BinaryCrossentropy": {"binary_crossentropy", func(c kerasjson.Config) (lossFn, lossFn, error) {
		a, err := crossentropyArgs(c)
		if err != nil {
			return nil, nil, err
		}
		fn := binaryCrossentropy(a.fromLogits, a.labelSmoothing, a.axis)
		var logits lossFn
		if !a.fromLogits {
			logits = binaryCrossentropy(true, a.labelSmoothing, a.axis)
		}
		return fn, logits, nil
	}},
	"CategoricalCrossentropy": {"categorical_crossentropy", func(c kerasjson.Config) (lossFn, lossFn, error) {
		a, err := crossentropyArgs(c)
		if err != nil {
			return nil, nil, err
		}
		fn := categoricalCrossentropy(a.fromLogits, a.labelSmoothing, a.axis)
		var logits lossFn
		if !a.fromLogits {
			logits = categoricalCrossentropy(true, a.labelSmoothing, a.axis)
		}
		return fn, logits, nil
	}},
	"SparseCategoricalCrossentropy": {"sparse_categorical_crossentropy", func(c kerasjson.Config) (lossFn, lossFn, error) {
		a, err := crossentropyArgs(c)
		if err != nil {
			return nil, nil, err
		}
		if a.axis != -1 {
			return nil, nil, fmt.Errorf("axis %d: only axis=-1 is supported, as in Keras", a.axis)
		}
		var ignore *int
		if c.Has("ignore_class") {
			v, err := c.Int("ignore_class", 0)
			if err != nil {
				return nil, nil, err
			}
			ignore = &v
		}
		fn := sparseCategoricalCrossentropy(a.fromLogits, ignore)
		var logits lossFn
		if !a.fromLogits {
			logits = sparseCategoricalCrossentropy(true, ignore)
		}
		return fn, logits, nil
	}},
	"BinaryFocalCrossentropy": {"binary_focal_crossentropy", func(c kerasjson.Config) (lossFn, lossFn, error) {
		a, err := crossentropyArgs(c)
		if err != nil {
			return nil, nil, err
		}
		f, err := focalArgs(c)
		if err != nil {
			return nil, nil, err
		}
		// No from-logits form: Keras computes the focal terms from the
		// probabilities even after a sigmoid/softmax activation.
		return binaryFocal(f, a.fromLogits, a.labelSmoothing, a.axis), nil, nil
	}},
	"CategoricalFocalCrossentropy": {"categorical_focal_crossentropy", func(c kerasjson.Config) (lossFn, lossFn, error) {
		a, err := crossentropyArgs(c)
		if err != nil {
			return nil, nil, err
		}
		f, err := focalArgs(c)
		if err != nil {
			return nil, nil, err
		}
		// No from-logits form: Keras computes the focal terms from the
		// probabilities even after a sigmoid/softmax activation.
		return categoricalFocal(f, a.fromLogits, a.labelSmoothing, a.axis), nil, nil
	}},
	"Dice": {"dice", func(c kerasjson.Config) (lossFn, lossFn, error) {
		axes, err := axesArg(c)
		return overlapLoss(axes, false, 0, 0), nil, err
	}},
	"Tversky": {"tversky", func(c kerasjson.Config) (lossFn, lossFn, error) {
		axes, err := axesArg(c)
		if err != nil {
			return nil, nil, err
		}
		a, err := c.Float("alpha", 0.5)
		if err != nil {
			return nil, nil, err
		}
		b, err := c.Float("beta", 0.5)
		return overlapLoss(axes, true, a, b), nil, err
	}},
}

type ceArgs struct {
	fromLogits     bool
	labelSmoothing float64
	axis           int
}

func crossentropyArgs(c kerasjson.Config) (ceArgs, error) {
	var a ceArgs
	var err error
	if a.fromLogits, err = c.Bool("from_logits", false); err != nil {
		return a, err
	}
	if a.labelSmoothing, err = c.Float("label_smoothing", 0); err != nil {
		return a, err
	}
	a.axis, err = c.Int("axis", -1)
	return a, err
}

type focalParams struct {
	balance      bool
	alpha, gamma float64
}

func focalArgs(c kerasjson.Config) (focalParams, error) {
	var f focalParams
	var err error
	if f.balance, err = c.Bool("apply_class_balancing", false); err != nil {
		return f, err
	}
	if f.alpha, err = c.Float("alpha", 0.25); err != nil {
		return f, err
	}
	f.gamma, err = c.Float("gamma", 2.0)
	return f, err
}

// axesArg reads Dice/Tversky's axis: null (all axes), an int or a list.
func axesArg(c kerasjson.Config) ([]int, error) {
	if !c.Has("axis") {
		return nil, nil
	}
	return c.Ints("axis", 0, nil)
}
