package kerasrun

import (
	"fmt"
	"io"
	"strings"

	"github.com/kerasrun/kerasrun/layers"
	"github.com/kerasrun/kerasrun/runtime"
	"github.com/kerasrun/kerasrun/saving"
)

// ParamCounts are a model's parameter counts as model.summary() reports
// them.
type ParamCounts = saving.ParamCounts

// Params counts the model's parameters.
func (m *Model) Params() ParamCounts { return saving.ModelParams(m.net) }

func layerParams(l layers.Layer) ParamCounts { return saving.LayerParams(l) }

// writeSummary prints the layer table of model.summary().
func writeSummary(w io.Writer, m *Model) error {
	rows := [][3]string{{"Layer (type)", "Output Shape", "Param #"}}
	for _, l := range kerasLayers(m.net) {
		b := l.Common()
		shapes := m.net.NodeShapes[l]
		var ss []string
		for _, s := range shapes {
			ss = append(ss, runtime.FormatShape(s))
		}
		rows = append(rows, [3]string{fmt.Sprintf("%s (%s)", b.Name, b.ClassName), strings.Join(ss, ", "), fmt.Sprint(layerParams(l).Total)})
	}
	widths := [3]int{}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	line := strings.Repeat("─", widths[0]+widths[1]+widths[2]+6)
	var b strings.Builder
	fmt.Fprintf(&b, "Model: %q (%s)\n%s\n", m.net.Name, m.net.ClassName, line)
	for i, r := range rows {
		fmt.Fprintf(&b, "%-*s   %-*s   %*s\n", widths[0], r[0], widths[1], r[1], widths[2], r[2])
		if i == 0 {
			b.WriteString(strings.ReplaceAll(line, "─", "━") + "\n")
		}
	}
	p := m.Params()
	fmt.Fprintf(&b, "%s\n Total params: %d\n Trainable params: %d\n Non-trainable params: %d\n", line, p.Total, p.Trainable, p.NonTrainable)
	_, err := io.WriteString(w, b.String())
	return err
}
