package layers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kerasrun/kerasrun/runtime"
)

// TestBackwardLeavesGradOutAlone replays every layer fixture's forward and
// backward pass and checks that Backward does not write into the output
// gradients it is given. runtime.Trace.Backward hands a value's gradient to
// the ops that read it without copying it (copy-on-write: it copies only to
// add a second gradient), so a Backward that changed its gout would corrupt
// the gradients of other values and the caller's output gradients.
func TestBackwardLeavesGradOutAlone(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		t.Skip("no layer fixtures in testdata/")
	}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var ff fixtureFile
		if err := json.Unmarshal(raw, &ff); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, c := range ff.Cases {
			if c.InputGrads == nil {
				continue
			}
			t.Run(ff.Family+"/"+c.Name, func(t *testing.T) { checkGoutUnchanged(t, c) })
		}
	}
}

func checkGoutUnchanged(t *testing.T, c fixtureCase) {
	spec, err := specFromKeras(c.ClassName, c.Config)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	f, ok := Lookup(spec)
	if !ok {
		t.Fatalf("class %s is not registered", c.ClassName)
	}
	l, err := f(spec)
	if err != nil {
		t.Fatalf("new %s: %v", c.ClassName, err)
	}
	if c.CallKwargs != nil {
		if l, err = l.(CallArgsLayer).BindCall(c.CallKwargs); err != nil {
			t.Fatalf("call arguments: %v", err)
		}
	}
	var shapes [][]int
	var inputs []*runtime.Tensor
	for _, x := range c.Inputs {
		s := copyShape(x.Shape)
		s[0] = -1
		shapes = append(shapes, s)
		inputs = append(inputs, x.tensor())
	}
	if _, err := l.Build(shapes); err != nil {
		t.Fatalf("build: %v", err)
	}
	for i, w := range AllWeights(l) {
		if i < len(c.Weights) && len(c.Weights[i].Data) == len(w.Value.Data) {
			copy(w.Value.Data, c.Weights[i].Data)
			w.Touch()
		}
	}
	ctx := &runtime.Context{Training: c.Training, Grad: true}
	var back runtime.Backward
	if c.Masks != nil {
		masks := make([]*runtime.Tensor, len(c.Masks))
		for i, m := range c.Masks {
			if m != nil {
				masks[i] = m.tensor()
			}
		}
		_, _, back, err = l.(runtime.MaskedOp).ForwardMasked(ctx, inputs, masks)
	} else {
		_, back, err = l.Forward(ctx, inputs)
	}
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	probes := make([]*runtime.Tensor, len(c.Probes))
	saved := make([][]float32, len(c.Probes))
	for i, p := range c.Probes {
		probes[i] = p.tensor()
		saved[i] = slices.Clone(probes[i].Data)
	}
	if _, err := back(probes); err != nil {
		t.Fatalf("backward: %v", err)
	}
	for i, p := range probes {
		if !slices.Equal(p.Data, saved[i]) {
			t.Errorf("backward changed output gradient %d", i)
		}
	}
}
