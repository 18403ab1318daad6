"""Writes testdata/inputs: image, CSV and JSON inputs as a Keras user
makes them, with the arrays and predictions Keras gives.

Usage (with the virtualenv from venv.sh, which installs Pillow):

    python compat/python/export_inputs.py [--out testdata/inputs]

What it writes:

- images/: tiny PNGs (RGB, RGBA, grayscale, 16-bit grayscale, paletted
  with transparency), JPEGs (4:4:4, 4:2:2, 4:2:0 chroma subsampling),
  BMP, GIF, TIFF and WebP (lossless), written by PIL from seeded
  smooth-plus-noise pictures.
- arrays.npz: keras.utils.img_to_array(keras.utils.load_img(path,
  color_mode, target_size, keep_aspect_ratio), data_format) for every
  image under several color modes, target sizes and data formats, stored
  as uint16 (every value is an integer 0..65535); cases.json lists them.
- model_rgb.keras: Rescaling(1/255) -> Conv2D -> GlobalAveragePooling2D
  -> Dense(3, softmax) on (8, 8, 3) images; pred_rgb.npy is its
  predict() on the folder images/ loaded by load_img(target_size=(8, 8))
  in sorted name order, as one batch.
- model_gray.keras: Flatten -> Dense(3) on channels_first (1, 6, 6)
  grayscale images; pred_gray.npy its predict() on every image loaded as
  load_img(color_mode="grayscale", target_size=(6, 6)) with
  img_to_array(data_format="channels_first").
- model_tab.keras: a Functional model built from a dict of inputs
  {"numeric": (3,), "category": (1,)} (Keras orders them by key:
  category, numeric) with two outputs "score" (Dense 1) and "label"
  (Dense 2, softmax), compiled with mse and sparse categorical
  crossentropy; tab.csv (header numeric_0,numeric_1,numeric_2,category,
  one row per sample, written with the csv module, no pandas), tab.json
  ({"numeric": [[...]], "category": [[...]]}), numeric.npy, category.npy,
  y_score.npy, y_label.npy, its predictions pred_tab_score.npy,
  pred_tab_label.npy and evaluate(return_dict=True) in cases.json.
"""

