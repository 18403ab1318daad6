package kerasrun

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPlotGraphIsKeras: the boxes (in order) and edges of PlotModel are
// those keras.utils.model_to_dot makes for the same file, with and without
// expand_nested (testdata/plot/graphs.json, from compat/python/export_plot.py).
func TestPlotGraphIsKeras(t *testing.T) {
	data, err := os.ReadFile("testdata/plot/graphs.json")
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Graphs []struct {
			Model        string      `json:"model"`
			ExpandNested bool        `json:"expand_nested"`
			Nodes        []string    `json:"nodes"`
			Edges        [][2]string `json:"edges"`
		} `json:"graphs"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Graphs) == 0 {
		t.Fatal("no graphs")
	}
	for _, want := range manifest.Graphs {
		m, err := Load(want.Model)
		if err != nil {
			t.Fatal(err)
		}
		g := m.plotGraph(PlotOptions{ShowLayerNames: true, ExpandNested: want.ExpandNested})
		var names []string
		for _, n := range g.Nodes {
			name, _, _ := strings.Cut(n.Title, " (")
			names = append(names, name)
		}
		if !slices.Equal(names, want.Nodes) {
			t.Errorf("%s expand_nested=%v: boxes %v, Keras %v", want.Model, want.ExpandNested, names, want.Nodes)
		}
		var got []string
		for _, e := range g.Edges {
			got = append(got, names[e[0]]+" -> "+names[e[1]])
		}
		var wantEdges []string
		for _, e := range want.Edges {
			wantEdges = append(wantEdges, e[0]+" -> "+e[1])
		}
		slices.Sort(got)
		slices.Sort(wantEdges)
		if !slices.Equal(got, wantEdges) {
			t.Errorf("%s expand_nested=%v: edges\n%v\nKeras\n%v", want.Model, want.ExpandNested, got, wantEdges)
		}
	}
}

// TestPlotLabels: the labels plot_model writes with show_shapes,
// show_dtype and show_trainable, in its words and Python's shape repr.
func TestPlotLabels(t *testing.T) {
	m, err := Load("testdata/summary/models/states_and_frozen.keras")
	if err != nil {
		t.Fatal(err)
	}
	g := m.plotGraph(PlotOptions{ShowShapes: true, ShowDtype: true, ShowTrainable: true, ShowLayerNames: true})
	labels := map[string][]string{}
	for _, n := range g.Nodes {
		var cells []string
		for _, c := range n.Cells {
			cells = append(cells, c.Text)
		}
		labels[n.Title] = cells
	}
	for title, want := range map[string][]string{
		"sequence (InputLayer)": {"Output shape: (None, 6, 3)", "Output dtype: float32"},
		"encoder (LSTM)": {"Input shape: (None, 6, 3)", "Output shape: [(None, 6, 4), (None, 4), (None, 4)]",
			"Output dtype: ['float32', 'float32', 'float32']", "Trainable"},
		"merge (Concatenate)":       {"Input shape: [(None, 4), (None, 4), (None, 4)]", "Output shape: (None, 12)", "Output dtype: float32"},
		"frozen_projection (Dense)": {"Input shape: (None, 12)", "Output shape: (None, 5)", "Output dtype: float32", "Non-trainable"},
		"float64_head (Dense)":      {"Input shape: (None, 5)", "Output shape: (None, 3)", "Output dtype: float64", "Trainable"},
	} {
		if got := labels[title]; !slices.Equal(got, want) {
			t.Errorf("%s: cells %q, want %q", title, got, want)
		}
	}
}

// TestPlotHistory reads the CSVLogger file Keras wrote and draws it: the
// values are the file's, and the SVG has one curve per log.
func TestPlotHistory(t *testing.T) {
	h, err := ReadHistoryCSV("testdata/plot/history.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 12 || h.Epochs[0] != 0 || h.Epochs[11] != 11 {
		t.Fatalf("epochs %v", h.Epochs)
	}
	if got := h.Logs["val_loss"][11]; got != 0.17243917286396027 {
		t.Fatalf("val_loss of the last epoch %v, the file's 0.17243917286396027", got)
	}
	var svg bytes.Buffer
	if err := PlotHistory(&svg, SVG, h); err != nil {
		t.Fatal(err)
	}
	// Each curve is one polyline of 12 points; the legend adds a 2-point
	// sample per curve.
	curves := 0
	for _, line := range strings.Split(svg.String(), "\n") {
		if strings.HasPrefix(line, "<polyline") && strings.Count(line, ",") == 12 && strings.Contains(line, `stroke-width="2"`) {
			curves++
		}
	}
	if curves != 4 {
		t.Errorf("%d curves of 12 points, want 4 (loss, val_loss, accuracy, val_accuracy)", curves)
	}
	for _, name := range []string{">loss<", ">val_loss<", ">accuracy<", ">val_accuracy<", ">epoch<"} {
		if !strings.Contains(svg.String(), name) {
			t.Errorf("SVG lacks %s", name)
		}
	}
	var pic bytes.Buffer
	if err := PlotHistory(&pic, PNG, h); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&pic); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"epoch\n", "loss,epoch\n0.5,0\n", "epoch,loss\nx,0.5\n", "epoch,loss\n0,abc\n"} {
		if _, err := readHistoryCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: read without an error", bad)
		}
	}
}

// TestPlotModelFile writes both formats through SavePicture, a model JSON
// without weights included, and refuses other extensions.
func TestPlotModelFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"m.svg", "m.png"} {
		path := filepath.Join(dir, name)
		err := SavePicture(path, func(w io.Writer, f ImageFormat) error {
			return PlotModelFile(w, "testdata/func_two_io/model_k3.json", f, PlotOptions{ShowShapes: true})
		})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := SavePicture(filepath.Join(dir, "m.jpg"), func(io.Writer, ImageFormat) error { return nil }); err == nil {
		t.Error("a .jpg picture was accepted")
	}
}
