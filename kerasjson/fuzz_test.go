package kerasjson

import (
	"reflect"
	"testing"
)

// FuzzParseModel checks that no input panics, that a model never comes
// with an error, and that decoding twice gives the same result.
func FuzzParseModel(f *testing.F) {
	readSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseModel(data)
		if err != nil {
			if m != nil {
				t.Fatalf("model returned with error %v", err)
			}
			return
		}
		if m == nil {
			t.Fatal("nil model without error")
		}
		m2, err2 := ParseModel(data)
		if err2 != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("second decode differs: %v", err2)
		}
		// Everything a consumer walks must be well formed.
		_ = dumpModel(m)
	})
}

// FuzzParseTrainingConfig is FuzzParseModel for training configs.
func FuzzParseTrainingConfig(f *testing.F) {
	readSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		tc, err := ParseTrainingConfig(data)
		if err != nil && tc != nil {
			t.Fatalf("config returned with error %v", err)
		}
		tc2, err2 := ParseTrainingConfig(data)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(tc, tc2) {
			t.Fatal("second decode differs")
		}
	})
}
