"""Writes the fixtures of the layers keras.applications defines outside
keras.layers (and saves in its model files):

  layers/testdata/applications.json         Keras 3.15.1: LayerScale (ConvNeXt),
      CustomScaleLayer (InceptionResNetV2), StochasticDepth (ConvNeXt, inference)
  layers/testdata/keras2/applications.json  tf-keras 2.21: the same classes

in layer_fixtures.py's format (forward, input and weight gradients).

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_applications.py
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def cases(rec, convnext, inception):
    L = rec.keras.layers

    class LayerScale(convnext.LayerScale):
        # tf-keras's LayerScale.build does not mark the layer built, so a
        # call after the recorder's build() would build (and reset) again.
        def build(self, shape):
            super().build(shape)
            self.built = True

    L.LayerScale, L.StochasticDepth = LayerScale, convnext.StochasticDepth
    L.CustomScaleLayer = inception.CustomScaleLayer
    rec.case("LayerScale", {"init_values": 1e-6, "projection_dim": 4}, [(2, 3, 3, 4)], name="LayerScale_4d")
    rec.case("LayerScale", {"init_values": 0.5, "projection_dim": 3}, [(2, 3)], name="LayerScale_2d")
    rec.case("CustomScaleLayer", {"scale": 0.17}, [(2, 3, 3, 4), (2, 3, 3, 4)], name="CustomScaleLayer_017")
    rec.case("CustomScaleLayer", {"scale": 1.0}, [(2, 5), (2, 5)], name="CustomScaleLayer_1")
    rec.case("StochasticDepth", {"drop_path_rate": 0.3}, [(2, 3, 3, 4)], name="StochasticDepth_inference")


def main():
    from layer_fixtures import Recorder
    if "--child" in sys.argv:
        import tf_keras
        from tf_keras.src.applications import convnext, inception_resnet_v2
        rec = Recorder("applications", keras_module=tf_keras, seed=131)
        cases(rec, convnext, inception_resnet_v2)
        out = os.path.join(HERE, "..", "..", "layers", "testdata", "keras2")
    else:
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--child"], check=True, env=env)
        import keras
        from keras.src.applications import convnext, inception_resnet_v2
        rec = Recorder("applications", seed=130)
        cases(rec, convnext, inception_resnet_v2)
        out = os.path.join(HERE, "..", "..", "layers", "testdata")
    path = rec.write(out)
    print(f"{path}: {len(rec.cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