import argparse
import csv
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import PIL  # noqa: E402
from PIL import Image  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def picture(rng, h, w, c):
    """A smooth gradient with some noise, as uint8 (h, w, c)."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 / max(w - 1, 1)), (yy * 255 / max(h - 1, 1)), ((xx + yy) * 127 / max(w + h - 2, 1))], -1)
    base = np.concatenate([base, np.full((h, w, 1), 200.0)], -1)[..., :c]
    noise = rng.normal(0, 20, size=(h, w, c))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def write_images(d, rng):
    os.makedirs(d, exist_ok=True)
    files = []

    def save(name, img, **kw):
        img.save(os.path.join(d, name), **kw)
        files.append(name)

    save("rgb.png", Image.fromarray(picture(rng, 9, 11, 3), "RGB"))
    rgba = picture(rng, 7, 10, 4)
    rgba[..., 3] = rng.randint(0, 256, size=(7, 10))
    save("rgba.png", Image.fromarray(rgba, "RGBA"))
    save("gray.png", Image.fromarray(picture(rng, 9, 9, 1)[..., 0], "L"))
    g16 = (rng.randint(0, 65536, size=(5, 7))).astype(np.uint16)
    g16[0, :4] = [0, 200, 255, 256]
    save("gray16.png", Image.fromarray(g16))
    pal = Image.fromarray(picture(rng, 8, 9, 3), "RGB").quantize(colors=16, dither=Image.Dither.NONE)
    save("palette.png", pal, transparency=3)
    photo = picture(rng, 13, 17, 3)
    for name, sub in (("photo444.jpg", 0), ("photo422.jpg", 1), ("photo420.jpg", 2)):
        save(name, Image.fromarray(photo, "RGB"), quality=90, subsampling=sub)
    save("rgb.bmp", Image.fromarray(picture(rng, 9, 10, 3), "RGB"))
    save("palette.gif", Image.fromarray(picture(rng, 7, 9, 3), "RGB").quantize(colors=32, dither=Image.Dither.NONE))
    save("rgb.tiff", Image.fromarray(picture(rng, 6, 8, 3), "RGB"))
    save("rgb.webp", Image.fromarray(picture(rng, 8, 6, 3), "RGB"), lossless=True)
    return sorted(files)


def load(path, mode, size, keep=False, fmt="channels_last"):
    img = keras.utils.load_img(path, color_mode=mode, target_size=size, keep_aspect_ratio=keep)
    return keras.utils.img_to_array(img, data_format=fmt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "testdata", "inputs"))
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    rng = np.random.RandomState(15)
    keras.utils.set_random_seed(15)
    imgdir = os.path.join(out, "images")
    files = write_images(imgdir, rng)

    arrays, cases = {}, []
    combos = [
        ("rgb", None, False, "channels_last"),
        ("rgb", (8, 8), False, "channels_last"),
        ("rgb", (5, 13), False, "channels_first"),
        ("rgb", (4, 9), True, "channels_last"),
        ("grayscale", None, False, "channels_last"),
        ("grayscale", (6, 6), False, "channels_first"),
        ("rgba", (7, 5), False, "channels_last"),
        ("rgba", (12, 6), True, "channels_last"),
    ]
    for f in files:
        for mode, size, keep, fmt in combos:
            x = load(os.path.join(imgdir, f), mode, size, keep, fmt)
            assert (x == np.round(x)).all() and x.min() >= 0 and x.max() < 65536
            key = f"{f}|{mode}|{size[0] if size else 0}x{size[1] if size else 0}|{'keep' if keep else 'stretch'}|{fmt}"
            name = f"a{len(cases)}"
            arrays[name] = x.astype(np.uint16)
            cases.append({"array": name, "image": "images/" + f, "color_mode": mode,
                          "height": size[0] if size else 0, "width": size[1] if size else 0,
                          "keep_aspect_ratio": keep, "data_format": fmt, "key": key})
    np.savez_compressed(os.path.join(out, "arrays.npz"), **arrays)

    # Image models.
    rgb = keras.Sequential([
        keras.Input((8, 8, 3)), layers.Rescaling(1.0 / 255), layers.Conv2D(4, 3, activation="relu"),
        layers.GlobalAveragePooling2D(), layers.Dense(3, activation="softmax"),
    ], name="tiny_rgb")
    rgb.save(os.path.join(out, "model_rgb.keras"))
    batch = np.stack([load(os.path.join(imgdir, f), "rgb", (8, 8)) for f in files])
    np.save(os.path.join(out, "pred_rgb.npy"), rgb.predict(batch, verbose=0))
    gray = keras.Sequential([keras.Input((1, 6, 6)), layers.Rescaling(1.0 / 255), layers.Flatten(), layers.Dense(3)], name="tiny_gray")
    gray.save(os.path.join(out, "model_gray.keras"))
    gbatch = np.stack([load(os.path.join(imgdir, f), "grayscale", (6, 6), fmt="channels_first") for f in files])
    # A 16-bit image stays 16-bit in grayscale mode: rescaled by 1/255 it
    # is far outside 0..1, which Keras computes all the same.
    np.save(os.path.join(out, "pred_gray.npy"), gray.predict(gbatch, verbose=0))

    # A tabular model built from a dict of inputs, two outputs.
    num = keras.Input((3,), name="numeric")
    cat = keras.Input((1,), name="category")
    h = layers.Dense(6, activation="relu", name="hidden")(layers.Concatenate(name="concat")([num, cat]))
    score = layers.Dense(1, name="score")(h)
    label = layers.Dense(2, activation="softmax", name="label")(h)
    tab = keras.Model(inputs={"numeric": num, "category": cat}, outputs={"score": score, "label": label}, name="tab")
    tab.compile(optimizer="adam", loss={"score": "mse", "label": "sparse_categorical_crossentropy"}, metrics={"label": ["accuracy"]})
    n = 6
    xn = rng.uniform(-1, 1, size=(n, 3)).astype("float32").round(3)
    xc = rng.randint(0, 4, size=(n, 1)).astype("float32")
    ys = rng.uniform(-1, 1, size=(n, 1)).astype("float32").round(3)
    yl = rng.randint(0, 2, size=(n,)).astype("float32")
    # One epoch, so that the file holds the optimizer's state.
    tab.fit({"numeric": xn, "category": xc}, {"score": ys, "label": yl}, epochs=1, batch_size=n, verbose=0)
    tab.save(os.path.join(out, "model_tab.keras"))
    tab = keras.saving.load_model(os.path.join(out, "model_tab.keras"))
    pred = tab.predict({"numeric": xn, "category": xc}, verbose=0)
    res = tab.evaluate({"numeric": xn, "category": xc}, {"score": ys, "label": yl}, verbose=0, return_dict=True)
    for k, v in (("numeric", xn), ("category", xc), ("y_score", ys), ("y_label", yl),
                 ("pred_tab_score", pred["score"]), ("pred_tab_label", pred["label"])):
        np.save(os.path.join(out, k + ".npy"), v)
    with open(os.path.join(out, "tab.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["numeric_0", "numeric_1", "numeric_2", "category"])
        for i in range(n):
            # As a user writes them: xn holds float32(round(v, 3)).
            w.writerow([f"{v:.3f}" for v in xn[i]] + [str(int(xc[i, 0]))])
    with open(os.path.join(out, "tab.json"), "w") as f:
        json.dump({"numeric": [[round(float(v), 3) for v in r] for r in xn], "category": xc.astype(int).tolist()}, f)
        f.write("\n")

    meta = {
        "keras": keras.__version__, "pillow": PIL.__version__, "numpy": np.__version__,
        "tolerance": {"atol": 1e-5, "rtol": 1e-4},
        "images": files,
        "arrays": cases,
        "rgb": {"model": "model_rgb.keras", "target_size": [8, 8], "pred": "pred_rgb.npy"},
        "gray": {"model": "model_gray.keras", "target_size": [6, 6], "data_format": "channels_first", "pred": "pred_gray.npy"},
        "tab": {"model": "model_tab.keras", "input_order": [t.name for t in tab.inputs],
                "output_order": list(tab.output_names),
                "pred": {"score": "pred_tab_score.npy", "label": "pred_tab_label.npy"},
                "evaluate": {k: float(v) for k, v in res.items()}},
    }
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
