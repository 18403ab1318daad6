package plot

import (
	"image/color"
	"math"
	"strconv"
)

// Series is one curve: a log's value per epoch.
type Series struct {
	Name   string
	X, Y   []float64
	Dashed bool
}

// Panel is one chart: a metric and its validation counterpart.
type Panel struct {
	Title  string
	XLabel string
	Series []Series
}

var palette = []color.RGBA{
	{31, 119, 180, 255},  // matplotlib's tab:blue
	{255, 127, 14, 255},  // tab:orange
	{44, 160, 44, 255},   // tab:green
	{214, 39, 40, 255},   // tab:red
	{148, 103, 189, 255}, // tab:purple
}

const (
	panelW    = 440.0
	panelH    = 300.0
	plotLeft  = 70.0 // room for the y tick labels
	plotRight = 20.0
	plotTop   = 36.0
	plotBot   = 48.0
)

// DrawPanels lays panels out two to a row.
func DrawPanels(panels []Panel) *Canvas {
	cols := min(2, max(1, len(panels)))
	rows := (len(panels) + cols - 1) / cols
	cv := &Canvas{W: float64(cols)*panelW + 2*margin, H: float64(max(rows, 1))*panelH + 2*margin}
	for i, p := range panels {
		x0 := margin + float64(i%cols)*panelW
		y0 := margin + float64(i/cols)*panelH
		drawPanel(cv, p, x0, y0)
	}
	return cv
}

