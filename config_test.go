package gatehouse_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// FuzzSettings: settings that parse render back to themselves; masked they render and diff
// without any value; and no parse error quotes a value, however broken the text around it.
func FuzzSettings(f *testing.F) {
	f.Add("DB_PASSWORD: hunter2\nUSER: web\n", "pw", "[oops")
	f.Add("a: 1\nb: true\nc: \"x: y\"\n", "multi\nline", "- list")
	f.Add("", "", "k: {nested: 1}")
	f.Add("x: |\n  block\n  text\n", "'quoted'", "k: v\nk: w\n")
	f.Fuzz(func(t *testing.T, text, value, tail string) {
		if s, err := gatehouse.ParseSettings("content", text); err == nil {
			back, err := gatehouse.ParseSettings("content", gatehouse.RenderSettings(s, false))
			if err != nil || !maps.Equal(back, s) {
				t.Fatalf("round trip of %q: %v %q", s, err, back)
			}
			masked, err := gatehouse.ParseSettings("content", gatehouse.RenderSettings(s, true))
			if err != nil || len(masked) != len(s) {
				t.Fatalf("masked render of %q: %v %q", s, err, masked)
			}
			for k, v := range masked {
				if v != gatehouse.Masked {
					t.Fatalf("masked render shows %s: %q", k, v)
				}
			}
			other := map[string]string{"NEW": "zz" + value}
			for k, v := range s {
				other[k] = v + "!"
			}
			for _, c := range gatehouse.DiffSettings(s, other, true) {
				for _, side := range []string{c.Old, c.New} {
					if side != "" && !strings.HasPrefix(side, gatehouse.Masked) {
						t.Fatalf("masked diff shows a value: %+v", c)
					}
				}
			}
		}
		const marker = "qzx"
		if strings.Contains(tail, marker) {
			return
		}
		secret := marker + strings.ReplaceAll(value, marker, "")
		for _, doc := range []string{"A: " + secret + "\n" + tail, tail + "\nA: " + secret, "A: [" + secret + "\n" + tail, "A:\n  B: " + secret + "\n" + tail} {
			if _, err := gatehouse.ParseSettings("content", doc); err != nil && strings.Contains(err.Error(), marker) {
				t.Fatalf("the error for %q quotes a value: %v", doc, err)
			}
		}
	})
}
