package kerasrun

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kerasrun/kerasrun/layers"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kerasrun/kerasrun/compat"
	"github.com/kerasrun/kerasrun/h5"
)

// saveTarget is one way of saving: a file name and options, and how to
// load the file back.
type saveTarget struct {
	id   string
	file string
	opts []SaveOption
}

var saveTargets = []saveTarget{
	{"keras", "m.keras", nil},
	{"h5", "m.h5", nil},
	{"h5_k2", "m_k2.h5", []SaveOption{Keras2Compatible()}},
	{"weights", "m.weights.h5", nil},
}

// keras2Refused reports whether err is Keras2Compatible's refusal of a
// model tf-keras cannot load: an UnsupportedError naming a layer.
func keras2Refused(tg saveTarget, err error) bool {
	var ue *UnsupportedError
	return tg.id == "h5_k2" && errors.As(err, &ue) && strings.Contains(ue.Feature, "layer \"")
}

// loadSaved loads a file Save wrote; a .weights.h5 takes its
// architecture from the case's model JSON.
func loadSaved(c *compat.Case, mf *compat.ModelFile, path string) (*Model, error) {
	if strings.HasSuffix(path, ".weights.h5") {
		js := "model_k3.json"
		if strings.HasPrefix(mf.ID, "k2") {
			js = "model_k2.json"
		}
		return Load(c.Path(js), WithWeights(path))
	}
	return Load(path)
}

func loadCase(mf *compat.ModelFile) (*Model, error) {
	if w := mf.WeightsPath(); w != "" {
		return Load(mf.ModelPath(), WithWeights(w))
	}
	return Load(mf.ModelPath())
}

func caseTensors(t *testing.T, c *compat.Case) []*Tensor {
	t.Helper()
	xs, err := c.Inputs()
	if err != nil {
		t.Fatal(err)
	}
	var out []*Tensor
	for _, a := range xs {
		out = append(out, &Tensor{Shape: a.Shape, Data: a.Data})
	}
	return out
}

func loadCases(t *testing.T) []*compat.Case {
	t.Helper()
	cases, err := compat.LoadCases(compat.TestdataDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no fixture cases")
	}
	return cases
}

func iterations(m *Model) int64 {
	if m.f.Optimizer == nil {
		return -1
	}
	return m.f.Optimizer.Iterations()
}

// TestSaveRoundTrip saves every fixture model (every source file) in
// every format, loads the result back and checks that predictions are
// bit-identical and the optimizer state survives.
func TestSaveRoundTrip(t *testing.T) {
	for _, c := range loadCases(t) {
		x := caseTensors(t, c)
		for _, mf := range c.Models {
			t.Run(c.Name+"/"+mf.ID, func(t *testing.T) {
				src, err := loadCase(mf)
				if err != nil {
					t.Fatal(err)
				}
				want, err := src.Predict(x...)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				for _, tg := range saveTargets {
					path := filepath.Join(dir, tg.file)
					if err := src.Save(path, tg.opts...); err != nil {
						if !keras2Refused(tg, err) {
							t.Errorf("%s: save: %v", tg.id, err)
						}
						continue
					}
					back, err := loadSaved(c, mf, path)
					if err != nil {
						t.Errorf("%s: load back: %v", tg.id, err)
						continue
					}
					got, err := back.Predict(x...)
					if err != nil {
						t.Errorf("%s: predict: %v", tg.id, err)
						continue
					}
					for i := range want {
						if !slices.Equal(got[i].Shape, want[i].Shape) || !slices.Equal(got[i].Data, want[i].Data) {
							t.Errorf("%s: output %d differs from the source model's", tg.id, i)
						}
					}
					if tg.id == "keras" || tg.id == "h5" {
						if a, b := iterations(back), iterations(src); a != b {
							t.Errorf("%s: optimizer iterations %d, source %d", tg.id, a, b)
						}
						if src.f.Optimizer != nil && back.f.Optimizer != nil {
							sv, bv := src.f.Optimizer.Variables(), back.f.Optimizer.Variables()
							if len(sv) != len(bv) {
								t.Errorf("%s: %d optimizer variables, source %d", tg.id, len(bv), len(sv))
							} else {
								for k := range sv {
									if !slices.Equal(sv[k].Value.Data, bv[k].Value.Data) {
										t.Errorf("%s: optimizer variable %d (%s) differs", tg.id, k, sv[k].Name)
									}
								}
							}
						}
					}
				}
			})
		}
	}
}

