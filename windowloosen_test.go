package gatehouse_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestWindowsLoosenCases: deleting or shortening a freeze, widening or adding to maintenance
// windows and narrowing a scope open what was closed; the opposite changes only close more.
func TestWindowsLoosenCases(t *testing.T) {
	prod := gatehouse.Target{Project: "shop", App: "web", Env: "prod"}
	api := gatehouse.Target{Project: "shop", App: "api", Env: "prod"}
	now := utc("2026-12-01T00:00:00Z")
	deny := func(name, scope, start, end string) *gatehouse.Window {
		return mustWindow(t, gatehouse.WindowSpec{Name: name, Kind: gatehouse.WindowDeny, Scope: scope, Start: ptr(utc(start)), End: ptr(utc(end))})
	}
	allow := func(name, scope, rule, length string) *gatehouse.Window {
		return mustWindow(t, gatehouse.WindowSpec{Name: name, Kind: gatehouse.WindowAllow, Scope: scope, TimeZone: "Europe/Berlin", RRule: rule, Duration: length})
	}
	freeze := deny("freeze", "project:shop/env:prod", "2026-12-28T00:00:00Z", "2027-01-02T00:00:00Z")
	tuesdays := allow("maint", "project:shop/env:prod", "FREQ=WEEKLY;BYDAY=TU;BYHOUR=6", "4h")
	for _, c := range []struct {
		name          string
		before, after []*gatehouse.Window
		opens         []gatehouse.Target
	}{
		{"a new freeze", nil, []*gatehouse.Window{freeze}, nil},
		{"a deleted freeze", []*gatehouse.Window{freeze}, nil, []gatehouse.Target{prod, api}},
		{"a longer freeze", []*gatehouse.Window{freeze}, []*gatehouse.Window{deny("freeze", "project:shop/env:prod", "2026-12-27T00:00:00Z", "2027-01-03T00:00:00Z")}, nil},
		{"a shorter freeze", []*gatehouse.Window{freeze}, []*gatehouse.Window{deny("freeze", "project:shop/env:prod", "2026-12-28T00:00:00Z", "2027-01-01T00:00:00Z")}, []gatehouse.Target{prod, api}},
		{"a freeze moved later", []*gatehouse.Window{freeze}, []*gatehouse.Window{deny("freeze", "project:shop/env:prod", "2026-12-29T00:00:00Z", "2027-01-03T00:00:00Z")}, []gatehouse.Target{prod, api}},
		{"a freeze narrowed to one app", []*gatehouse.Window{freeze}, []*gatehouse.Window{deny("freeze", "project:shop/app:web/env:prod", "2026-12-28T00:00:00Z", "2027-01-02T00:00:00Z")}, []gatehouse.Target{api}},
		{"a freeze that already ended", []*gatehouse.Window{deny("old", "project:shop/env:prod", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")}, nil, nil},
		{"a first maintenance window", nil, []*gatehouse.Window{tuesdays}, nil},
		{"a maintenance window deleted", []*gatehouse.Window{tuesdays}, nil, []gatehouse.Target{prod, api}},
		{"a longer maintenance window", []*gatehouse.Window{tuesdays}, []*gatehouse.Window{allow("maint", "project:shop/env:prod", "FREQ=WEEKLY;BYDAY=TU;BYHOUR=6", "5h")}, []gatehouse.Target{prod, api}},
		{"a shorter maintenance window", []*gatehouse.Window{tuesdays}, []*gatehouse.Window{allow("maint", "project:shop/env:prod", "FREQ=WEEKLY;BYDAY=TU;BYHOUR=7", "2h")}, nil},
		{"a second maintenance window", []*gatehouse.Window{tuesdays}, []*gatehouse.Window{tuesdays, allow("thu", "project:shop/env:prod", "FREQ=WEEKLY;BYDAY=TH;BYHOUR=6", "1h")}, []gatehouse.Target{prod, api}},
		{"a maintenance window on one app beside one on all", []*gatehouse.Window{tuesdays}, []*gatehouse.Window{tuesdays, allow("web", "project:shop/app:web/env:prod", "FREQ=WEEKLY;BYDAY=TU;BYHOUR=7", "1h")}, nil},
		{"a maintenance window narrowed to one app", []*gatehouse.Window{tuesdays}, []*gatehouse.Window{allow("maint", "project:shop/app:web/env:prod", "FREQ=WEEKLY;BYDAY=TU;BYHOUR=6", "4h")}, []gatehouse.Target{api}},
		{"a freeze inside maintenance's closed time", []*gatehouse.Window{tuesdays}, []*gatehouse.Window{tuesdays, deny("freeze", "project:shop/env:prod", "2026-12-28T00:00:00Z", "2027-01-02T00:00:00Z")}, nil},
		{"a freeze turned maintenance", []*gatehouse.Window{freeze}, []*gatehouse.Window{mustWindow(t, gatehouse.WindowSpec{Name: "freeze", Kind: gatehouse.WindowAllow,
			Scope: "project:shop/env:prod", Start: ptr(utc("2026-12-28T00:00:00Z")), End: ptr(utc("2027-01-02T00:00:00Z"))})}, []gatehouse.Target{prod, api}},
	} {
		got := gatehouse.WindowsLoosen(c.before, c.after, []gatehouse.Target{prod, api}, now)
		if !slices.Equal(got, c.opens) {
			t.Errorf("%s: opens %v, want %v", c.name, got, c.opens)
		}
	}
}

// TestWindowsLoosenProperty: over generated schedules whose occurrences fall on a ten-minute
// grid, WindowsLoosen names a target exactly when some moment of the grid has it closed
// before and open after — judged by brute force over the grid, from each window's own
// occurrences.
func TestWindowsLoosenProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 5))
	zones := []string{"UTC", "Europe/Berlin", "Australia/Lord_Howe"}
	rules := []string{"FREQ=DAILY;BYHOUR=2", "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16", "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=6;BYMINUTE=30"}
	targets := []gatehouse.Target{{Project: "shop", App: "web", Env: "prod"}, {Project: "shop", App: "api", Env: "prod"}}
	scopes := []string{"project:shop/env:prod", "project:shop/app:web/env:prod", "project:*"}
	now := utc("2027-03-20T00:00:00Z")
	const span = 21 * 24 * time.Hour
	gen := func(name string) *gatehouse.Window {
		in := gatehouse.WindowSpec{Name: name, Kind: []gatehouse.WindowKind{gatehouse.WindowDeny, gatehouse.WindowAllow}[r.IntN(2)],
			Scope: scopes[r.IntN(len(scopes))], TimeZone: zones[r.IntN(len(zones))]}
		if r.IntN(2) == 0 {
			start := now.Add(time.Duration(r.IntN(18*24*6)) * 10 * time.Minute)
			in.Start, in.End = ptr(start), ptr(start.Add(time.Duration(1+r.IntN(300))*10*time.Minute))
		} else {
			// Occurrences that end before the span does: the horizon then holds them all.
			in.RRule, in.Duration = rules[r.IntN(len(rules))]+";UNTIL=20270405T000000Z", fmt.Sprintf("%dm", 10*(1+r.IntN(300)))
		}
		return mustWindow(t, in)
	}
	occs := map[*gatehouse.Window][]gatehouse.Occurrence{}
	closed := func(ws []*gatehouse.Window, target gatehouse.Target, at time.Time) bool {
		denied, allows, allowed := false, false, false
		for _, w := range ws {
			if !w.Reaches(target) {
				continue
			}
			if _, ok := occs[w]; !ok {
				occs[w] = w.Occurrences(now, now.Add(span+8*24*time.Hour))
			}
			open := slices.ContainsFunc(occs[w], func(o gatehouse.Occurrence) bool {
				return !at.Before(o.Start) && at.Before(o.End)
			})
			denied = denied || (w.Kind == gatehouse.WindowDeny && open)
			allows = allows || w.Kind == gatehouse.WindowAllow
			allowed = allowed || (w.Kind == gatehouse.WindowAllow && open)
		}
		return denied || (allows && !allowed)
	}
	loosened := 0
	for iter := 0; iter < 60; iter++ {
		var before []*gatehouse.Window
		for k := 0; k < 1+r.IntN(3); k++ {
			before = append(before, gen(fmt.Sprintf("w%d", k)))
		}
		after := slices.Clone(before)
		switch i := r.IntN(len(after)); r.IntN(3) {
		case 0:
			after = slices.Delete(after, i, i+1)
		case 1:
			after[i] = gen(after[i].Name)
		default:
			after = append(after, gen("new"))
		}
		got := gatehouse.WindowsLoosen(before, after, targets, now)
		var want []gatehouse.Target
		for _, target := range targets {
			for m := now; m.Before(now.Add(span + 8*24*time.Hour)); m = m.Add(10 * time.Minute) {
				if closed(before, target, m) && !closed(after, target, m) {
					want = append(want, target)
					break
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("iteration %d: loosens %v, brute force says %v", iter, got, want)
		}
		if len(want) > 0 {
			loosened++
		}
	}
	if loosened < 15 || loosened > 50 {
		t.Fatalf("%d of 60 changes loosened: the generator should make both kinds often", loosened)
	}
}
