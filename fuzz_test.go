package kerasrun

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerasrun/kerasrun/internal/npy"
	"github.com/kerasrun/kerasrun/runtime"
)

// The fuzz targets below feed Load, the input reader and Load + Predict
// arbitrary bytes. Their seeds are the small model files of testdata (and
// of the real-world corpus when present), so `go test` runs every seed;
// `make fuzz` mutates them for a while. A target fails on a panic and on
// an error saying "internal error" (a recovered panic inside a reader).

// fuzzSeedLimit keeps seeds small: mutating a large file is slow and
// finds nothing a small one does not.
const fuzzSeedLimit = 64 << 10

// seedRoots are the directories seeds come from: testdata, the
// real-world corpus beside the repository, and KERASRUN_FUZZ_SEEDS (a
// list of directories, as PATH) when set.
func seedRoots() []string {
	roots := []string{"testdata", realworldDir}
	if s := os.Getenv("KERASRUN_FUZZ_SEEDS"); s != "" {
		roots = append(roots, filepath.SplitList(s)...)
	}
	return roots
}

// seedFiles returns every file under seedRoots whose name ends in one of
// exts and that is under fuzzSeedLimit bytes, except the crashers of
// testdata/fuzz (the fuzz engine runs those itself).
func seedFiles(f *testing.F, exts ...string) [][]byte {
	var out [][]byte
	for _, root := range seedRoots() {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if p == filepath.Join("testdata", "fuzz") {
					return filepath.SkipDir
				}
				return nil
			}
			info, err := d.Info()
			if err != nil || info.Size() > fuzzSeedLimit {
				return nil
			}
			for _, e := range exts {
				if strings.HasSuffix(p, e) {
					if data, err := os.ReadFile(p); err == nil {
						out = append(out, data)
					}
					return nil
				}
			}
			return nil
		})
	}
	if len(out) == 0 {
		f.Fatalf("no seed file ending in %v under %v", exts, seedRoots())
	}
	return out
}

// addSeeds adds the seedFiles ending in one of exts.
func addSeeds(f *testing.F, exts ...string) {
	for _, data := range seedFiles(f, exts...) {
		f.Add(data)
	}
}

// checkErr fails on an error that hides a panic; it reports whether err
// is nil.
func checkErr(t *testing.T, err error) bool {
	if err != nil && strings.Contains(err.Error(), "internal error") {
		t.Fatalf("hidden panic: %v", err)
	}
	return err == nil
}

// FuzzLoadKeras: Load on the bytes of a .keras archive.
func FuzzLoadKeras(f *testing.F) {
	addSeeds(f, ".keras")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadBytes(data, WithName("fuzz.keras"))
		if checkErr(t, err) {
			checkLoaded(t, m)
		} else if m != nil {
			t.Fatalf("a model came back with the error %v", err)
		}
	})
}

// FuzzLoadH5: Load on the bytes of a legacy .h5.
func FuzzLoadH5(f *testing.F) {
	addSeeds(f, ".h5")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadBytes(data, WithName("fuzz.h5"))
		if checkErr(t, err) {
			checkLoaded(t, m)
		} else if m != nil {
			t.Fatalf("a model came back with the error %v", err)
		}
	})
}

// FuzzLoadJSONWeights: Load on a model JSON and the bytes of its weights
// file.
func FuzzLoadJSONWeights(f *testing.F) {
	for _, dir := range []string{"mlp_relu", "func_two_io", "family_core"} {
		for _, pair := range [][2]string{{"model_k3.json", "model_k3.weights.h5"}, {"model_k2.json", "model_k2_weights.h5"}} {
			js, err1 := os.ReadFile(filepath.Join("testdata", dir, pair[0]))
			w, err2 := os.ReadFile(filepath.Join("testdata", dir, pair[1]))
			if err1 == nil && err2 == nil && len(w) <= fuzzSeedLimit {
				f.Add(js, w)
			}
		}
	}
	f.Fuzz(func(t *testing.T, js, w []byte) {
		m, err := LoadBytes(js, WithName("fuzz.json"), WithWeightsReader(bytes.NewReader(w), int64(len(w))))
		if checkErr(t, err) {
			checkLoaded(t, m)
		} else if m != nil {
			t.Fatalf("a model came back with the error %v", err)
		}
	})
}

// FuzzReadNPY: the .npy input reader.
func FuzzReadNPY(f *testing.F) {
	addSeeds(f, ".npy")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := npy.Read(bytes.NewReader(data))
		if !checkErr(t, err) {
			return
		}
		if a.Len() != len(a.Data) || runtime.ShapeSize(a.Shape) != len(a.Data) {
			t.Fatalf("shape %v holds %d values, data has %d", a.Shape, runtime.ShapeSize(a.Shape), len(a.Data))
		}
	})
}

