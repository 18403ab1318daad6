module github.com/kerasrun/kerasrun/bench/openblas

go 1.26.0

require (
	github.com/kerasrun/kerasrun v0.0.0
	gonum.org/v1/gonum v0.17.0
)

require golang.org/x/sys v0.50.0 // indirect

replace github.com/kerasrun/kerasrun => ../..
