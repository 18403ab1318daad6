// Package plot draws the pictures of kerasrun plot: a model's layer graph
// (as keras.utils.plot_model lays it out) and the loss and metric curves
// of a training history (CSVLogger's file). A Canvas of boxes, lines and
// monospaced text is written as SVG directly, or rasterized to PNG with
// image/draw; PNG text uses golang.org/x/image/font/basicfont's 7x13
// bitmap face, so a PNG needs no font files and looks the same everywhere.
package plot

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Text metrics: every character is charW wide (basicfont's 7x13 face);
// the SVG text uses a monospaced font stretched to the same width.
const (
	charW   = 7.0
	textH   = 13.0
	ascent  = 11.0
	descent = textH - ascent
)

// TextWidth is the width of s in canvas units.
func TextWidth(s string) float64 { return charW * float64(len([]rune(s))) }

// Point is a position on the canvas; y grows downwards.
type Point struct{ X, Y float64 }

var (
	black     = color.RGBA{0, 0, 0, 255}
	white     = color.RGBA{255, 255, 255, 255}
	gray      = color.RGBA{120, 120, 120, 255}
	lightGray = color.RGBA{225, 225, 225, 255}
)

type item interface{}

type rectItem struct {
	x, y, w, h    float64
	fill, stroke  color.RGBA
	strokeW       float64
	dashed, noFil bool
}

type lineItem struct {
	pts    []Point
	width  float64
	col    color.RGBA
	dashed bool
}

type polyItem struct {
	pts []Point
	col color.RGBA
}

type textItem struct {
	x, y   float64 // baseline start (left), or centre when centred
	s      string
	col    color.RGBA
	bold   bool
	anchor string // "start", "middle", "end"
}

// Canvas collects drawing operations in canvas units.
type Canvas struct {
	W, H  float64
	items []item
}

// FillRect fills a rectangle, outlined with stroke when strokeW > 0.
func (c *Canvas) FillRect(x, y, w, h float64, fill, stroke color.RGBA, strokeW float64) {
	c.items = append(c.items, rectItem{x: x, y: y, w: w, h: h, fill: fill, stroke: stroke, strokeW: strokeW})
}

// StrokeRect outlines a rectangle, dashed or not.
func (c *Canvas) StrokeRect(x, y, w, h float64, stroke color.RGBA, strokeW float64, dashed bool) {
	c.items = append(c.items, rectItem{x: x, y: y, w: w, h: h, stroke: stroke, strokeW: strokeW, dashed: dashed, noFil: true})
}

// Line draws a polyline.
func (c *Canvas) Line(pts []Point, width float64, col color.RGBA, dashed bool) {
	c.items = append(c.items, lineItem{pts: pts, width: width, col: col, dashed: dashed})
}

// Polygon fills a polygon.
func (c *Canvas) Polygon(pts []Point, col color.RGBA) {
	c.items = append(c.items, polyItem{pts: pts, col: col})
}

// Text writes s with its baseline at y; anchor is "start", "middle" or
// "end" for x at the text's left, centre or right.
func (c *Canvas) Text(x, y float64, s string, col color.RGBA, bold bool, anchor string) {
	c.items = append(c.items, textItem{x: x, y: y, s: s, col: col, bold: bold, anchor: anchor})
}

// Arrow draws a line ending in an arrowhead at its last point.
func (c *Canvas) Arrow(pts []Point, width float64, col color.RGBA) {
	n := len(pts)
	a, b := pts[n-2], pts[n-1]
	dx, dy := b.X-a.X, b.Y-a.Y
	l := math.Hypot(dx, dy)
	if l == 0 {
		c.Line(pts, width, col, false)
		return
	}
	ux, uy := dx/l, dy/l
	const size = 10.0
	base := Point{b.X - ux*size, b.Y - uy*size}
	line := append(append([]Point(nil), pts[:n-1]...), base)
	c.Line(line, width, col, false)
	c.Polygon([]Point{b, {base.X - uy*size*0.45, base.Y + ux*size*0.45}, {base.X + uy*size*0.45, base.Y - ux*size*0.45}}, col)
}

func svgColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WriteSVG writes the canvas as an SVG document.
func (c *Canvas) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\">\n", c.W, c.H, c.W, c.H)
	fmt.Fprintf(bw, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n")
	for _, it := range c.items {
		switch t := it.(type) {
		case rectItem:
			fill := svgColor(t.fill)
			if t.noFil {
				fill = "none"
			}
			stroke := ""
			if t.strokeW > 0 {
				stroke = fmt.Sprintf(" stroke=\"%s\" stroke-width=\"%g\"", svgColor(t.stroke), t.strokeW)
				if t.dashed {
					stroke += " stroke-dasharray=\"6,4\""
				}
			}
			fmt.Fprintf(bw, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"%s\"%s/>\n", t.x, t.y, t.w, t.h, fill, stroke)
		case lineItem:
			var pts []string
			for _, p := range t.pts {
				pts = append(pts, fmt.Sprintf("%g,%g", p.X, p.Y))
			}
			dash := ""
			if t.dashed {
				dash = " stroke-dasharray=\"6,4\""
			}
			fmt.Fprintf(bw, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%g\" stroke-linejoin=\"round\"%s/>\n", strings.Join(pts, " "), svgColor(t.col), t.width, dash)
		case polyItem:
			var pts []string
			for _, p := range t.pts {
				pts = append(pts, fmt.Sprintf("%g,%g", p.X, p.Y))
			}
			fmt.Fprintf(bw, "<polygon points=\"%s\" fill=\"%s\"/>\n", strings.Join(pts, " "), svgColor(t.col))
		case textItem:
			weight := ""
			if t.bold {
				weight = " font-weight=\"bold\""
			}
			fmt.Fprintf(bw, "<text x=\"%g\" y=\"%g\" text-anchor=\"%s\" font-family=\"DejaVu Sans Mono,Menlo,Consolas,monospace\" font-size=\"11.6\" textLength=\"%g\" lengthAdjust=\"spacingAndGlyphs\" fill=\"%s\"%s>%s</text>\n",
				t.x, t.y, t.anchor, TextWidth(t.s), svgColor(t.col), weight, xmlEscape(t.s))
		}
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

// WritePNG rasterizes the canvas at scale pixels per canvas unit.
func (c *Canvas) WritePNG(w io.Writer, scale int) error {
	img := c.Raster(scale)
	return png.Encode(w, img)
}

// Raster draws the canvas into an image at scale pixels per unit.
func (c *Canvas) Raster(scale int) *image.RGBA {
	s := float64(scale)
	img := image.NewRGBA(image.Rect(0, 0, int(math.Ceil(c.W*s)), int(math.Ceil(c.H*s))))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	for _, it := range c.items {
		switch t := it.(type) {
		case rectItem:
			if !t.noFil {
				fillBox(img, t.x*s, t.y*s, (t.x+t.w)*s, (t.y+t.h)*s, t.fill)
			}
			if t.strokeW > 0 {
				corners := []Point{{t.x, t.y}, {t.x + t.w, t.y}, {t.x + t.w, t.y + t.h}, {t.x, t.y + t.h}, {t.x, t.y}}
				rasterLine(img, corners, t.strokeW*s, s, t.stroke, t.dashed)
			}
		case lineItem:
			rasterLine(img, t.pts, t.width*s, s, t.col, t.dashed)
		case polyItem:
			fillPolygon(img, t.pts, s, t.col)
		case textItem:
			rasterText(img, t, scale)
		}
	}
	return img
}

func fillBox(img *image.RGBA, x0, y0, x1, y1 float64, col color.RGBA) {
	r := image.Rect(int(math.Round(x0)), int(math.Round(y0)), int(math.Round(x1)), int(math.Round(y1)))
	draw.Draw(img, r, image.NewUniform(col), image.Point{}, draw.Src)
}

// rasterLine stamps a square pen of the given width along each segment
// (in canvas units, scaled by s); dashed lines draw 6 units on, 4 off.
func rasterLine(img *image.RGBA, pts []Point, width, s float64, col color.RGBA, dashed bool) {
	half := math.Max(width/2, 0.5)
	travelled := 0.0
	for i := 1; i < len(pts); i++ {
		a := Point{pts[i-1].X * s, pts[i-1].Y * s}
		b := Point{pts[i].X * s, pts[i].Y * s}
		l := math.Hypot(b.X-a.X, b.Y-a.Y)
		steps := int(math.Ceil(l*2)) + 1
		for k := 0; k <= steps; k++ {
			f := float64(k) / float64(steps)
			if dashed && math.Mod((travelled+f*l)/s, 10) >= 6 {
				continue
			}
			x, y := a.X+(b.X-a.X)*f, a.Y+(b.Y-a.Y)*f
			fillBox(img, x-half, y-half, x+half, y+half, col)
		}
		travelled += l
	}
}

func fillPolygon(img *image.RGBA, pts []Point, s float64, col color.RGBA) {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		minX, maxX = math.Min(minX, p.X*s), math.Max(maxX, p.X*s)
		minY, maxY = math.Min(minY, p.Y*s), math.Max(maxY, p.Y*s)
	}
	for y := int(math.Floor(minY)); y <= int(math.Ceil(maxY)); y++ {
		for x := int(math.Floor(minX)); x <= int(math.Ceil(maxX)); x++ {
			if inside(pts, (float64(x)+0.5)/s, (float64(y)+0.5)/s) {
				img.SetRGBA(x, y, col)
			}
		}
	}
}

func inside(pts []Point, x, y float64) bool {
	in := false
	for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
		a, b := pts[i], pts[j]
		if (a.Y > y) != (b.Y > y) && x < (b.X-a.X)*(y-a.Y)/(b.Y-a.Y)+a.X {
			in = !in
		}
	}
	return in
}

