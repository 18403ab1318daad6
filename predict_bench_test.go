package kerasrun

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkPredictTutorial measures Predict on the tutorial models: the
// CNN (Conv2D(32) MaxPooling2D Conv2D(64) MaxPooling2D Flatten Dense(64)
// Dense(10) on 32x32x3) and the MLP (Dense(128) relu Dense(10) on 784
// values), in batches of 1 and 32: samples/s. bench/predict.sh runs it with
// and without -tags noasm and prints the speed-up of the assembly core over
// the portable one.
func BenchmarkPredictTutorial(b *testing.B) {
	for _, m := range []struct {
		name  string
		shape []int // one sample
	}{
		{"cifar_cnn", []int{32, 32, 3}},
		{"mlp_relu", []int{784}},
	} {
		model, err := Load(filepath.Join("testdata", m.name, "model_k3.keras"))
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 32} {
			shape := append([]int{batch}, m.shape...)
			size := 1
			for _, d := range shape {
				size *= d
			}
			rng := rand.New(rand.NewPCG(3, uint64(batch)))
			x := &Tensor{Shape: shape, Data: make([]float32, size)}
			for i := range x.Data {
				x.Data[i] = rng.Float32()
			}
			b.Run(fmt.Sprintf("%s/batch%d", m.name, batch), func(b *testing.B) {
				if _, err := model.Predict(x); err != nil { // warm up (weight packing)
					b.Fatal(err)
				}
				b.ReportAllocs()
				start := time.Now()
				for b.Loop() {
					if _, err := model.Predict(x); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*b.N)/time.Since(start).Seconds(), "samples/s")
			})
		}
	}
}