// FuzzLoadPredict: a model that loads predicts a correctly shaped input,
// or says why not, without a panic.
func FuzzLoadPredict(f *testing.F) {
	addSeeds(f, ".keras", ".h5")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadBytes(data, WithName("fuzz"))
		if !checkErr(t, err) {
			return
		}
		xs := make([]*Tensor, len(m.Inputs()))
		for i, in := range m.Inputs() {
			shape := append([]int(nil), in.Shape...)
			for j, d := range shape {
				if d < 0 {
					shape[j] = 2
				}
			}
			n := runtime.ShapeSize(shape)
			if n <= 0 || n > 1<<20 {
				return
			}
			x := runtime.NewTensor(shape...)
			for k := range x.Data {
				x.Data[k] = float32(k%7) / 7
			}
			xs[i] = x
		}
		out, err := m.Predict(xs...)
		if checkErr(t, err) && len(out) != len(m.Outputs()) {
			t.Fatalf("%d outputs, the model declares %d", len(out), len(m.Outputs()))
		}
	})
}

// checkLoaded runs what needs no input on a loaded model.
func checkLoaded(t *testing.T, m *Model) {
	if m == nil {
		t.Fatal("Load returned neither a model nor an error")
	}
	var b bytes.Buffer
	checkErr(t, m.Summary(&b))
	_ = m.Inputs()
	_ = m.Outputs()
}

// fuzzDir is a directory for the targets whose input is a set of files,
// made once per target (a t.TempDir per execution would cost more than
// the load): the fuzz function of one worker never runs concurrently
// with itself, and the seeds run one after another in go test.
func fuzzDir(f *testing.F) string {
	dir, err := os.MkdirTemp("", "kerasrun-fuzz-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// writeFiles replaces dir's files with files (name -> content; a nil
// content leaves the file out).
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range files {
		if data == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// archiveMembers is the config, metadata and weights members of a .keras
// seed (nil for a member it lacks).
func archiveMembers(data []byte) (cfg, meta, weights []byte, ok bool) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, nil, false
	}
	read := func(name string) []byte {
		rc, err := zr.Open(name)
		if err != nil {
			return nil
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return b
	}
	cfg, meta, weights = read("config.json"), read("metadata.json"), read("model.weights.h5")
	return cfg, meta, weights, cfg != nil && len(weights) <= fuzzSeedLimit
}

// FuzzLoadKerasDir: Load on a .keras directory (an unzipped archive:
// config.json, metadata.json, model.weights.h5), seeded with the members
// of the .keras seeds.
func FuzzLoadKerasDir(f *testing.F) {
	n := 0
	for _, data := range seedFiles(f, ".keras") {
		if cfg, meta, w, ok := archiveMembers(data); ok {
			f.Add(cfg, meta, w)
			n++
		}
	}
	if n == 0 {
		f.Fatal("no .keras seed to unzip")
	}
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, cfg, meta, weights []byte) {
		writeFiles(t, dir, map[string][]byte{"config.json": cfg, "metadata.json": meta, "model.weights.h5": weights})
		m, err := Load(dir)
		if checkErr(t, err) {
			checkLoaded(t, m)
		} else if m != nil {
			t.Fatalf("a model came back with the error %v", err)
		}
	})
}

// FuzzLoadSharded: Load on a model JSON whose weights are sharded (a
// .weights.json map naming three .weights.h5 shards), seeded with
// testdata/sharded.
func FuzzLoadSharded(f *testing.F) {
	names := []string{"model.json", "model.weights.json", "model_00000.weights.h5", "model_00001.weights.h5", "model_00002.weights.h5"}
	var seed [5][]byte
	for i, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", "sharded", n))
		if err != nil {
			f.Fatal(err)
		}
		seed[i] = b
	}
	f.Add(seed[0], seed[1], seed[2], seed[3], seed[4])
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, js, wmap, s0, s1, s2 []byte) {
		files := map[string][]byte{}
		for i, b := range [][]byte{js, wmap, s0, s1, s2} {
			files[names[i]] = b
		}
		writeFiles(t, dir, files)
		m, err := Load(filepath.Join(dir, names[0]), WithWeights(filepath.Join(dir, names[1])))
		if checkErr(t, err) {
			checkLoaded(t, m)
		} else if m != nil {
			t.Fatalf("a model came back with the error %v", err)
		}
	})
}

// FuzzInspect: Inspect on a .keras or .h5 file. A file Inspect reads
// gives an Inspection that prints, with every declared input shape.
func FuzzInspect(f *testing.F) {
	addSeeds(f, ".keras", ".h5")
	dir := fuzzDir(f)
	path := filepath.Join(dir, "model")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := Inspect(path)
		if !checkErr(t, err) {
			if in != nil {
				t.Fatalf("an Inspection came back with the error %v", err)
			}
			return
		}
		if in == nil {
			t.Fatal("Inspect returned neither an Inspection nor an error")
		}
		_ = in.String()
		if in.Config == nil && in.ClassName == "" {
			t.Fatalf("an Inspection with neither a configuration nor a class: %+v", in)
		}
	})
}