func drawPanel(cv *Canvas, p Panel, x0, y0 float64) {
	px0, px1 := x0+plotLeft, x0+panelW-plotRight
	py0, py1 := y0+plotTop, y0+panelH-plotBot
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		for k := range s.X {
			if isFinite(s.Y[k]) {
				xmin, xmax = math.Min(xmin, s.X[k]), math.Max(xmax, s.X[k])
				ymin, ymax = math.Min(ymin, s.Y[k]), math.Max(ymax, s.Y[k])
			}
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax, ymin, ymax = 0, 1, 0, 1
	}
	if xmax == xmin {
		xmin, xmax = xmin-0.5, xmax+0.5
	}
	pad := (xmax - xmin) * 0.03
	xlo, xhi := xmin, xmax // the data's range, where ticks go
	xmin, xmax = xmin-pad, xmax+pad
	if ymax == ymin {
		d := math.Max(math.Abs(ymin)*0.1, 0.5)
		ymin, ymax = ymin-d, ymax+d
	}
	ypad := (ymax - ymin) * 0.05
	ymin, ymax = ymin-ypad, ymax+ypad
	yticks := niceTicks(ymin, ymax, 6)
	ymin, ymax = math.Min(ymin, yticks[0]), math.Max(ymax, yticks[len(yticks)-1])
	xticks := niceTicks(xlo, xhi, 8)
	if xhi-xlo >= 1 {
		xticks = integerTicks(xticks)
	}
	sx := func(x float64) float64 { return px0 + (x-xmin)/(xmax-xmin)*(px1-px0) }
	sy := func(y float64) float64 { return py1 - (y-ymin)/(ymax-ymin)*(py1-py0) }

	for _, t := range yticks {
		if t < ymin-1e-12 || t > ymax+1e-12 {
			continue
		}
		y := sy(t)
		cv.Line([]Point{{px0, y}, {px1, y}}, 1, lightGray, false)
		cv.Line([]Point{{px0 - 5, y}, {px0, y}}, 1, black, false)
		cv.Text(px0-8, y+4, formatTick(t, yticks), black, false, "end")
	}
	for _, t := range xticks {
		if t < xmin-1e-12 || t > xmax+1e-12 {
			continue
		}
		x := sx(t)
		cv.Line([]Point{{x, py1}, {x, py1 + 5}}, 1, black, false)
		cv.Text(x, py1+18, formatTick(t, xticks), black, false, "middle")
	}
	cv.StrokeRect(px0, py0, px1-px0, py1-py0, black, 1, false)
	cv.Text((px0+px1)/2, y0+plotTop-12, p.Title, black, true, "middle")
	cv.Text((px0+px1)/2, py1+36, p.XLabel, black, false, "middle")

	for i, s := range p.Series {
		col := palette[i%len(palette)]
		var run []Point
		flush := func() {
			if len(run) > 1 {
				cv.Line(run, 2, col, s.Dashed)
			}
			run = nil
		}
		for k := range s.X {
			if !isFinite(s.Y[k]) {
				flush()
				continue
			}
			pt := Point{sx(s.X[k]), sy(s.Y[k])}
			run = append(run, pt)
			cv.FillRect(pt.X-2.5, pt.Y-2.5, 5, 5, col, col, 0)
		}
		flush()
	}
	// Legend, top right inside the plot.
	lw := 0.0
	for _, s := range p.Series {
		lw = math.Max(lw, TextWidth(s.Name))
	}
	legW, legH := lw+46, float64(len(p.Series))*18+6
	// The corner whose box covers the fewest points of the curves.
	type corner struct{ x, y float64 }
	corners := []corner{{px1 - legW - 2, py0 + 4}, {px1 - legW - 2, py1 - legH - 4}, {px0 + 8, py0 + 4}, {px0 + 8, py1 - legH - 4}}
	best, bestN := corners[0], math.MaxInt
	for _, c := range corners {
		n := 0
		for _, s := range p.Series {
			for k := range s.X {
				if !isFinite(s.Y[k]) {
					continue
				}
				// The curve between points too: sample each segment.
				for f := 0.0; f <= 1 && k+1 < len(s.X) || f == 0; f += 0.1 {
					x, y := s.X[k], s.Y[k]
					if k+1 < len(s.X) && isFinite(s.Y[k+1]) {
						x, y = x+(s.X[k+1]-x)*f, y+(s.Y[k+1]-y)*f
					}
					if X, Y := sx(x), sy(y); X >= c.x-8 && X <= c.x+legW && Y >= c.y-8 && Y <= c.y+legH+4 {
						n++
					}
					if k+1 >= len(s.X) {
						break
					}
				}
			}
		}
		if n < bestN {
			best, bestN = c, n
		}
	}
	lx, ly := best.x+6, best.y+4
	cv.FillRect(lx-6, ly-4, legW, legH, white, lightGray, 1)
	for i, s := range p.Series {
		col := palette[i%len(palette)]
		y := ly + float64(i)*18 + 8
		cv.Line([]Point{{lx, y}, {lx + 26, y}}, 2, col, s.Dashed)
		cv.Text(lx+32, y+4, s.Name, black, false, "start")
	}
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	span := hi - lo
	step := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if span/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var out []float64
	for t := math.Floor(lo/step+1e-9) * step; t <= hi+step*1e-9; t += step {
		out = append(out, math.Round(t/step)*step)
	}
	if len(out) > 0 && out[len(out)-1] < hi-step*1e-9 {
		out = append(out, out[len(out)-1]+step)
	}
	return out
}

// integerTicks keeps the whole-number ticks (epochs).
func integerTicks(ts []float64) []float64 {
	var out []float64
	for _, t := range ts {
		if t == math.Round(t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return ts
	}
	return out
}

// formatTick writes a tick with the decimals its spacing needs.
func formatTick(t float64, ticks []float64) string {
	step := 1.0
	if len(ticks) > 1 {
		step = ticks[1] - ticks[0]
	}
	dec := 0
	for dec < 8 && math.Abs(step*math.Pow(10, float64(dec))-math.Round(step*math.Pow(10, float64(dec)))) > 1e-6 {
		dec++
	}
	if t == 0 {
		t = 0 // no "-0"
	}
	return strconv.FormatFloat(t, 'f', dec, 64)
}
