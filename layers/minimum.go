package layers

// Minimum is keras.layers.Minimum: the elementwise minimum of its inputs.
func init() { registerMerge("Minimum", extremumMerge(func(a, b float32) bool { return a < b })) }
