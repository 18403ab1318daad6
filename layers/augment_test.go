package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

// augmentFile is layers/testdata/augment/transforms.json, from
// compat/python/export_augment.py.
type augmentFile struct {
	KerasVersion string           `json:"keras_version"`
	Tolerance    fixtureTolerance `json:"tolerance"`
	Cases        []struct {
		fixtureCase
		Transformation transformation `json:"transformation"`
		Inference      fixtureArray   `json:"inference"`
		KerasDraw      bool           `json:"keras_draw"`
	} `json:"cases"`
}

func augmentationOf(t *testing.T, class string, config []byte) *augmentation {
	t.Helper()
	spec, err := specFromKeras(class, config)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := Lookup(spec)
	if !ok {
		t.Fatalf("%s is not registered", class)
	}
	l, err := f(spec)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := l.(*augmentation)
	if !ok {
		t.Fatalf("%s is a %T, not an augmentation layer", class, l)
	}
	return a
}

// TestAugmentationFixedTransform applies Keras's transformations, given
// as fixed parameters, and compares with Keras's transform_images; the
// inference output is Keras's too (the input), and the backward pass
// matches finite differences.
func TestAugmentationFixedTransform(t *testing.T) {
	ff := readFixture[augmentFile](t, "testdata/augment/transforms.json")
	classes := map[string]bool{}
	for _, c := range ff.Cases {
		t.Run(c.Name, func(t *testing.T) {
			classes[c.ClassName] = true
			l := augmentationOf(t, c.ClassName, c.Config)
			x := c.Inputs[0].tensor()
			img := newImageShape(x.Shape, l.ChannelsFirst)
			if c.KerasDraw {
				// Keras's draw is deterministic here: Go's must be the same.
				if got := l.aug.draw(rand.New(rand.NewPCG(1, 1)), img); !equalTransformations(got, c.Transformation) {
					t.Errorf("draw %v, Keras %v", got, c.Transformation)
				}
			}
			out, back, err := l.aug.apply(&runtime.Context{Training: true, Grad: true}, x, img, c.Transformation)
			if err != nil {
				t.Fatal(err)
			}
			if err := compareArrays("output", out[0], c.Outputs[0], ff.Tolerance); err != nil {
				t.Error(err)
			}
			inf, _, err := l.Forward(&runtime.Context{}, []*runtime.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			if err := compareArrays("inference", inf[0], c.Inference, fixtureTolerance{}); err != nil {
				t.Error(err)
			}
			checkAugmentGrad(t, l, x, img, c.Transformation, out[0], back)
		})
	}
	for _, class := range []string{"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness", "RandomCrop",
		"RandomShear", "RandomGrayscale", "RandomInvert", "RandomColorDegeneration", "RandomPosterization", "Solarization",
		"RandomSaturation", "RandomHue", "RandomColorJitter", "RandomSharpness", "RandomGaussianBlur",
		"RandomErasing", "CutMix", "MixUp", "RandomPerspective"} {
		if !classes[class] {
			t.Errorf("no fixture case for %s", class)
		}
	}
}

func equalTransformations(a, b transformation) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// checkAugmentGrad compares the backward pass of sum(out*probe) with
// finite differences at a few input elements. The transforms are
// piecewise smooth in the input; where the left and right differences
// disagree, a kink (a clip, a channel becoming the maximum) lies within
// the step and the element is skipped, but most must be checked.
func checkAugmentGrad(t *testing.T, l *augmentation, x *runtime.Tensor, img imageShape, tr transformation, out *runtime.Tensor, back runtime.Backward) {
	t.Helper()
	if _, ok := l.aug.(*randomPosterization); ok {
		return // piecewise constant: no gradient, and a step crosses a level
	}
	r := rand.New(rand.NewPCG(3, 4))
	probe := randomTensor(r, out.Shape...)
	g, err := back([]*runtime.Tensor{probe})
	if err != nil {
		t.Fatal(err)
	}
	loss := func() float64 {
		o, _, err := l.aug.apply(&runtime.Context{Training: true}, x, img, tr)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, v := range o[0].Data {
			s += float64(v) * float64(probe.Data[i])
		}
		return s
	}
	var scale float32
	for _, v := range x.Data {
		scale = max(scale, v, -v)
	}
	eps := 1e-3 * scale
	f0 := loss()
	const samples = 16
	checked := 0
	for range samples {
		i := r.IntN(len(x.Data))
		old := x.Data[i]
		x.Data[i] = old + eps
		up := loss()
		x.Data[i] = old - eps
		down := loss()
		x.Data[i] = old
		right, left := (up-f0)/float64(eps), (f0-down)/float64(eps)
		if math.Abs(right-left) > 1e-2*(1+math.Abs(right)) {
			continue
		}
		checked++
		if num := (up - down) / float64(2*eps); math.Abs(num-float64(g[0].Data[i])) > 1e-2*(1+math.Abs(num)) {
			t.Errorf("grad[%d] = %v, numeric %v", i, g[0].Data[i], num)
		}
	}
	if checked < samples/2 {
		t.Errorf("only %d of %d gradient samples away from a kink", checked, samples)
	}
}

// checkUniform fails unless the samples look uniform on [lo, hi): all in
// range, and the Kolmogorov-Smirnov distance to the uniform distribution
// below 2/sqrt(n) (a 0.1% level: a wrong range or a skew fails by far).
func checkUniform(t *testing.T, what string, v []float64, lo, hi float64) {
	t.Helper()
	s := slices.Clone(v)
	sort.Float64s(s)
	if s[0] < lo || s[len(s)-1] >= hi {
		t.Errorf("%s: samples in [%v, %v], want [%v, %v)", what, s[0], s[len(s)-1], lo, hi)
		return
	}
	var d float64
	n := float64(len(s))
	for i, x := range s {
		cdf := (x - lo) / (hi - lo)
		d = max(d, math.Abs(cdf-float64(i)/n), math.Abs(cdf-float64(i+1)/n))
	}
	if bound := 2 / math.Sqrt(n); d > bound {
		t.Errorf("%s: Kolmogorov-Smirnov distance %.4f to uniform [%v, %v), bound %.4f", what, d, lo, hi, bound)
	}
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// checkFraction fails unless a fraction of 20,000 draws is within 5
// standard deviations of p.
func checkFraction(t *testing.T, what string, got, p float64) {
	t.Helper()
	if sd := math.Sqrt(p * (1 - p) / 20000); math.Abs(got-p) > 5*sd {
		t.Errorf("%s: fraction %.4f, want %v (±%.4f)", what, got, p, 5*sd)
	}
}

func checkPermutation(t *testing.T, what string, p []float64) {
	t.Helper()
	s := slices.Clone(p)
	sort.Float64s(s)
	for i, v := range s {
		if v != float64(i) {
			t.Fatalf("%s: permutation_order is not a permutation of the batch", what)
		}
	}
	if slices.IsSorted(p) {
		t.Errorf("%s: permutation_order of %d images is the identity", what, len(p))
	}
}

// TestAugmentationDraws checks the distributions of the drawn parameters
// against Keras's get_random_transformation: 20,000 images per layer.
func TestAugmentationDraws(t *testing.T) {
	const n = 20000
	r := rand.New(rand.NewPCG(15, 16))
	img := imageShape{n: n, h: 6, w: 10, c: 1}
	draw := func(class, config string) transformation {
		return newTestLayer(t, class, config).(*augmentation).aug.draw(r, img)
	}

	checkFraction(t, "RandomFlip flipped", mean(draw("RandomFlip", `{}`)["flips"]), 0.5)

	checkUniform(t, "RandomRotation(0.2) angle", draw("RandomRotation", `{"factor": 0.2}`)["angle"], -72, 72)
	checkUniform(t, "RandomRotation([-0.1, 0.3]) angle", draw("RandomRotation", `{"factor": [0.3, -0.1]}`)["angle"], -36, 108)

	z := draw("RandomZoom", `{"height_factor": [-0.3, 0.2]}`)
	checkUniform(t, "RandomZoom height_zoom", z["height_zoom"], 0.7, 1.2)
	if !slices.Equal(z["height_zoom"], z["width_zoom"]) {
		t.Error("RandomZoom without width_factor: width_zoom differs from height_zoom")
	}
	z = draw("RandomZoom", `{"height_factor": 0.5, "width_factor": [0.1, 0.4]}`)
	checkUniform(t, "RandomZoom height_zoom", z["height_zoom"], 0.5, 1.5)
	checkUniform(t, "RandomZoom width_zoom", z["width_zoom"], 1.1, 1.4)

	tr := draw("RandomTranslation", `{"height_factor": 0.5, "width_factor": [-0.2, 0.1]}`)["translations"]
	var ws, hs []float64
	for b := range n {
		ws, hs = append(ws, tr[2*b]), append(hs, tr[2*b+1])
	}
	checkUniform(t, "RandomTranslation width shift (pixels)", ws, -2, 1)
	checkUniform(t, "RandomTranslation height shift (pixels)", hs, -3, 3)

	// Keras 3 reads a contrast factor f as (0, f): the factor is in [1, 1+f].
	checkUniform(t, "RandomContrast(0.4) factor", draw("RandomContrast", `{"factor": 0.4}`)["contrast_factor"], 1, 1.4)
	checkUniform(t, "RandomContrast([0.2, 0.5]) factor", draw("RandomContrast", `{"factor": [0.2, 0.5]}`)["contrast_factor"], 0.8, 1.5)

	checkUniform(t, "RandomBrightness(0.2) delta", draw("RandomBrightness", `{"factor": 0.2}`)["rgb_delta"], -51, 51)
	checkUniform(t, "RandomBrightness([-0.1, 0.3], (0, 1)) delta", draw("RandomBrightness", `{"factor": [-0.1, 0.3], "value_range": [0, 1]}`)["rgb_delta"], -0.1, 0.3)

	// RandomShear: |factor| uniform in the range, x and y sharing a sign
	// that is negative for half the images.
	sh := draw("RandomShear", `{"x_factor": 0.3, "y_factor": [0.1, 0.4]}`)["shear_factor"]
	var sx, sy []float64
	negative := 0
	for b := range n {
		sign := math.Copysign(1, sh[2*b+1])
		if sign < 0 {
			negative++
		}
		sx, sy = append(sx, sh[2*b]*sign), append(sy, sh[2*b+1]*sign)
	}
	checkUniform(t, "RandomShear x factor", sx, -0.3, 0.3)
	checkUniform(t, "RandomShear |y factor|", sy, 0.1, 0.4)
	checkFraction(t, "RandomShear negated", float64(negative)/n, 0.5)

	checkFraction(t, "RandomGrayscale(0.3) applied", mean(draw("RandomGrayscale", `{"factor": 0.3}`)["should_apply"]), 0.3)
	checkFraction(t, "RandomInvert() applied", mean(draw("RandomInvert", `{}`)["apply_inversion"]), 0.5)
	// The probability is itself uniform in [0, 0.4]: 0.2 on average.
	checkFraction(t, "RandomInvert(0.4) applied", mean(draw("RandomInvert", `{"factor": 0.4}`)["apply_inversion"]), 0.2)
	checkUniform(t, "RandomColorDegeneration(0.5) factor", draw("RandomColorDegeneration", `{"factor": 0.5}`)["factor"], -0.5, 0.5)

	// RandomPosterization keeps an integer number of bits in [2, 6), as
	// Keras's randint (maxval excluded).
	shifts := map[float64]int{}
	for _, s := range draw("RandomPosterization", `{"factor": [2, 6]}`)["shift_factor"] {
		shifts[s]++
	}
	if len(shifts) != 4 {
		t.Errorf("RandomPosterization shifts %v, want 3, 4, 5 and 6", shifts)
	}
	for s, k := range shifts {
		if s < 3 || s > 6 {
			t.Errorf("RandomPosterization shift %v drawn", s)
		}
		checkFraction(t, "RandomPosterization shift", float64(k)/n, 0.25)
	}

	sol := draw("Solarization", `{"addition_factor": 0.5, "threshold_factor": [0.2, 0.9]}`)
	checkUniform(t, "Solarization addition", sol["additions"], 0, 127.5)
	checkUniform(t, "Solarization threshold", sol["thresholds"], 0.2, 229.5)

	// RandomSaturation draws f uniform in the range and returns f/(1-f).
	var fs []float64
	for _, v := range draw("RandomSaturation", `{"factor": 0.6}`)["factor"] {
		fs = append(fs, v/(1+v))
	}
	checkUniform(t, "RandomSaturation(0.6) f", fs, -0.6, 0.6)
	// RandomHue: half the draw, negated for half the images.
	var hs2 []float64
	for _, v := range draw("RandomHue", `{"factor": [0.2, 0.6]}`)["factor"] {
		hs2 = append(hs2, 2*v)
	}
	var neg, pos []float64
	for _, v := range hs2 {
		if v < 0 {
			neg = append(neg, -v)
		} else {
			pos = append(pos, v)
		}
	}
	checkUniform(t, "RandomHue |2 factor| (negated)", neg, 0.2, 0.6)
	checkUniform(t, "RandomHue 2 factor", pos, 0.2, 0.6)
	checkFraction(t, "RandomHue negated", float64(len(neg))/n, 0.5)
	j := draw("RandomColorJitter", `{"brightness_factor": 0.2, "hue_factor": 0.4, "value_range": [0, 1]}`)
	if len(j) != 2 {
		t.Errorf("RandomColorJitter with two factors drew %d parameters", len(j))
	}
	checkUniform(t, "RandomColorJitter brightness", j["brightness/rgb_delta"], -0.2, 0.2)

	checkUniform(t, "RandomSharpness(0.7) factor", draw("RandomSharpness", `{"factor": 0.7}`)["factor"], 0, 0.7)
	// RandomGaussianBlur: blurred with a probability uniform in [0, 0.6]
	// (0.3 on average); one pair of sigmas per batch.
	bl := draw("RandomGaussianBlur", `{"factor": 0.6, "sigma": [0.2, 0.9]}`)
	checkFraction(t, "RandomGaussianBlur(0.6) applied", mean(bl["should_apply_blur"]), 0.3)
	var sigmas []float64
	for range 2000 {
		s := newTestLayer(t, "RandomGaussianBlur", `{"sigma": [0.2, 0.9]}`).(*augmentation).aug.draw(r, imageShape{n: 2, h: 3, w: 3, c: 1})["blur_factor"]
		sigmas = append(sigmas, s[0]-1e-6, s[1]-1e-6)
	}
	checkUniform(t, "RandomGaussianBlur sigma", sigmas, 0.2-1e-6, 0.9)

	// RandomErasing: the box's sides are sqrt(U(scale)) of the image's,
	// placed uniformly; erased with probability 1/2 (factor 1).
	er := draw("RandomErasing", `{"scale": [0.05, 0.3], "fill_value": 300, "value_range": [0, 255]}`)
	checkFraction(t, "RandomErasing applied", mean(er["apply_erasing"]), 0.5)
	var side2, place []float64
	for b := range n {
		w := er["x1"][b] - er["x0"][b]
		side2 = append(side2, w*w/float64(img.w*img.w))
		place = append(place, er["x0"][b]/(float64(img.w)-w))
	}
	checkUniform(t, "RandomErasing (width/W)²", side2, 0.05-1e-6, 0.3+1e-6)
	checkUniform(t, "RandomErasing placement", place, 0, 1)
	if v := er["fill_value"]; len(v) != n*60 || slices.Min(v) != 255 || slices.Max(v) != 255 {
		t.Errorf("RandomErasing fill_value 300 within (0, 255): want 255 everywhere")
	}

	// MixUp: Beta(alpha, alpha) weights (mean 1/2, variance 1/(4(2a+1))),
	// through both of the Gamma sampler's paths, and a permutation.
	for _, alpha := range []float64{0.2, 2} {
		mu := newTestLayer(t, "MixUp", fmt.Sprintf(`{"alpha": %v}`, alpha)).(*augmentation).aug.draw(r, img)
		w, m := mu["mix_weight"], mean(mu["mix_weight"])
		var v float64
		for _, x := range w {
			v += (x - m) * (x - m) / n
		}
		if want := 1 / (4 * (2*alpha + 1)); math.Abs(m-0.5) > 5*math.Sqrt(want/n) || math.Abs(v-want) > 0.05*want {
			t.Errorf("MixUp(%v) weights: mean %.4f, variance %.4f; want 0.5 and %.4f", alpha, m, v, want)
		}
		checkPermutation(t, "MixUp", mu["permutation_order"])
	}
	cm := draw("CutMix", `{}`)
	checkPermutation(t, "CutMix", cm["permutation_order"])
	for b := range n {
		if cm["x0"][b] < 0 || cm["x1"][b] > float64(img.w) || cm["y0"][b] < 0 || cm["y1"][b] > float64(img.h) ||
			math.Abs((cm["x1"][b]-cm["x0"][b])/float64(img.w)-(cm["y1"][b]-cm["y0"][b])/float64(img.h)) > 1e-5 {
			t.Fatalf("CutMix box %d: x [%v, %v), y [%v, %v) in a 6×10 image, sides not in proportion", b, cm["x0"][b], cm["x1"][b], cm["y0"][b], cm["y1"][b])
		}
	}

	// RandomPerspective: corners moved by start*d, d uniform in
	// [-scale/2, scale/2], with a probability uniform in [0, 0.6].
	pe := draw("RandomPerspective", `{"factor": 0.6, "scale": 0.4}`)
	checkFraction(t, "RandomPerspective(0.6) applied", mean(pe["apply_perspective"]), 0.3)
	start := corners(img)
	var ds []float64
	for i, e := range pe["end_points"] {
		if s := start[i%8]; s != 0 {
			ds = append(ds, (e-s)/s)
		} else if e != 0 {
			t.Fatalf("RandomPerspective moved the corner coordinate 0 to %v", e)
		}
	}
	checkUniform(t, "RandomPerspective corner offsets", ds, -0.2-1e-6, 0.2+1e-6)

	// RandomCrop: one offset per batch, uniform over the 3×5 possible ones.
	crop := newTestLayer(t, "RandomCrop", `{"height": 4, "width": 6}`).(*augmentation).aug
	counts := map[[2]float64]int{}
	for range n {
		c := crop.draw(r, img)
		counts[[2]float64{c["h_start"][0], c["w_start"][0]}]++
	}
	if len(counts) != 15 {
		t.Errorf("RandomCrop drew %d distinct offsets, want 15: %v", len(counts), counts)
	}
	for off, k := range counts {
		// Binomial(n, 1/15): standard deviation 35.
		if math.Abs(float64(k)-n/15.0) > 175 || off[0] < 0 || off[0] > 2 || off[1] < 0 || off[1] > 4 {
			t.Errorf("RandomCrop offset %v drawn %d times of %d", off, k, n)
		}
	}
}

// TestAugmentationForward checks the layers' Forward: the identity at
// inference, a random source needed in training, and RandomFlip flipping
// about half the images, each as a whole (both axes together in
// horizontal_and_vertical mode).
func TestAugmentationForward(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randomTensor(r, 2000, 2, 3, 1)
	l := newTestLayer(t, "RandomFlip", `{}`)
	if out, _, err := l.Forward(&runtime.Context{}, []*runtime.Tensor{x}); err != nil || out[0] != x {
		t.Fatalf("inference: not the identity (%v)", err)
	}
	if _, _, err := l.Forward(&runtime.Context{Training: true}, []*runtime.Tensor{x}); err == nil {
		t.Error("training without a random source: no error")
	}
	out, _, err := l.Forward(&runtime.Context{Training: true, Rand: r}, []*runtime.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	flipped := 0
	for b := range 2000 {
		in, o := x.Data[b*6:b*6+6], out[0].Data[b*6:b*6+6]
		switch {
		case slices.Equal(in, o):
		case slices.Equal(o, []float32{in[5], in[4], in[3], in[2], in[1], in[0]}):
			flipped++
		default:
			t.Fatalf("image %d: %v is neither %v nor it turned half a turn", b, o, in)
		}
	}
	if flipped < 900 || flipped > 1100 {
		t.Errorf("%d of 2000 images flipped", flipped)
	}
	// A crop's training output has Build's shape.
	crop := newTestLayer(t, "RandomCrop", `{"height": 1, "width": 2}`)
	shapes, err := crop.Build([][]int{{-1, 2, 3, 1}})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = crop.Forward(&runtime.Context{Training: true, Rand: r}, []*runtime.Tensor{x})
	if err != nil || !shapeCompatible(shapes[0], out[0].Shape) {
		t.Errorf("RandomCrop: Build %v, training output %v (%v)", shapes, out, err)
	}
}
