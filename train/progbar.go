package train

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Progbar prints progress byte for byte as Keras 3's keras.utils.Progbar
// (keras/src/utils/progbar.py) does on a terminal: for Verbose 1 a bar
// redrawn in place ("\b"s and "\r") at most every Interval,
//
//	3/5 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - accuracy: 0.5000 - loss: 1.2345
//
// with Keras's ANSI bold and colours, and for Verbose 2 one line when the
// bar is finalized ("5/5 - 0s - 3ms/step - accuracy: 0.5000 - loss: 1.2345").
// Verbose 0 prints nothing. A Target of 0 or less is an unknown number of
// steps ("      3/Unknown"), as Keras's target=None.
//
// Log values are shown as given (Keras's stateful metrics: the way fit,
// evaluate and predict drive it, since their logs are already running
// means) unless their name is in Stateless, which averages them over the
// steps as Keras's stateless_metrics. Keras prints the logs in the order
// they first appear in its dict; a Go map has none, so each update's new
// names join in sorted order (the order of Keras's own logs).
//
// Keras decides once whether the terminal can redraw a line; under POSIX it
// always assumes so, and so does Progbar.
type Progbar struct {
	// Target is the number of steps expected; 0 or less: unknown.
	Target int
	// Width is the bar's width in characters (Keras's 20).
	Width int
	// Verbose is 0 (silent), 1 (the bar) or 2 (one line at the end).
	Verbose int
	// Interval is the least time between two redraws of the bar (Keras's
	// 0.05 s).
	Interval time.Duration
	// UnitName names a step in the time per step ("step").
	UnitName string
	// Stateless names the logs averaged over steps before display.
	Stateless map[string]bool
	// Now is the clock (time.Now when nil); tests replace it.
	Now func() time.Time

	w          io.Writer
	started    bool
	start      time.Time
	lastUpdate time.Time // zero before the first print, as Keras's 0
	afterFirst time.Time // when step 1 ended; zero before
	seenSoFar  int
	prevWidth  int
	order      []string
	sums       map[string]float64
	counts     map[string]float64
}

// NewProgbar returns a Progbar writing to w with Keras's defaults (width
// 20, an interval of 50 ms, unit "step"); its clock starts now, as a Keras
// Progbar's starts when it is made.
func NewProgbar(w io.Writer, target, verbose int) *Progbar {
	p := &Progbar{Target: target, Width: 20, Verbose: verbose, Interval: 50 * time.Millisecond, UnitName: "step", w: w}
	p.Start()
	return p
}

// Start (re)starts the bar's clock; Update calls it when it was not.
func (p *Progbar) Start() {
	if p.Now == nil {
		p.Now = time.Now
	}
	p.start, p.started = p.Now(), true
}

// Update records the logs after step current (1-based) and prints as
// Keras's Progbar.update(current, values, finalize) does. finalize marks
// the last update (the end of the epoch): it draws the elapsed time
// instead of the ETA and ends the line.
func (p *Progbar) Update(current int, logs map[string]float64, finalize bool) {
	if !p.started {
		p.Start()
	}
	if p.sums == nil {
		p.sums, p.counts = map[string]float64{}, map[string]float64{}
	}
	var added []string
	for k, v := range logs {
		if _, seen := p.sums[k]; !seen {
			added = append(added, k)
		}
		switch {
		case !p.Stateless[k] || finalize:
			p.sums[k], p.counts[k] = v, 1
		default:
			base := float64(max(current-p.seenSoFar, 1))
			p.sums[k] += v * base
			p.counts[k] += base
		}
	}
	sort.Strings(added)
	p.order = append(p.order, added...)
	p.seenSoFar = current
	now := p.Now()
	perStep := p.stepDuration(current, now)
	switch p.Verbose {
	case 1:
		if !finalize && now.Sub(p.lastUpdate) < p.Interval && !p.lastUpdate.IsZero() {
			return // not drawn, and the last draw's time stays
		}
		p.draw(current, now, perStep, finalize)
	case 2:
		if finalize && p.Target > 0 {
			digits := len(fmt.Sprint(p.Target))
			line := fmt.Sprintf("%*d/%d - %.0fs -%s", digits, current, p.Target, now.Sub(p.start).Seconds(), p.formatTime(perStep))
			for _, k := range p.order {
				line += " - " + k + ": " + formatLogValue(p.mean(k), false)
			}
			io.WriteString(p.w, line+"\n")
		}
	}
	p.lastUpdate = now
}

