package kerasrun

import "testing"

// TestInspectKeras3MaskOps inspects a Keras 3 file whose config holds the
// operations Keras records to compute masks (NotEqual for
// Embedding(mask_zero=True)): every layer is listed, the model's layers
// with their output shapes.
func TestInspectKeras3MaskOps(t *testing.T) {
	in, err := Inspect("testdata/transformer/encoder/model_k3.keras")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]LayerInfo{}
	for _, l := range in.Layers {
		found[l.Name] = l
	}
	if _, ok := found["not_equal"]; !ok {
		t.Errorf("the NotEqual operation is not listed: %v", in.Layers)
	}
	if l := found["mha_0"]; len(l.OutputShapes) != 1 || len(l.OutputShapes[0]) != 3 || l.Params != 288 {
		t.Errorf("mha_0: %+v, want one (None, 8, 8) output and 288 parameters", l)
	}
}
