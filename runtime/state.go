package runtime

// State holds what stateful layers carry from one call to the next (the
// states of a recurrent layer built with stateful=True), keyed by the
// layer. Whoever runs a graph owns it and passes it in Context.State;
// layers never keep it themselves, so one loaded model can serve many
// independent sequences at once. A State is not safe for concurrent use.
type State struct {
	m map[any][]*Tensor
}

// Get returns what key stored, or nil when it stored nothing since the
// last Reset.
func (s *State) Get(key any) []*Tensor { return s.m[key] }

// Set stores v under key, replacing what was there.
func (s *State) Set(key any, v []*Tensor) {
	if s.m == nil {
		s.m = map[any][]*Tensor{}
	}
	s.m[key] = v
}

// Reset forgets every stored value, so every layer starts again from its
// initial (zero) state, as Keras's reset_states() does.
func (s *State) Reset() { s.m = nil }
