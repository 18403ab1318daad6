package plot

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
)

// Graph is a model's layer graph as plot_model draws it: one box per
// layer (a black title row, then a row of cells), edges from producer to
// consumer, and dashed clusters around expanded nested models.
type Graph struct {
	Nodes    []Node
	Edges    [][2]int // node indices, from producer to consumer
	Clusters []Cluster

	// placed are the boxes where the last Draw put them (for tests).
	placed []box
}

// Node is one layer's box.
type Node struct {
	Title string
	Cells []Cell
	// Cluster is the index of the innermost cluster holding the box, -1
	// for none.
	Cluster int
}

// Cell is one cell of a box's second row.
type Cell struct {
	Text      string
	Fill, Ink color.RGBA
}

// Cluster is an expanded nested model.
type Cluster struct {
	Label  string
	Parent int // enclosing cluster, -1 for none
}

// Cell colours of plot_model's labels.
var (
	CellWhite      = Cell{Fill: white, Ink: black}
	TrainableCell  = Cell{Text: "Trainable", Fill: color.RGBA{34, 139, 34, 255}, Ink: white}
	FrozenCell     = Cell{Text: "Non-trainable", Fill: color.RGBA{178, 34, 34, 255}, Ink: white}
	cellPad        = 8.0
	rowH           = textH + 2*cellPad
	rankGap        = 56.0
	nodeGap        = 36.0
	clusterPad     = 14.0
	clusterLabelH  = 22.0
	margin         = 24.0
	edgeWidth      = 2.0
	laneSpacing    = 10.0
	minCellWidth   = 40.0
	clusterStrokeW = 1.5
)

type box struct {
	x, y, w, h float64
	cellW      []float64
	rank       int
}

