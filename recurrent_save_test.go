package kerasrun

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRecurrentSaveRoundTrip saves real-world recurrent models (LSTM,
// Bidirectional, Masking) and loads them back: the weights under an RNN's
// cell and Bidirectional's forward_layer/backward_layer survive, and
// predictions are unchanged. The Keras 2 files use Keras 2's
// hard_sigmoid: they round-trip through legacy .h5, which keeps the
// writer's Keras 2 version, and a .keras archive (which cannot express
// that formula) is refused.
func TestRecurrentSaveRoundTrip(t *testing.T) {
	if _, err := os.Stat(realworldDir); err != nil {
		t.Skip("real-world corpus absent")
	}
	for _, f := range []struct {
		dir, model, input string
		formats           []string
	}{
		{"keras3-stock-lstm-functional", "model.keras", "testdata/realworld/keras3-stock-lstm-functional/model.x0.npy", []string{".keras", ".h5"}},
		{"dl4j-bidirectional_lstm_tf_2", "bidirectional_lstm_tensorflow_2.h5", "testdata/realworld/dl4j-bidirectional_lstm_tf_2/bidirectional_lstm_tensorflow_2.x0.npy", []string{".h5"}},
		{"dl4j-masking_zero_lstm", "masking_zero_lstm.h5", "testdata/realworld/dl4j-masking_zero_lstm/masking_zero_lstm.x0.npy", []string{".h5"}},
	} {
		t.Run(f.dir, func(t *testing.T) {
			m, err := Load(filepath.Join(realworldDir, f.dir, f.model))
			if err != nil {
				t.Fatal(err)
			}
			x, err := ReadNPY(f.input)
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			if m.info.KerasVersion < "3" {
				if err := m.Save(filepath.Join(t.TempDir(), "m.keras")); err == nil {
					t.Errorf("a Keras 2 model with hard_sigmoid saved as .keras; want a refusal")
				}
			}
			for _, ext := range f.formats {
				path := filepath.Join(t.TempDir(), "m"+ext)
				if err := m.Save(path); err != nil {
					t.Fatalf("save %s: %v", ext, err)
				}
				back, err := Load(path)
				if err != nil {
					t.Fatalf("load %s: %v", ext, err)
				}
				got, err := back.Predict(x)
				if err != nil {
					t.Fatal(err)
				}
				if msg := compareTensors(got[0], want[0]); msg != "" {
					t.Errorf("%s round trip: %s", ext, msg)
				}
			}
		})
	}
}
