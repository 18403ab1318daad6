package layers

// matMul computes c[m×n] = a[m×k] · b[k×n] (+ bias broadcast over rows).
func matMul(m, n, k int, a, b, c, bias []float32) {
	for i := 0; i < m; i++ {
		row := c[i*n : (i+1)*n]
		if bias != nil {
			copy(row, bias)
		} else {
			clear(row)
		}
		for p, av := range a[i*k : (i+1)*k] {
			if av == 0 {
				continue
			}
			for j, bv := range b[p*n : (p+1)*n] {
				row[j] += av * bv
			}
		}
	}
}

// matMulTransA computes c[m×n] = aᵀ · b for a[k×m], b[k×n].
func matMulTransA(m, n, k int, a, b, c []float32) {
	clear(c[:m*n])
	for p := 0; p < k; p++ {
		brow := b[p*n : (p+1)*n]
		for i, av := range a[p*m : (p+1)*m] {
			if av == 0 {
				continue
			}
			row := c[i*n : (i+1)*n]
			for j, bv := range brow {
				row[j] += av * bv
			}
		}
	}
}

// matMulTransB computes c[m×n] = a · bᵀ for a[m×k], b[n×k].
func matMulTransB(m, n, k int, a, b, c []float32) {
	for i := 0; i < m; i++ {
		arow := a[i*k : (i+1)*k]
		for j := 0; j < n; j++ {
			brow := b[j*k : (j+1)*k]
			var s float32
			for p, av := range arow {
				s += av * brow[p]
			}
			c[i*n+j] = s
		}
	}
}
