package layers

import "sort"

// SupportRow says what kerasrun can do with one registered layer class.
type SupportRow struct {
	Class string
	Supports
}

// SupportTable returns a row for every registered layer class, sorted by
// class name, with what its Register call says it supports. The README's
// layer table is generated from it.
func SupportTable() []SupportRow {
	registryMu.RLock()
	defer registryMu.RUnlock()
	rows := make([]SupportRow, 0, len(registry))
	for class, r := range registry {
		rows = append(rows, SupportRow{class, r.supports})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Class < rows[j].Class })
	return rows
}