// rasterText draws the text with basicfont at one pixel per unit into a
// mask, then copies it up scaled (nearest neighbour); bold text is drawn
// twice, one pixel apart.
func rasterText(img *image.RGBA, t textItem, scale int) {
	w := int(TextWidth(t.s)) + 2
	mask := image.NewAlpha(image.Rect(0, 0, w, int(textH)))
	d := &font.Drawer{Dst: mask, Src: image.Opaque, Face: basicfont.Face7x13}
	for _, dx := range boldOffsets(t.bold) {
		d.Dot = fixed.P(dx, int(ascent))
		d.DrawString(t.s)
	}
	x0 := t.x
	switch t.anchor {
	case "middle":
		x0 -= TextWidth(t.s) / 2
	case "end":
		x0 -= TextWidth(t.s)
	}
	ox, oy := int(math.Round(x0*float64(scale))), int(math.Round((t.y-ascent)*float64(scale)))
	for y := 0; y < mask.Rect.Dy(); y++ {
		for x := 0; x < mask.Rect.Dx(); x++ {
			if mask.AlphaAt(x, y).A < 128 {
				continue
			}
			fillBox(img, float64(ox+x*scale), float64(oy+y*scale), float64(ox+(x+1)*scale), float64(oy+(y+1)*scale), t.col)
		}
	}
}

func boldOffsets(bold bool) []int {
	if bold {
		return []int{0, 1}
	}
	return []int{0}
}