// h5Tree lists every group and dataset of an HDF5 file with dataset
// shapes and the "name" attributes of groups.
func h5Tree(t *testing.T, r io.ReaderAt, size int64) []string {
	t.Helper()
	f, err := h5.NewFile(r, size, "weights")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(g *h5.Group)
	walk = func(g *h5.Group) {
		if a, err := g.Attr("name"); err == nil {
			ss, _ := a.Strings()
			out = append(out, fmt.Sprintf("%s @name=%v", g.Path(), ss))
		}
		names, err := g.Children()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			isGroup, err := g.IsGroup(n)
			if err != nil {
				t.Fatal(err)
			}
			if isGroup {
				sub, err := g.Group(n)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, sub.Path()+"/")
				walk(sub)
				continue
			}
			d, err := g.Dataset(n)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %v %v", d.Path(), d.Shape(), d.DType()))
		}
	}
	walk(f.Root())
	slices.Sort(out)
	return out
}

func zipMember(t *testing.T, data []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		if zf.Name == name {
			if zf.Method != zip.Store {
				t.Errorf("%s is compressed (method %d), Keras stores it", name, zf.Method)
			}
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("archive has no %s", name)
	return nil
}

// TestSaveKerasMatchesKerasLayout checks that a .keras archive saved from
// a Keras 3 archive has Keras's member list, the same config.json bytes
// and a model.weights.h5 with exactly Keras's groups, datasets, shapes,
// dtypes and name attributes.
func TestSaveKerasMatchesKerasLayout(t *testing.T) {
	for _, c := range loadCases(t) {
		mf := c.Model("k3_keras")
		if mf == nil {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			orig, err := os.ReadFile(mf.ModelPath())
			if err != nil {
				t.Fatal(err)
			}
			m, err := Load(mf.ModelPath())
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m.keras")
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
			mine, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zip.NewReader(bytes.NewReader(mine), int64(len(mine)))
			if err != nil {
				t.Fatal(err)
			}
			var members []string
			for _, zf := range zr.File {
				members = append(members, zf.Name)
			}
			if want := []string{"metadata.json", "config.json", "model.weights.h5"}; !slices.Equal(members, want) {
				t.Errorf("members %v, want %v", members, want)
			}
			if !bytes.Equal(zipMember(t, mine, "config.json"), zipMember(t, orig, "config.json")) {
				t.Errorf("config.json differs from the loaded one")
			}
			var meta map[string]string
			if err := json.Unmarshal(zipMember(t, mine, "metadata.json"), &meta); err != nil || meta["keras_version"] == "" || meta["date_saved"] == "" {
				t.Errorf("metadata.json %v: %v", meta, err)
			}
			wm, wo := zipMember(t, mine, "model.weights.h5"), zipMember(t, orig, "model.weights.h5")
			got, want := h5Tree(t, bytes.NewReader(wm), int64(len(wm))), h5Tree(t, bytes.NewReader(wo), int64(len(wo)))
			if !slices.Equal(got, want) {
				t.Errorf("model.weights.h5 layout differs from Keras's:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestSaveDeterministic saves the same model twice at different times:
// the HDF5 files are identical, and the archives differ only in
// metadata.json's date.
func TestSaveDeterministic(t *testing.T) {
	c := loadCases(t)[0]
	m, err := Load(c.Model("k3_keras").ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	defer func(old func() time.Time) { saveTime = old }(saveTime)
	for _, name := range []string{"m.keras", "m.h5", "m.weights.h5"} {
		var files [2][]byte
		for i := range files {
			saveTime = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5+i, 0, time.UTC) }
			path := filepath.Join(dir, fmt.Sprintf("%d%s", i, name))
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
			if files[i], err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
		if name != "m.keras" {
			if !bytes.Equal(files[0], files[1]) {
				t.Errorf("%s: two saves differ", name)
			}
			continue
		}
		for _, member := range []string{"config.json", "model.weights.h5"} {
			if !bytes.Equal(zipMember(t, files[0], member), zipMember(t, files[1], member)) {
				t.Errorf("%s: %s differs between saves", name, member)
			}
		}
		if m0, m1 := string(zipMember(t, files[0], "metadata.json")), string(zipMember(t, files[1], "metadata.json")); !strings.Contains(m0, "2025-01-02@03:04:05") || !strings.Contains(m1, "2025-01-02@03:04:06") {
			t.Errorf("metadata dates: %s / %s", m0, m1)
		}
		saveTime = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
		again := filepath.Join(dir, "again.keras")
		if err := m.Save(again); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(again); !bytes.Equal(b, files[0]) {
			t.Errorf("%s: two saves at the same time differ", name)
		}
	}
}

// failingWriter fails once n bytes have been written.
type failingWriter struct {
	w io.Writer
	n int
}

var errInjected = errors.New("injected write failure")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k, _ := f.w.Write(p[:f.n])
		f.n = 0
		return k, errInjected
	}
	f.n -= len(p)
	return f.w.Write(p)
}

// TestSaveWriteErrorKeepsOriginal injects a write error midway through a
// save over an existing file: the save fails, the file keeps its bytes
// and no temporary file is left.
func TestSaveWriteErrorKeepsOriginal(t *testing.T) {
	c := loadCases(t)[0]
	m, err := Load(c.Model("k3_keras").ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { saveWriteHook = nil }()
	for _, name := range []string{"m.keras", "m.h5", "m.weights.h5"} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		orig := []byte("the previous file, which must survive")
		if err := os.WriteFile(path, orig, 0o640); err != nil {
			t.Fatal(err)
		}
		saveWriteHook = func(w io.Writer) io.Writer { return &failingWriter{w: w, n: 3000} }
		err := m.Save(path)
		saveWriteHook = nil
		if !errors.Is(err, errInjected) {
			t.Fatalf("%s: Save error %v, want the injected one", name, err)
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, orig) {
			t.Errorf("%s: the existing file changed", name)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("%s: directory holds %v after the failed save", name, names)
		}
		// A save that succeeds replaces the file and keeps its mode.
		if err := m.Save(path); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode after save %v (%v), want 0640", name, fi.Mode(), err)
		}
	}
}

// TestSaveOverLoadedFile loads a model and saves it to the same path.
func TestSaveOverLoadedFile(t *testing.T) {
	c := loadCases(t)[0]
	x := caseTensors(t, c)
	for _, id := range []string{"k3_keras", "k3_h5", "k2_h5"} {
		mf := c.Model(id)
		src, err := os.ReadFile(mf.ModelPath())
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), filepath.Base(mf.ModelPath()))
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.Predict(x...)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Save(path); err != nil {
			t.Fatalf("%s: save over the loaded file: %v", id, err)
		}
		back, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := back.Predict(x...)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[0].Data, want[0].Data) {
			t.Errorf("%s: predictions changed", id)
		}
	}
}

