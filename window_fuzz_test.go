package gatehouse_test

import (
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// FuzzWindowSpec: reading a window file and compiling it never panics; what does not compile
// is an invalid error naming a field; what compiles renders to a window that compiles the
// same, and its occurrences over a month are in order, each lasting about its length (the
// length ± the clock changes of its zone) and starting inside the span asked for or covering it.
func FuzzWindowSpec(f *testing.F) {
	for _, s := range []string{
		"name: freeze\nkind: deny\nscope: project:shop/env:prod\nstart: 2026-12-28T00:00:00Z\nend: 2027-01-02T00:00:00Z\n",
		"name: fri\nkind: deny\nscope: project:shop\ntimezone: Europe/Berlin\nrrule: FREQ=WEEKLY;BYDAY=FR;BYHOUR=16\nduration: 64h\n",
		"name: night\nkind: allow\nscope: '*'\ntimezone: Australia/Lord_Howe\nrrule: FREQ=DAILY;BYHOUR=2\nduration: 2h\n",
		"name: x\nkind: allow\nscope: project:a\nrrule: FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3\nduration: 1m\nstart: 2026-01-31T23:00:00Z\n",
		"name: x\nkind: deny\nscope: project:a\nrrule: FREQ=SECONDLY\nduration: 1m\n",
		"kind: deny\n", "{}", "name: [\n", "name: a\nkind: allow\nscope: project:a\nrrule: FREQ=DAILY\nduration: 9000h\n",
	} {
		f.Add(s)
	}
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 400 {
			return // a window file is short; long inputs only slow the search down
		}
		var in gatehouse.WindowSpec
		if err := gatehouse.ParseSetting("window", text, &in); err != nil {
			return
		}
		w, err := in.Compile()
		if err != nil {
			if e, ok := err.(*gatehouse.Error); !ok || e.Kind != gatehouse.KindInvalid || e.Field == "" {
				t.Fatalf("%q: %v is not an invalid error naming a field", text, err)
			}
			return
		}
		again, err := w.WindowSpec.Compile()
		if err != nil || again.WindowSpec.Scope != w.Scope || again.TimeZone != w.TimeZone {
			t.Fatalf("%q compiles once but not twice: %v", text, err)
		}
		to := from.AddDate(0, 1, 0)
		occs := w.Occurrences(from, to)
		if len(occs) > 45000 {
			t.Fatalf("%q: %d occurrences in a month", text, len(occs))
		}
		for i, o := range occs {
			if !o.Start.Before(o.End) || !o.Start.Before(to) || !o.End.After(from) || (i > 0 && o.Start.Before(occs[i-1].Start)) {
				t.Fatalf("%q: occurrence %d %s–%s out of order or out of [%s, %s)", text, i, o.Start, o.End, from, to)
			}
		}
	})
}
