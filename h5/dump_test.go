package h5

import (
	"strings"
	"testing"
)

func TestDumpUnsupported(t *testing.T) {
	f, err := Open("testdata/corpus/unsupported_compound.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sb strings.Builder
	if err := f.Dump(&sb); err != nil {
		t.Fatal(err)
	}
	if want := "/c                             Dataset (unsupported: compound datatype (datatype of /c))"; !strings.Contains(sb.String(), want) {
		t.Errorf("Dump lacks %q; got:\n%s", want, sb.String())
	}
}

func TestDump(t *testing.T) {
	for _, name := range []string{"basic_earliest.h5", "basic_latest.h5"} {
		f, err := Open("testdata/corpus/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		if err := f.Dump(&sb); err != nil {
			t.Fatal(err)
		}
		f.Close()
		out := sb.String()
		for _, want := range []string{
			"/                              Group\n",
			`    Attribute: keras_version scalar vlen str (utf-8) = "3.15.1"`,
			`    Attribute: names {3} |S19 (ascii) = ["dense", "dense_1", "batch_normalization"]`,
			"/dtypes/bfloat16               Dataset {4} bfloat16\n",
			"/dtypes/be_float64             Dataset {2, 3} float64\n",
			"/dtypes/array_f4               Dataset {2, 2, 3} float32\n",
			"/dtypes/vlen_utf8              Dataset {3} vlen str (utf-8)\n",
			"/links/soft_abs                Soft Link {/model_weights/dense/dense/kernel:0}\n",
			"/links/hard                    Hard Link {/dtypes/float32}\n",
			"/model_weights/ünïcode/名前      Dataset {2} int64\n",
			"    Attribute: float_list {4} float64 = [1.5 -2.25 +Inf NaN]\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: Dump lacks %q; got:\n%s", name, want, out)
				break
			}
		}
		// Long attribute values are truncated.
		for _, line := range strings.Split(out, "\n") {
			if len(line) > 200 {
				t.Errorf("%s: long Dump line %q", name, line)
			}
		}
	}
}