func TestSaveRejectsUnknownExtension(t *testing.T) {
	c := loadCases(t)[0]
	m, err := Load(c.Model("k3_keras").ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(filepath.Join(dir, "model.bin")); err == nil || !strings.Contains(err.Error(), "extension") {
		t.Errorf("Save(model.bin) = %v, want an extension error", err)
	}
	if err := m.Save(filepath.Join(dir, "model.keras"), Keras2Compatible()); err == nil {
		t.Errorf("Keras2Compatible with .keras: no error")
	}
	if err := m.Save(filepath.Join(dir, "model.bin"), SaveFormat(FormatKeras)); err != nil {
		t.Errorf("SaveFormat(FormatKeras) to model.bin: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d.keras"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(filepath.Join(dir, "d.keras")); err == nil {
		t.Errorf("saving over a directory: no error")
	}
}

// trainsInGo reports whether Fit can train the model: it was compiled and
// has no layer that refuses training (random augmentation).
func trainsInGo(m *Model) bool {
	if m.f.Training == nil {
		return false
	}
	trains := true
	layers.Walk(m.net, func(l layers.Layer, _ bool) {
		if _, ok := l.(layers.InferenceOnly); ok {
			trains = false
		}
	})
	return trains
}

// hasRandomLayer reports whether training the model draws random numbers
// (dropout, augmentation), which Keras and kerasrun cannot draw alike.
func hasRandomLayer(m *Model) bool {
	random := false
	layers.Walk(m.net, func(l layers.Layer, _ bool) {
		switch l.Common().ClassName {
		case "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
			"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness", "RandomCrop",
			"RandomShear", "RandomGrayscale", "RandomInvert", "RandomColorDegeneration", "RandomPosterization", "Solarization",
			"RandomSaturation", "RandomHue", "RandomColorJitter", "RandomSharpness", "RandomGaussianBlur",
			"RandomErasing", "CutMix", "MixUp", "RandomPerspective":
			random = true
		}
	})
	return random
}

// savedEntry describes one Go-written file for compat/python/check_saved.py.
type savedEntry struct {
	Case   string `json:"case"`
	Source string `json:"source"` // the fixture model the file was made from
	Target string `json:"target"` // keras, h5, h5_k2, weights
	File   string `json:"file"`
	// JSON is the architecture for a weights-only file.
	JSON       string            `json:"json,omitempty"`
	Keras2     bool              `json:"keras2"`
	Inputs     []string          `json:"inputs"`
	Targets    []string          `json:"targets"`
	Pred       []string          `json:"pred"` // Go's predictions from the saved model
	Tolerance  compat.Tolerance  `json:"tolerance"`
	Iterations int64             `json:"iterations"` // optimizer iterations in the file, -1 without optimizer
	Fit        *savedFitExpected `json:"fit,omitempty"`
	// Refused is Keras2Compatible's error for a model tf-keras cannot
	// load; then no file was written.
	Refused string `json:"refused,omitempty"`
}

// savedFitExpected is Go continuing training from the saved file: one
// epoch, no shuffling, then predictions.
type savedFitExpected struct {
	BatchSize int      `json:"batch_size"`
	Epochs    int      `json:"epochs"`
	Pred      []string `json:"pred"`
	// Compare is false when the model draws random numbers in training
	// (dropout): then only running fit is checked.
	Compare bool `json:"compare"`
}

// TestWriteSaved writes, when KERASRUN_SAVE_DIR is set, every fixture
// model trained one epoch in Go and saved in every format, Go's
// predictions, and Go's continued training from each saved file, with
// manifest.json for compat/python/check_saved.py.
func TestWriteSaved(t *testing.T) {
	out := os.Getenv("KERASRUN_SAVE_DIR")
	if out == "" {
		t.Skip("KERASRUN_SAVE_DIR not set")
	}
	var entries []savedEntry
	for _, c := range loadCases(t) {
		x := caseTensors(t, c)
		ys, err := c.Targets()
		if err != nil {
			t.Fatal(err)
		}
		var y []*Tensor
		for _, a := range ys {
			y = append(y, &Tensor{Shape: a.Shape, Data: a.Data})
		}
		abs := func(names []string) []string {
			var out []string
			for _, n := range names {
				p, _ := filepath.Abs(c.Path(n))
				out = append(out, p)
			}
			return out
		}
		batch := (x[0].Shape[0] + 1) / 2
		dir := filepath.Join(out, c.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"k3_keras", "k3_h5", "k2_h5"} {
			mf := c.Model(id)
			if mf == nil {
				continue
			}
			src, err := loadCase(mf)
			if err != nil {
				t.Fatal(err)
			}
			compiled := trainsInGo(src)
			if compiled {
				if _, err := src.Fit(x, y, FitOptions{Epochs: 1, BatchSize: batch}); err != nil {
					t.Fatalf("%s/%s: fit: %v", c.Name, id, err)
				}
			}
			writePreds := func(prefix string, m *Model) []string {
				got, err := m.Predict(x...)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for i, g := range got {
					p := filepath.Join(dir, fmt.Sprintf("%s_pred%d.npy", prefix, i))
					if err := WriteNPY(p, g); err != nil {
						t.Fatal(err)
					}
					names = append(names, p)
				}
				return names
			}
			for _, tg := range saveTargets {
				path := filepath.Join(dir, id+"_"+tg.file)
				if err := src.Save(path, tg.opts...); err != nil {
					if keras2Refused(tg, err) {
						t.Logf("%s/%s: %s not written: %v", c.Name, id, tg.id, err)
						entries = append(entries, savedEntry{Case: c.Name, Source: id, Target: tg.id,
							Keras2: true, Refused: err.Error()})
						continue
					}
					t.Fatalf("%s/%s: save %s: %v", c.Name, id, tg.id, err)
				}
				e := savedEntry{
					Case: c.Name, Source: id, Target: tg.id, File: path, Keras2: tg.id == "h5_k2",
					Inputs: abs(c.InputFiles), Targets: abs(c.TargetFiles), Tolerance: c.Tolerance,
					Iterations: -1,
				}
				if tg.id == "weights" {
					e.JSON, _ = filepath.Abs(c.Path("model_k3.json"))
				}
				back, err := loadSaved(c, mf, path)
				if err != nil {
					t.Fatalf("%s/%s: load %s back: %v", c.Name, id, tg.id, err)
				}
				// The whole file name names its predictions: m.keras and m.h5
				// (k2_h5_m_keras_*, k2_h5_m_h5_*) must not share files.
				prefix := strings.ReplaceAll(filepath.Base(path), ".", "_")
				e.Pred = writePreds(prefix, back)
				if tg.id != "weights" && back.f.Optimizer != nil {
					e.Iterations = back.f.Optimizer.Iterations()
				}
				if compiled && tg.id != "weights" {
					if _, err := back.Fit(x, y, FitOptions{Epochs: 1, BatchSize: batch}); err != nil {
						t.Fatalf("%s/%s: fit from %s: %v", c.Name, id, tg.id, err)
					}
					e.Fit = &savedFitExpected{BatchSize: batch, Epochs: 1, Compare: !hasRandomLayer(back),
						Pred: writePreds(prefix+"_fit", back)}
				}
				entries = append(entries, e)
			}
		}
	}
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d entries (files and Keras2Compatible refusals) and %s", len(entries), filepath.Join(out, "manifest.json"))
}

// TestLoadLeavesNoOpenFile checks that Load closes the file it read, so
// that a save can replace it (and, on Windows, rename over it).
func TestLoadLeavesNoOpenFile(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	c := loadCases(t)[0]
	for _, id := range []string{"k3_keras", "k3_h5", "k2_h5"} {
		path, err := filepath.Abs(c.Model(id).ModelPath())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err != nil {
			t.Fatal(err)
		}
		fds, _ := os.ReadDir("/proc/self/fd")
		for _, fd := range fds {
			if target, _ := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); target == path {
				t.Errorf("%s: %s is still open after Load", id, path)
			}
		}
	}
}

// TestSaveWithoutOptimizer leaves the optimizer state out.
func TestSaveWithoutOptimizer(t *testing.T) {
	c := loadCases(t)[0]
	m, err := Load(c.Model("k3_keras").ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	if m.f.Optimizer == nil {
		t.Fatal("fixture has no optimizer state")
	}
	for _, name := range []string{"m.keras", "m.h5"} {
		path := filepath.Join(t.TempDir(), name)
		if err := m.Save(path, WithoutOptimizer()); err != nil {
			t.Fatal(err)
		}
		back, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if back.f.Optimizer != nil {
			t.Errorf("%s: optimizer state restored from a file saved without it", name)
		}
	}
}

// TestSaveKeras2CompatibleChecksTFKeras saves Keras 3 models whose layers,
// arguments or activations tf-keras lacks: Keras2Compatible refuses them
// naming the layer, and drops Keras 3-only arguments that hold their
// default (ZeroPadding1D's data_format "channels_last").
func TestSaveKeras2CompatibleChecksTFKeras(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		fixture string
		want    []string // in the error; none: the save succeeds
	}{
		{"family_normalization_rms", []string{"tf-keras has no RMSNormalization layer", `layer "`}},
		{"family_pooling_adaptive", []string{"tf-keras has no AdaptiveMaxPooling1D layer", "AdaptiveAveragePooling1D"}},
		{"family_reshaping", nil},
	} {
		m, err := Load(filepath.Join("testdata", tc.fixture, "model_k3.keras"))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, tc.fixture+".h5")
		err = m.Save(path, Keras2Compatible())
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.fixture, err)
				continue
			}
			if _, err := Load(path); err != nil {
				t.Errorf("%s: load back: %v", tc.fixture, err)
			}
			continue
		}
		var ue *UnsupportedError
		if !errors.As(err, &ue) {
			t.Errorf("%s: error %v, want an UnsupportedError", tc.fixture, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.fixture, err, w)
			}
		}
		if _, statErr := os.Stat(path); statErr == nil {
			t.Errorf("%s: refused, yet %s was written", tc.fixture, path)
		}
	}
}
