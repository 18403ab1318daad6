package kerasjson

import (
	"fmt"
	"sort"
	"strings"
)

// dumpModel renders a parsed model as text: one line per layer with its
// class, name and calls, nested models indented. Tests compare it with
// expectations written from the Keras source model.
func dumpModel(m *Model) string {
	var b strings.Builder
	dumpInto(&b, m, "")
	return b.String()
}

func refString(r TensorRef) string {
	return fmt.Sprintf("%s:%d:%d", r.Layer, r.NodeIndex, r.TensorIndex)
}

func refsString(refs []TensorRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = refString(r)
	}
	return strings.Join(s, " ")
}

func dumpInto(b *strings.Builder, m *Model, indent string) {
	fmt.Fprintf(b, "%s%s %q in=[%s] out=[%s]\n", indent, m.ClassName, m.Name, refsString(m.Inputs), refsString(m.Outputs))
	for _, l := range m.Layers {
		fmt.Fprintf(b, "%s  %s %s", indent, l.ClassName, l.Name)
		for _, n := range l.Inbound {
			fmt.Fprintf(b, " (%s", refsString(n.Args))
			keys := make([]string, 0, len(n.Kwargs))
			for k := range n.Kwargs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v := n.Kwargs[k]
				switch t := v.(type) {
				case TensorRef:
					v = refString(t)
				case []TensorRef:
					v = "[" + refsString(t) + "]"
				}
				fmt.Fprintf(b, " %s=%v", k, v)
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
		if l.Model != nil {
			dumpInto(b, l.Model, indent+"    ")
		}
	}
}
