package saving

import "testing"

// TestKerasMajor checks how a writer's Keras version is read.
func TestKerasMajor(t *testing.T) {
	for _, c := range []struct {
		v    string
		want int
	}{{"2.21.0", 2}, {"3.15.1", 3}, {"1.2.2", 1}, {"", 0}, {"2.2.4-tf", 2}, {"10.0", 10}} {
		if got := kerasMajor(c.v); got != c.want {
			t.Errorf("kerasMajor(%q) = %d, want %d", c.v, got, c.want)
		}
	}
}
