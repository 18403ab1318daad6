package kerasrun_test

import (
	"context"
	"fmt"

	"github.com/kerasrun/kerasrun"
)

// An image becomes a model input as keras.utils.load_img +
// img_to_array would make it for that model.
func ExampleLoadImage() {
	m, err := kerasrun.Load("testdata/inputs/model_rgb.keras")
	if err != nil {
		panic(err)
	}
	opts, err := m.ImageOptions("") // size 8x8, rgb, channels_last, from the input
	if err != nil {
		panic(err)
	}
	x, err := kerasrun.LoadImages([]string{"testdata/inputs/images/rgb.png", "testdata/inputs/images/rgb.bmp"}, opts)
	if err != nil {
		panic(err)
	}
	out, err := m.PredictBatches(context.Background(), []*kerasrun.Tensor{x}, kerasrun.PredictOptions{BatchSize: 32})
	if err != nil {
		panic(err)
	}
	fmt.Println(opts.Height, opts.Width, opts.ColorMode, x.Shape, out[0].Shape)
	fmt.Printf("%.4f\n", out[0].Data[:3])
	// Output:
	// 8 8 rgb [2 8 8 3] [2 3]
	// [0.3271 0.3315 0.3414]
}

// Inputs by name, in any order, as Keras's predict({"name": x}).
func ExampleModel_PredictNamed() {
	m, err := kerasrun.Load("testdata/inputs/model_tab.keras")
	if err != nil {
		panic(err)
	}
	num, _ := kerasrun.NewTensor([]int{1, 3}, []float32{0.447, 0.204, -0.501})
	cat, _ := kerasrun.NewTensor([]int{1, 1}, []float32{3})
	out, err := m.PredictNamed(map[string]*kerasrun.Tensor{"numeric": num, "category": cat})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.4f %.4f\n", out["score"].Data, out["label"].Data)
	// Output:
	// [-0.8765] [0.2178 0.7822]
}
