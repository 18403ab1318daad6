package layers

import (
	"fmt"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

// TestSpectralNormalizationUpdates checks the kernel and vector_u a
// training call assigns against those Keras 3 and tf-keras assigned
// (testdata/spectral.json, testdata/keras2/spectral.json).
func TestSpectralNormalizationUpdates(t *testing.T) {
	for _, path := range []string{"testdata/spectral.json", "testdata/keras2/spectral.json"} {
		ff := readFixture[updatesFile](t, path)
		n := 0
		for _, c := range ff.Cases {
			if !c.Training {
				continue
			}
			n++
			t.Run(path+"/"+c.Name, func(t *testing.T) {
				spec, err := specFromKeras(c.ClassName, c.Config)
				if err != nil {
					t.Fatal(err)
				}
				l, err := newSpectralNormalization(spec)
				if err != nil {
					t.Fatal(err)
				}
				s := copyShape(c.Inputs[0].Shape)
				s[0] = -1
				if _, err := l.Build([][]int{s}); err != nil {
					t.Fatal(err)
				}
				for i, w := range AllWeights(l) {
					copy(w.Value.Data, c.Weights[i].Data)
					w.Touch()
				}
				if _, _, err := l.Forward(&runtime.Context{Training: true}, []*runtime.Tensor{c.Inputs[0].tensor()}); err != nil {
					t.Fatal(err)
				}
				sn := l.(*SpectralNormalization)
				tol := fixtureTolerance{Atol: 1e-5, Rtol: 1e-4}
				for i, v := range []*runtime.Variable{sn.Kernel, sn.VectorU} {
					if err := compareArrays(fmt.Sprintf("updated %s", c.Updates[i].Name), v.Value, c.Updates[i], tol); err != nil {
						t.Error(err)
					}
				}
			})
		}
		if n == 0 {
			t.Errorf("%s: no training cases", path)
		}
	}
}