// Draw lays the graph out top to bottom and draws it.
func (g *Graph) Draw() *Canvas {
	n := len(g.Nodes)
	boxes := make([]box, n)
	for i, nd := range g.Nodes {
		b := &boxes[i]
		b.w = TextWidth(nd.Title) + 2*cellPad
		sum := 0.0
		for _, c := range nd.Cells {
			cw := math.Max(TextWidth(c.Text)+2*cellPad, minCellWidth)
			b.cellW = append(b.cellW, cw)
			sum += cw
		}
		if sum > b.w {
			b.w = sum
		} else if len(b.cellW) > 0 {
			extra := (b.w - sum) / float64(len(b.cellW))
			for k := range b.cellW {
				b.cellW[k] += extra
			}
		}
		b.h = rowH
		if len(nd.Cells) > 0 {
			b.h += rowH
		}
	}

	// Ranks: the longest path from a source.
	preds := make([][]int, n)
	succs := make([][]int, n)
	for _, e := range g.Edges {
		succs[e[0]] = append(succs[e[0]], e[1])
		preds[e[1]] = append(preds[e[1]], e[0])
	}
	rank := make([]int, n)
	indeg := make([]int, n)
	for _, e := range g.Edges {
		indeg[e[1]]++
	}
	var queue []int
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range succs[u] {
			rank[v] = max(rank[v], rank[u]+1)
			if indeg[v]--; indeg[v] == 0 {
				queue = append(queue, v)
			}
		}
	}
	nRanks := 0
	for i := range boxes {
		boxes[i].rank = rank[i]
		nRanks = max(nRanks, rank[i]+1)
	}
	rows := make([][]int, nRanks)
	for i := 0; i < n; i++ {
		rows[rank[i]] = append(rows[rank[i]], i)
	}

	// Order within ranks: barycentre sweeps, an expanded model's boxes
	// kept side by side.
	pos := make([]float64, n)
	setPos := func() {
		for _, row := range rows {
			for k, i := range row {
				pos[i] = float64(k)
			}
		}
	}
	setPos()
	top := func(c int) int {
		for c >= 0 && g.Clusters[c].Parent >= 0 {
			c = g.Clusters[c].Parent
		}
		return c
	}
	for sweep := 0; sweep < 6; sweep++ {
		down := sweep%2 == 0
		for r := range rows {
			if !down {
				r = nRanks - 1 - r
			}
			row := rows[r]
			bary := map[int]float64{}
			for _, i := range row {
				nb := preds[i]
				if !down {
					nb = succs[i]
				}
				if len(nb) == 0 {
					bary[i] = pos[i]
					continue
				}
				s := 0.0
				for _, j := range nb {
					s += pos[j]
				}
				bary[i] = s / float64(len(nb))
			}
			clusterBary := map[int][]float64{}
			for _, i := range row {
				if c := top(g.Nodes[i].Cluster); c >= 0 {
					clusterBary[c] = append(clusterBary[c], bary[i])
				}
			}
			key := func(i int) float64 {
				if c := top(g.Nodes[i].Cluster); c >= 0 {
					s := 0.0
					for _, v := range clusterBary[c] {
						s += v
					}
					return s / float64(len(clusterBary[c]))
				}
				return bary[i]
			}
			sort.SliceStable(row, func(a, b int) bool {
				ka, kb := key(row[a]), key(row[b])
				if ka != kb {
					return ka < kb
				}
				ca, cb := top(g.Nodes[row[a]].Cluster), top(g.Nodes[row[b]].Cluster)
				if ca != cb {
					return ca < cb
				}
				return bary[row[a]] < bary[row[b]]
			})
			for k, i := range row {
				pos[i] = float64(k)
			}
		}
	}

	// x: each box centred under its producers where the row allows.
	gapBetween := func(a, b int) float64 {
		gap := nodeGap
		if g.Nodes[a].Cluster != g.Nodes[b].Cluster {
			gap += 2 * clusterPad
		}
		return gap
	}
	centre := func(i int) float64 { return boxes[i].x + boxes[i].w/2 }
	placeRow := func(row []int, desired func(i int) (float64, bool)) {
		x := 0.0
		var shift, count float64
		for k, i := range row {
			if k > 0 {
				x += gapBetween(row[k-1], i)
			}
			want, ok := desired(i)
			left := x
			if ok {
				left = math.Max(x, want-boxes[i].w/2)
			}
			boxes[i].x = left
			x = left + boxes[i].w
			if ok {
				shift += want - centre(i)
				count++
			}
		}
		if count > 0 {
			for _, i := range row {
				boxes[i].x += shift / count
			}
		}
	}
	for _, row := range rows {
		placeRow(row, func(int) (float64, bool) { return 0, false })
	}
	for sweep := 0; sweep < 4; sweep++ {
		down := sweep%2 == 0
		for r := range rows {
			if !down {
				r = nRanks - 1 - r
			}
			placeRow(rows[r], func(i int) (float64, bool) {
				nb := preds[i]
				if !down {
					nb = succs[i]
				}
				if len(nb) == 0 {
					return 0, false
				}
				s := 0.0
				for _, j := range nb {
					s += centre(j)
				}
				return s / float64(len(nb)), true
			})
		}
	}

	// y: one row per rank; a rank where an expanded model starts leaves
	// room for its label.
	depth := func(c int) int {
		d := 0
		for ; c >= 0; c = g.Clusters[c].Parent {
			d++
		}
		return d
	}
	rowTop := make([]float64, nRanks)
	rankH := make([]float64, nRanks)
	y := 0.0
	for r, row := range rows {
		extra := 0.0
		for _, i := range row {
			c := g.Nodes[i].Cluster
			for ; c >= 0; c = g.Clusters[c].Parent {
				starts := true
				for _, j := range preds[i] {
					if inCluster(g, j, c) && rank[j] < r {
						starts = false
					}
				}
				if starts {
					extra = math.Max(extra, float64(depth(c))*clusterLabelH)
				}
			}
		}
		y += extra
		rowTop[r] = y
		for _, i := range row {
			boxes[i].y = y
			rankH[r] = math.Max(rankH[r], boxes[i].h)
		}
		y += rankH[r] + rankGap
	}

	// Cluster rectangles, innermost first.
	type rect struct{ x0, y0, x1, y1 float64 }
	crect := make([]rect, len(g.Clusters))
	for c := range crect {
		crect[c] = rect{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	}
	order := make([]int, len(g.Clusters))
	for c := range order {
		order[c] = c
	}
	sort.Slice(order, func(a, b int) bool { return depth(order[a]) > depth(order[b]) })
	for _, c := range order {
		r := &crect[c]
		for i := range g.Nodes {
			if g.Nodes[i].Cluster == c {
				b := boxes[i]
				r.x0, r.y0 = math.Min(r.x0, b.x-clusterPad), math.Min(r.y0, b.y-clusterLabelH)
				r.x1, r.y1 = math.Max(r.x1, b.x+b.w+clusterPad), math.Max(r.y1, b.y+b.h+clusterPad)
			}
		}
		for k := range g.Clusters {
			if g.Clusters[k].Parent == c && !math.IsInf(crect[k].x0, 0) {
				r.x0, r.y0 = math.Min(r.x0, crect[k].x0-clusterPad), math.Min(r.y0, crect[k].y0-clusterLabelH)
				r.x1, r.y1 = math.Max(r.x1, crect[k].x1+clusterPad), math.Max(r.y1, crect[k].y1+clusterPad)
			}
		}
	}

	// Shift everything to the margin.
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, b := range boxes {
		minX, maxX = math.Min(minX, b.x), math.Max(maxX, b.x+b.w)
		minY, maxY = math.Min(minY, b.y), math.Max(maxY, b.y+b.h)
	}
	for _, r := range crect {
		if !math.IsInf(r.x0, 0) {
			minX, maxX = math.Min(minX, r.x0), math.Max(maxX, r.x1)
			minY, maxY = math.Min(minY, r.y0), math.Max(maxY, r.y1)
		}
	}
	if n == 0 {
		minX, minY, maxX, maxY = 0, 0, 0, 0
	}
	// Lanes for edges that skip ranks run beside the boxes.
	var long [][2]int
	for _, e := range g.Edges {
		if rank[e[1]]-rank[e[0]] > 1 {
			long = append(long, e)
		}
	}
	dx, dy := margin-minX, margin-minY
	for i := range boxes {
		boxes[i].x += dx
		boxes[i].y += dy
	}
	for c := range crect {
		crect[c].x0 += dx
		crect[c].x1 += dx
		crect[c].y0 += dy
		crect[c].y1 += dy
	}
	for r := range rowTop {
		rowTop[r] += dy
	}
	width := maxX - minX + 2*margin + float64(len(long))*laneSpacing + laneSpacing
	cv := &Canvas{W: width, H: maxY - minY + 2*margin}
	g.placed = boxes

	for _, c := range order {
		r := crect[c]
		if math.IsInf(r.x0, 0) {
			continue
		}
		cv.StrokeRect(r.x0, r.y0, r.x1-r.x0, r.y1-r.y0, gray, clusterStrokeW, true)
		cv.Text(r.x0+8, r.y0+ascent+5, g.Clusters[c].Label, black, false, "start")
	}

	// Edges: down from the producer, across in the gap above the
	// consumer's rank, down into it; a long edge runs in a lane beside
	// the ranks it skips.
	rowBottom := func(r int) float64 { return rowTop[r] + rankH[r] }
	laneX := maxX + dx + laneSpacing
	// Several edges into (or out of) one box meet it at points spread
	// along its top (bottom) edge, in the order of their other ends; an
	// edge in a lane comes from the right.
	isLong := func(e [2]int) bool { return rank[e[1]]-rank[e[0]] > 1 }
	spread := func(end func(e [2]int) int, other func(e [2]int) float64) map[[2]int]float64 {
		byNode := map[int][][2]int{}
		for _, e := range g.Edges {
			byNode[end(e)] = append(byNode[end(e)], e)
		}
		at := map[[2]int]float64{}
		for i, es := range byNode {
			sort.SliceStable(es, func(a, b int) bool { return other(es[a]) < other(es[b]) })
			b := boxes[i]
			for k, e := range es {
				at[e] = b.x + b.w*float64(k+1)/float64(len(es)+1)
			}
		}
		return at
	}
	entry := spread(func(e [2]int) int { return e[1] }, func(e [2]int) float64 {
		if isLong(e) {
			return math.Inf(1)
		}
		return boxes[e[0]].x + boxes[e[0]].w/2
	})
	exit := spread(func(e [2]int) int { return e[0] }, func(e [2]int) float64 {
		if isLong(e) {
			return math.Inf(1)
		}
		return boxes[e[1]].x + boxes[e[1]].w/2
	})
	// Horizontal runs in one gap between ranks each get their own height:
	// one per producer for the edges into the next rank, one per edge for
	// the ends of lane edges.
	type run struct {
		gap int
		key string
	}
	levels := map[int][]string{}
	addRun := func(r run) {
		if !slices.Contains(levels[r.gap], r.key) {
			levels[r.gap] = append(levels[r.gap], r.key)
		}
	}
	runOf := func(k int, e [2]int) (below, above run) {
		if !isLong(e) {
			r := run{boxes[e[1]].rank - 1, fmt.Sprint("from ", e[0])}
			return r, r
		}
		return run{boxes[e[0]].rank, fmt.Sprint("below ", k)}, run{boxes[e[1]].rank - 1, fmt.Sprint("above ", k)}
	}
	for k, e := range g.Edges {
		b, a := runOf(k, e)
		addRun(b)
		addRun(a)
	}
	levelY := func(r run) float64 {
		keys := levels[r.gap]
		return rowBottom(r.gap) + rankGap*float64(slices.Index(keys, r.key)+1)/float64(len(keys)+1)
	}
	for k, e := range g.Edges {
		s, t := boxes[e[0]], boxes[e[1]]
		sx, sy := exit[e], s.y+s.h
		tx, ty := entry[e], t.y
		b, a := runOf(k, e)
		below, above := levelY(b), levelY(a)
		var pts []Point
		if !isLong(e) {
			pts = []Point{{sx, sy}, {sx, above}, {tx, above}, {tx, ty}}
		} else {
			pts = []Point{{sx, sy}, {sx, below}, {laneX, below}, {laneX, above}, {tx, above}, {tx, ty}}
			laneX += laneSpacing
		}
		cv.Arrow(dedupe(pts), edgeWidth, black)
	}

	for i, nd := range g.Nodes {
		b := boxes[i]
		cv.FillRect(b.x, b.y, b.w, rowH, black, black, 0)
		cv.Text(b.x+b.w/2, b.y+cellPad+ascent, nd.Title, white, true, "middle")
		x := b.x
		for k, c := range nd.Cells {
			cv.FillRect(x, b.y+rowH, b.cellW[k], rowH, c.Fill, black, 1)
			cv.Text(x+b.cellW[k]/2, b.y+rowH+cellPad+ascent, c.Text, c.Ink, false, "middle")
			x += b.cellW[k]
		}
		cv.StrokeRect(b.x, b.y, b.w, b.h, black, 1, false)
	}
	return cv
}

func inCluster(g *Graph, node, c int) bool {
	for k := g.Nodes[node].Cluster; k >= 0; k = g.Clusters[k].Parent {
		if k == c {
			return true
		}
	}
	return false
}

func dedupe(pts []Point) []Point {
	out := pts[:1]
	for _, p := range pts[1:] {
		if p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	return out
}
