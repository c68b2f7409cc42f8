package gatehouse_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

func mustWindow(t *testing.T, in gatehouse.WindowSpec) *gatehouse.Window {
	t.Helper()
	w, err := in.Compile()
	if err != nil {
		t.Fatalf("compile %s: %v", in.Name, err)
	}
	return w
}

func TestWindowSpecErrors(t *testing.T) {
	ok := gatehouse.WindowSpec{Name: "freeze", Kind: gatehouse.WindowDeny, Scope: "project:shop/env:prod", TimeZone: "Europe/Berlin",
		RRule: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16", Duration: "64h"}
	if _, err := ok.Compile(); err != nil {
		t.Fatalf("a good window: %v", err)
	}
	for _, c := range []struct {
		field string
		edit  func(*gatehouse.WindowSpec)
	}{
		{"name", func(w *gatehouse.WindowSpec) { w.Name = "Year End" }},
		{"kind", func(w *gatehouse.WindowSpec) { w.Kind = "freeze" }},
		{"scope", func(w *gatehouse.WindowSpec) { w.Scope = "shop/prod" }},
		{"timezone", func(w *gatehouse.WindowSpec) { w.TimeZone = "Mars/Olympus" }},
		{"timezone", func(w *gatehouse.WindowSpec) { w.TimeZone = "Local" }},
		{"rrule", func(w *gatehouse.WindowSpec) { w.RRule = "FREQ=SOMETIMES" }},
		{"rrule", func(w *gatehouse.WindowSpec) { w.RRule = "FREQ=MINUTELY" }},
		{"rrule", func(w *gatehouse.WindowSpec) { w.RRule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30" }},
		{"rrule", func(w *gatehouse.WindowSpec) { w.RRule = "FREQ=HOURLY;BYMINUTE=0,10,20,30,40,50" }},
		{"duration", func(w *gatehouse.WindowSpec) { w.Duration = "" }},
		{"duration", func(w *gatehouse.WindowSpec) { w.Duration = "30s" }},
		{"end", func(w *gatehouse.WindowSpec) { w.End = ptr(utc("2027-01-01T00:00:00Z")) }},
		{"start", func(w *gatehouse.WindowSpec) { w.RRule, w.Duration = "", "" }},
		{"duration", func(w *gatehouse.WindowSpec) {
			w.RRule, w.Start, w.End = "", ptr(utc("2026-12-28T00:00:00Z")), ptr(utc("2027-01-02T00:00:00Z"))
		}},
		{"end", func(w *gatehouse.WindowSpec) {
			w.RRule, w.Duration, w.Start, w.End = "", "", ptr(utc("2027-01-02T00:00:00Z")), ptr(utc("2026-12-28T00:00:00Z"))
		}},
	} {
		in := ok
		c.edit(&in)
		_, err := in.Compile()
		if e, isErr := err.(*gatehouse.Error); !isErr || e.Kind != gatehouse.KindInvalid || e.Field != c.field {
			t.Errorf("want an error naming %s, got %v", c.field, err)
		}
	}
}

// TestWindowOccurrences: one-off and recurring windows, in their time zone, across both
// nights the clocks change.
func TestWindowOccurrences(t *testing.T) {
	oneOff := mustWindow(t, gatehouse.WindowSpec{Name: "year-end", Kind: gatehouse.WindowDeny, Scope: "project:shop/env:prod",
		TimeZone: "Europe/Berlin", Start: ptr(utc("2026-12-28T00:00:00Z")), End: ptr(utc("2027-01-02T00:00:00Z"))})
	// Fridays 16:00 Berlin time for 64 hours: to Monday 08:00.
	weekend := mustWindow(t, gatehouse.WindowSpec{Name: "weekend", Kind: gatehouse.WindowDeny, Scope: "project:shop/env:prod",
		TimeZone: "Europe/Berlin", RRule: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16", Duration: "64h"})
	// Every night 02:00 to 04:00 Berlin time.
	nightly := mustWindow(t, gatehouse.WindowSpec{Name: "nightly", Kind: gatehouse.WindowAllow, Scope: "project:shop/env:prod",
		TimeZone: "Europe/Berlin", RRule: "FREQ=DAILY;BYHOUR=2", Duration: "2h"})
	for _, c := range []struct {
		w          *gatehouse.Window
		at         string
		open       bool
		start, end string // of the occurrence covering at, when open
	}{
		{oneOff, "2026-12-27T23:59:59Z", false, "", ""},
		{oneOff, "2026-12-28T00:00:00Z", true, "2026-12-28T00:00:00Z", "2027-01-02T00:00:00Z"},
		{oneOff, "2027-01-02T00:00:00Z", false, "", ""},
		{weekend, "2026-12-04T14:59:59Z", false, "", ""}, // Friday 15:59 CET
		{weekend, "2026-12-04T15:00:00Z", true, "2026-12-04T15:00:00Z", "2026-12-07T07:00:00Z"},
		{weekend, "2026-12-07T06:59:59Z", true, "2026-12-04T15:00:00Z", "2026-12-07T07:00:00Z"},
		{weekend, "2026-12-07T07:00:00Z", false, "", ""},
		// Summer time: Friday 16:00 CEST is 14:00Z; the weekend the clocks go back (Oct 25)
		// lasts 65 real hours, to Monday 08:00 CET.
		{weekend, "2026-10-23T14:00:00Z", true, "2026-10-23T14:00:00Z", "2026-10-26T07:00:00Z"},
		// 2027-03-27 is an ordinary night: 02:00–04:00 CET is 01:00Z–03:00Z.
		{nightly, "2027-03-27T01:00:00Z", true, "2027-03-27T01:00:00Z", "2027-03-27T03:00:00Z"},
		// 2027-03-28 the clocks skip 02:00–03:00: the window is the hour they show 03:00–04:00.
		{nightly, "2027-03-28T00:59:59Z", false, "", ""},
		{nightly, "2027-03-28T01:00:00Z", true, "2027-03-28T01:00:00Z", "2027-03-28T02:00:00Z"},
		{nightly, "2027-03-28T02:00:00Z", false, "", ""},
		// 2026-10-25 they show 02:00–03:00 twice: the window holds three real hours.
		{nightly, "2026-10-25T00:00:00Z", true, "2026-10-25T00:00:00Z", "2026-10-25T03:00:00Z"},
		{nightly, "2026-10-25T02:30:00Z", true, "2026-10-25T00:00:00Z", "2026-10-25T03:00:00Z"},
		{nightly, "2026-10-25T03:00:00Z", false, "", ""},
	} {
		o, open := c.w.Covering(utc(c.at))
		if open != c.open || (open && (!o.Start.Equal(utc(c.start)) || !o.End.Equal(utc(c.end)))) {
			t.Errorf("%s at %s: open %v %s–%s, want %v %s–%s", c.w.Name, c.at, open, o.Start.UTC(), o.End.UTC(), c.open, c.start, c.end)
		}
	}
	if o, ok := weekend.Next(utc("2026-12-03T12:00:00Z")); !ok || !o.Start.Equal(utc("2026-12-04T15:00:00Z")) {
		t.Errorf("next weekend after Thursday: %v %v", o, ok)
	}
	if o, ok := weekend.Next(utc("2026-12-04T15:00:00Z")); !ok || !o.Start.Equal(utc("2026-12-11T15:00:00Z")) {
		t.Errorf("next weekend after one starts: %v %v", o, ok)
	}
	if _, ok := oneOff.Next(utc("2026-12-29T00:00:00Z")); ok {
		t.Errorf("a one-off window has no next occurrence once it started")
	}
}

// TestWindowsAt: deny beats allow, allow windows close what lies outside them, windows of
// other scopes do not count, and the verdict says when it changes.
func TestWindowsAt(t *testing.T) {
	prod := gatehouse.Target{Project: "shop", App: "web", Env: "prod"}
	dev := gatehouse.Target{Project: "shop", App: "web", Env: "dev"}
	// Tuesdays and Thursdays 06:00–10:00 UTC; a freeze Thursday Dec 10 08:00 to Dec 11.
	maint := mustWindow(t, gatehouse.WindowSpec{Name: "maintenance", Kind: gatehouse.WindowAllow, Scope: "project:shop/env:prod",
		RRule: "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=6", Duration: "4h"})
	freeze := mustWindow(t, gatehouse.WindowSpec{Name: "launch", Kind: gatehouse.WindowDeny, Scope: "project:shop/env:prod",
		Start: ptr(utc("2026-12-10T08:00:00Z")), End: ptr(utc("2026-12-11T00:00:00Z"))})
	ws := []*gatehouse.Window{maint, freeze}
	for _, c := range []struct {
		target gatehouse.Target
		at     string
		open   bool
		by     string
		until  string
	}{
		{prod, "2026-12-07T12:00:00Z", false, "maintenance", "2026-12-08T06:00:00Z"}, // Monday: outside maintenance
		{prod, "2026-12-08T07:00:00Z", true, "", "2026-12-08T10:00:00Z"},
		{prod, "2026-12-10T07:00:00Z", true, "", "2026-12-10T08:00:00Z"},        // Thursday before the freeze
		{prod, "2026-12-10T09:00:00Z", false, "launch", "2026-12-15T06:00:00Z"}, // frozen, then outside maintenance until Tuesday
		{dev, "2026-12-10T09:00:00Z", true, "", ""},                             // neither reaches dev
	} {
		v := gatehouse.WindowsAt(ws, c.target, utc(c.at))
		by := ""
		if len(v.By) > 0 {
			by = v.By[0]
		}
		until := ""
		if !v.Until.IsZero() {
			until = v.Until.UTC().Format(time.RFC3339)
		}
		if v.Open != c.open || by != c.by || until != c.until {
			t.Errorf("%s at %s: %+v, want open %v by %q until %q", c.target, c.at, v, c.open, c.by, c.until)
		}
	}
}

// TestWindowsAtProperty: over generated schedules, a verdict holds at every moment before
// the change it announces, and at that change it flips.
func TestWindowsAtProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 17))
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"}
	rules := []string{"FREQ=DAILY;BYHOUR=2", "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16", "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=6;BYMINUTE=30", "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18"}
	target := gatehouse.Target{Project: "shop", App: "web", Env: "prod"}
	base := utc("2026-10-01T00:00:00Z")
	flips := 0
	for iter := 0; iter < 300; iter++ {
		var ws []*gatehouse.Window
		for k := 0; k < 1+r.IntN(3); k++ {
			in := gatehouse.WindowSpec{Name: fmt.Sprintf("w%d", k), Kind: []gatehouse.WindowKind{gatehouse.WindowDeny, gatehouse.WindowAllow}[r.IntN(2)],
				Scope: "project:shop/env:prod", TimeZone: zones[r.IntN(len(zones))]}
			if r.IntN(3) == 0 {
				start := base.Add(time.Duration(r.IntN(200*24)) * time.Hour)
				in.Start, in.End = ptr(start), ptr(start.Add(time.Duration(1+r.IntN(200))*time.Hour))
			} else {
				in.RRule, in.Duration = rules[r.IntN(len(rules))], fmt.Sprintf("%dm", 30+r.IntN(3000))
			}
			ws = append(ws, mustWindow(t, in))
		}
		at := base.Add(time.Duration(r.IntN(200*24*60)) * time.Minute)
		v := gatehouse.WindowsAt(ws, target, at)
		if v.Until.IsZero() {
			continue
		}
		if !v.Until.After(at) {
			t.Fatalf("iteration %d: at %s the verdict changes at %s, not after", iter, at, v.Until)
		}
		for k := 0; k < 20; k++ {
			s := at.Add(time.Duration(r.Int64N(int64(v.Until.Sub(at)))))
			if gatehouse.WindowsAt(ws, target, s).Open != v.Open {
				t.Fatalf("iteration %d: open %v at %s and until %s, but not at %s", iter, v.Open, at, v.Until, s)
			}
		}
		if gatehouse.WindowsAt(ws, target, v.Until).Open == v.Open {
			t.Fatalf("iteration %d: at %s the verdict (open %v) does not change as announced", iter, v.Until, v.Open)
		}
		flips++
	}
	if flips < 150 {
		t.Fatalf("only %d verdicts changed within the horizon: the generator says too little", flips)
	}
}
