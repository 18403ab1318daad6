package saving

import "testing"

// TestJSONKerasVersion checks how the writer of a to_json() file is told:
// Keras 3 writes no keras_version, so its format marks it (without this, a
// Keras 3 JSON model got Keras 2's hard_sigmoid).
func TestJSONKerasVersion(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"module": "keras", "class_name": "Sequential", "config": {}, "registered_name": null}`, "3"},
		{`{"module": "keras.src.models.functional", "class_name": "Functional", "config": {}}`, "3"},
		{`{"class_name": "Sequential", "config": {}, "keras_version": "2.21.0", "backend": "tensorflow"}`, "2.21.0"},
		{`{"class_name": "Sequential", "config": {}, "keras_version": "1.2.2"}`, "1.2.2"},
		{`{"class_name": "Sequential", "config": {}}`, ""},
		{`not json`, ""},
	} {
		if got := jsonKerasVersion([]byte(tc.json)); got != tc.want {
			t.Errorf("jsonKerasVersion(%s) = %q, want %q", tc.json, got, tc.want)
		}
	}
}
