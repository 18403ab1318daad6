package plot

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"strings"
	"testing"
)

// testGraph is a branch with a skip connection around two layers, two
// inputs and an expanded nested model with a cluster inside a cluster.
func testGraph() *Graph {
	g := &Graph{Clusters: []Cluster{{Label: "outer_block", Parent: -1}, {Label: "inner", Parent: 0}}}
	add := func(title string, cluster int, cells ...string) int {
		n := Node{Title: title, Cluster: cluster}
		for _, c := range cells {
			cell := CellWhite
			cell.Text = c
			n.Cells = append(n.Cells, cell)
		}
		g.Nodes = append(g.Nodes, n)
		return len(g.Nodes) - 1
	}
	a := add("a (InputLayer)", -1, "Output shape: (None, 4)")
	b := add("b (InputLayer)", -1)
	c := add("c (Dense)", 0, "Input shape: (None, 4)", "Output shape: (None, 8)")
	d := add("d (Dense)", 1)
	e := add("e (Dense)", 1, "Output shape: (None, 8)")
	f := add("f (Concatenate)", -1)
	out := add("out (Dense)", -1, "Trainable")
	g.Edges = [][2]int{{a, c}, {c, d}, {d, e}, {c, f}, {e, f}, {b, f}, {f, out}}
	return g
}

func overlap(p, q box) bool {
	return p.x < q.x+q.w && q.x < p.x+p.w && p.y < q.y+q.h && q.y < p.y+p.h
}

// TestGraphLayout: boxes do not overlap, every edge goes down, and a
// box is wide enough for its title and cells.
func TestGraphLayout(t *testing.T) {
	g := testGraph()
	cv := g.Draw()
	for i, p := range g.placed {
		if p.x < 0 || p.y < 0 || p.x+p.w > cv.W || p.y+p.h > cv.H {
			t.Errorf("box %q at %+v is outside the %gx%g canvas", g.Nodes[i].Title, p, cv.W, cv.H)
		}
		if p.w < TextWidth(g.Nodes[i].Title) {
			t.Errorf("box %q is %g wide, its title %g", g.Nodes[i].Title, p.w, TextWidth(g.Nodes[i].Title))
		}
		for j, q := range g.placed[i+1:] {
			if overlap(p, q) {
				t.Errorf("boxes %q and %q overlap: %+v %+v", g.Nodes[i].Title, g.Nodes[i+1+j].Title, p, q)
			}
		}
	}
	for _, e := range g.Edges {
		if s, d := g.placed[e[0]], g.placed[e[1]]; d.y <= s.y+s.h {
			t.Errorf("edge %q -> %q does not go down", g.Nodes[e[0]].Title, g.Nodes[e[1]].Title)
		}
	}
}

// TestSVGAndPNG: the SVG is well-formed XML holding every title, the PNG
// decodes at twice the canvas size and is not blank.
func TestSVGAndPNG(t *testing.T) {
	g := testGraph()
	cv := g.Draw()
	var svg bytes.Buffer
	if err := cv.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	var texts []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) != "" {
			texts = append(texts, string(cd))
		}
	}
	joined := strings.Join(texts, "\n")
	for _, n := range g.Nodes {
		if !strings.Contains(joined, n.Title) {
			t.Errorf("SVG lacks the title %q", n.Title)
		}
	}
	for _, c := range g.Clusters {
		if !strings.Contains(joined, c.Label) {
			t.Errorf("SVG lacks the cluster label %q", c.Label)
		}
	}
	var pngBuf bytes.Buffer
	if err := cv.WritePNG(&pngBuf, 2); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&pngBuf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < int(2*cv.W) || b.Dy() < int(2*cv.H) {
		t.Fatalf("PNG is %v, the canvas %gx%g at scale 2", b, cv.W, cv.H)
	}
	// A title row is black: the pixel at the centre of the first box's
	// title row, beside its text, must be black.
	p := g.placed[0]
	r, gg, bb, _ := img.At(int(2*(p.x+2)), int(2*(p.y+4))).RGBA()
	if r|gg|bb != 0 {
		t.Errorf("the first box's title row is not black in the PNG")
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0.06, 0.64, "0 0.1 0.2 0.3 0.4 0.5 0.6 0.7"},
		{1, 12, "0 2 4 6 8 10 12"},
		{1.4, 2.2, "1.4 1.6 1.8 2 2.2"},
	} {
		ts := niceTicks(c.lo, c.hi, 8)
		var got []string
		for _, v := range ts {
			got = append(got, formatTickPlain(v))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("niceTicks(%g, %g) = %v, want %s", c.lo, c.hi, got, c.want)
		}
	}
}

func formatTickPlain(v float64) string {
	s := strings.TrimRight(strings.TrimRight(strings.TrimSpace(formatTick(v, []float64{0, 0.0001})), "0"), ".")
	if s == "" || s == "-" {
		return "0"
	}
	return s
}
