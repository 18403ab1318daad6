package kerasrun

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bombSize is what the weights bomb of issue 13 declares and inflates
// to: 1.5 GiB.
const bombSize = 3 << 29

// deflateZerosFast is a deflate stream of n zero bytes (n a multiple of
// 1 MiB), built without compressing n bytes: after a first flushed MiB,
// every further MiB of zeros compresses to the same bytes (back
// references into zeros), which are repeated.
func deflateZerosFast(t *testing.T, n int64) []byte {
	t.Helper()
	const chunk = 1 << 20
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, chunk)
	fw.Write(zeros)
	fw.Flush()
	first := buf.Len()
	fw.Write(zeros)
	fw.Flush()
	again := append([]byte(nil), buf.Bytes()[first:]...)
	out := append([]byte(nil), buf.Bytes()[:first]...)
	for range n/chunk - 1 {
		out = append(out, again...)
	}
	// An empty final stored block ends the stream.
	return append(out, 1, 0, 0, 0xff, 0xff)
}

// crcZeros is the CRC-32 of n zero bytes.
func crcZeros(n int64) uint32 {
	zeros := make([]byte, 1<<20)
	var c uint32
	for ; n > 0; n -= int64(len(zeros)) {
		c = crc32.Update(c, crc32.IEEETable, zeros[:min(n, int64(len(zeros)))])
	}
	return c
}

// weightsBomb is the mlp_relu archive whose model.weights.h5 is a deflate
// stream inflating to bombSize bytes and declaring declared (with the
// CRC of what it holds), about 1.5 MB in all.
func weightsBomb(declared uint64) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		stream := deflateZerosFast(t, bombSize)
		crc := crcZeros(bombSize)
		return rezipMLP(t, func(zw *zip.Writer, zf *zip.File) error {
			if zf.Name != "model.weights.h5" {
				return zw.Copy(zf)
			}
			w, err := zw.CreateRaw(&zip.FileHeader{Name: zf.Name, Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(len(stream)), UncompressedSize64: declared})
			if err == nil {
				_, err = w.Write(stream)
			}
			return err
		})
	}
}

// TestDeflateZerosFast: the stream deflateZerosFast builds inflates to
// the zeros it stands for (64 MiB here; the bomb repeats the same block).
func TestDeflateZerosFast(t *testing.T) {
	const size = 64 << 20
	stream := deflateZerosFast(t, size)
	zr := flate.NewReader(bytes.NewReader(stream))
	h := crc32.NewIEEE()
	n, err := io.Copy(h, zr)
	if err != nil || n != size || h.Sum32() != crcZeros(size) {
		t.Fatalf("inflates to %d bytes (%v), want %d zeros", n, err, size)
	}
}

// editArchive rewrites the .keras at path with config.json changed by edit.
func editArchive(path string, edit func(t *testing.T, cfg string) string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, zf := range zr.File {
			if zf.Name != "config.json" {
				if err := zw.Copy(zf); err != nil {
					t.Fatal(err)
				}
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			w, err := zw.Create(zf.Name)
			if err == nil {
				_, err = io.WriteString(w, edit(t, string(b)))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
}

// replaceOnce is s with old replaced by new, failing unless old occurs.
func replaceOnce(t *testing.T, s, old, new string) string {
	if !strings.Contains(s, old) {
		t.Fatalf("the config has no %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

// lambdaLayer turns mlp_relu's first Activation into a Lambda holding
// Python bytecode, as Keras saves one.
func lambdaLayer(t *testing.T, cfg string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(cfg), &m); err != nil {
		t.Fatal(err)
	}
	for _, l := range m["config"].(map[string]any)["layers"].([]any) {
		l := l.(map[string]any)
		if l["class_name"] == "Activation" {
			l["class_name"] = "Lambda"
			l["config"] = map[string]any{"name": "activation", "trainable": true, "arguments": map[string]any{},
				"function": map[string]any{"class_name": "__lambda__", "config": map[string]any{"code": "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAfABkARQAUwApAk7pAgAAAKkAKQHaAXhyAgAAAHICAAAA+gg8c3RkaW4+2gg8bGFtYmRhPgEAAADzAAAAAA==", "defaults": nil, "closure": nil}}}
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatal("no Activation layer")
	return ""
}

// TestHostileBombMemory loads the weights bomb of issue 13 (a 1.5 MB
// .keras whose model.weights.h5 inflates to 1.5 GiB) in a child process,
// by Load and by Inspect, and checks that the child's peak resident set
// (VmHWM) stays under 100 MB. It logs how long the refusal took (no
// timing is asserted).
func TestHostileBombMemory(t *testing.T) {
	if job := os.Getenv("KERASRUN_BOMB_CHILD"); job != "" {
		path := os.Getenv("KERASRUN_BOMB_PATH")
		start := time.Now()
		var err error
		switch job {
		case "load":
			var m *Model
			m, err = Load(path)
			if m != nil {
				err = fmt.Errorf("a model came back (error %v)", err)
			}
		case "inspect":
			var in *Inspection
			in, err = Inspect(path)
			if in != nil {
				err = fmt.Errorf("an Inspection came back (error %v)", err)
			}
		}
		took := time.Since(start)
		fmt.Printf("took %d\nhwm %d\nerror %v\n", took, vmHWM(), err)
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("builds a 1.5 GiB bomb")
	}
	for _, c := range []struct {
		name     string
		declared uint64
		want     map[string]string // job -> what the error says
	}{
		{"declares 1.5 GiB", bombSize, map[string]string{
			"load":    "model.weights.h5: declares 1610612736 bytes inflated, more than the 26353040 this model's variables can need",
			"inspect": "model.weights.h5: inflates 1592837 bytes to 1610612736, a compression ratio over 200:1 that no weights file has (a deflate bomb)",
		}},
		{"declares the real weights' size", 834092, map[string]string{
			"load":    "model.weights.h5: inflates to more than the 834092 bytes it declares",
			"inspect": "model.weights.h5: inflates to more than the 834092 bytes it declares",
		}},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "bomb.keras")
		if err := os.WriteFile(path, weightsBomb(c.declared)(t), 0o644); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(path)
		for _, job := range []string{"load", "inspect"} {
			t.Run(c.name+"/"+job, func(t *testing.T) {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHostileBombMemory$", "-test.count=1")
				cmd.Env = append(os.Environ(), "KERASRUN_BOMB_CHILD="+job, "KERASRUN_BOMB_PATH="+path)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("child: %v\n%s", err, out)
				}
				var took time.Duration
				var hwm uint64
				var msg string
				for _, l := range strings.Split(string(out), "\n") {
					if v, ok := strings.CutPrefix(l, "took "); ok {
						n, _ := strconv.ParseInt(v, 10, 64)
						took = time.Duration(n)
					}
					if v, ok := strings.CutPrefix(l, "hwm "); ok {
						hwm, _ = strconv.ParseUint(v, 10, 64)
					}
					if v, ok := strings.CutPrefix(l, "error "); ok {
						msg = v
					}
				}
				t.Logf("%d-byte file: refused in %v, peak RSS %d MiB: %s", st.Size(), took, hwm>>20, msg)
				if !strings.Contains(msg, path+": "+c.want[job]) {
					t.Errorf("error %q, want %q", msg, path+": "+c.want[job])
				}
				if hwm == 0 || hwm > 100<<20 {
					t.Errorf("peak RSS %d MiB, bound 100 MiB", hwm>>20)
				}
			})
		}
	}
}

// vmHWM is the process's peak resident set size from /proc/self/status.
func vmHWM() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