// draw writes the verbose 1 bar.
func (p *Progbar) draw(current int, now time.Time, perStep float64, finalize bool) {
	// line is what shows on screen; hidden counts the bytes of its escape
	// codes, which take no room, and the rest is counted in characters
	// ("━" is one), as Python's len does.
	var line strings.Builder
	hidden := 0
	known := p.Target > 0
	if known {
		digits := len(fmt.Sprint(p.Target))
		fmt.Fprintf(&line, "\x1b[1m%*d/%d\x1b[0m ", digits, current, p.Target)
		hidden += 8
		done := int(float64(p.Width) * float64(current) / float64(p.Target))
		if done > 0 {
			line.WriteString("\x1b[32m" + strings.Repeat("━", done) + "\x1b[0m")
			hidden += 9
		}
		line.WriteString("\x1b[37m" + strings.Repeat("━", max(p.Width-done, 0)) + "\x1b[0m")
		hidden += 9
	} else {
		fmt.Fprintf(&line, "%7d/Unknown", current)
	}
	if known && !finalize {
		line.WriteString(" \x1b[1m" + formatETA(perStep*float64(p.Target-current)) + "\x1b[0m")
	} else {
		fmt.Fprintf(&line, " \x1b[1m%.0fs\x1b[0m", now.Sub(p.start).Seconds())
	}
	hidden += 8
	line.WriteString(p.formatTime(perStep))
	for _, k := range p.order {
		line.WriteString(" - " + k + ": " + formatLogValue(p.mean(k), true))
	}
	width := utf8.RuneCountInString(line.String()) - hidden
	out := strings.Repeat("\b", p.prevWidth) + "\r" + line.String()
	if p.prevWidth > width {
		out += strings.Repeat(" ", p.prevWidth-width)
	}
	if finalize {
		out += "\n"
	}
	io.WriteString(p.w, out)
	p.prevWidth = width
}

func (p *Progbar) mean(k string) float64 { return p.sums[k] / math.Max(1, p.counts[k]) }

// stepDuration estimates the seconds per step as Keras does: leaving the
// first step (compilation, in Keras) out once there are more.
func (p *Progbar) stepDuration(current int, now time.Time) float64 {
	if current == 0 {
		return 0
	}
	var d float64
	if !p.afterFirst.IsZero() && current > 1 {
		d = now.Sub(p.afterFirst).Seconds() / float64(current-1)
	} else {
		d = now.Sub(p.start).Seconds() / float64(current)
	}
	if current == 1 {
		p.afterFirst = now
	}
	return d
}

// formatTime is Keras's _format_time: " 3ms/step".
func (p *Progbar) formatTime(sec float64) string {
	unit := p.UnitName
	if unit == "" {
		unit = "step"
	}
	switch {
	case sec >= 1 || sec == 0:
		return fmt.Sprintf(" %.0fs/%s", sec, unit)
	case sec >= 1e-3:
		return fmt.Sprintf(" %.0fms/%s", sec*1e3, unit)
	}
	return fmt.Sprintf(" %.0fus/%s", sec*1e6, unit)
}

// formatETA is Keras's "%ds", "%d:%02d" or "%d:%02d:%02d".
func formatETA(eta float64) string {
	s := int(eta)
	switch {
	case eta > 3600:
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s%3600/60, s%60)
	case eta > 60:
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}

// formatLogValue prints a log as Keras does: 4 decimals, or scientific
// notation for small values (verbose 1 compares |v|, verbose 2 v itself).
func formatLogValue(v float64, absolute bool) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	big := v > 1e-3
	if absolute {
		big = math.Abs(v) > 1e-3
	}
	if big {
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.4e", v)
}
