package gatehouse

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WindowVerdict is what the windows reaching a target say at a moment.
type WindowVerdict struct {
	// At is the moment judged.
	At   time.Time `json:"at"`
	Open bool      `json:"open"`
	// By names the windows that close it: the deny windows open then, or, when allow windows
	// reach the target and none is open, those allow windows.
	By []string `json:"by,omitempty"`
	// Until is when the verdict changes next: an open target's next closing, a closed one's
	// next opening (zero: not within the horizon).
	Until time.Time `json:"until,omitzero"`
	// TimeZone is the zone the first window of By (or, for an open target, the window that
	// closes it next) is written in: times are shown to people there.
	TimeZone string `json:"timezone,omitempty"`
}

// windowHorizon is how far ahead the next change of a verdict is looked for.
const windowHorizon = 400 * day

// WindowsAt judges a target at t by the windows that reach it: closed while one of its deny
// windows is open, or while it has allow windows and none of them is open. Deny beats allow.
func WindowsAt(ws []*Window, target Target, t time.Time) WindowVerdict {
	sched, moments := schedules(ws, target, t)
	v := verdictAt(sched, t)
	for _, m := range moments {
		if next := verdictAt(sched, m); m.After(t) && next.Open != v.Open {
			v.Until = m
			if v.Open {
				v.TimeZone = next.TimeZone
			}
			break
		}
	}
	return v
}

// WindowsLoosen returns the targets that the windows after leave open at some moment of the
// horizon from t where the windows before held them closed: where replacing before by after
// loosens a freeze (deleting or shortening a deny window, widening or adding to allow
// windows, narrowing a scope). A change that only closes more is no loosening.
func WindowsLoosen(before, after []*Window, targets []Target, t time.Time) []Target {
	var out []Target
	for _, target := range targets {
		was, wasAt := schedules(before, target, t)
		now, nowAt := schedules(after, target, t)
		// Both verdicts are constant between consecutive moments, so the moments themselves
		// (and t) are the only places to look.
		for _, m := range append(append([]time.Time{t}, wasAt...), nowAt...) {
			if !m.Before(t) && !verdictAt(was, m).Open && verdictAt(now, m).Open {
				out = append(out, target)
				break
			}
		}
	}
	return out
}

// schedules reads the occurrences over the horizon from t of each window reaching the target,
// and the moments, in order, where one of them starts or ends: verdicts change only there.
func schedules(ws []*Window, target Target, t time.Time) ([]schedule, []time.Time) {
	var sched []schedule
	var moments []time.Time
	for _, w := range ws {
		if !w.Reaches(target) {
			continue
		}
		s := schedule{w: w, occs: w.Occurrences(t, t.Add(windowHorizon))}
		for _, o := range s.occs {
			moments = append(moments, o.Start, o.End)
		}
		sched = append(sched, s)
	}
	slices.SortFunc(moments, func(a, b time.Time) int { return a.Compare(b) })
	end := t.Add(windowHorizon)
	return sched, slices.DeleteFunc(moments, func(m time.Time) bool { return !m.Before(end) })
}

// schedule is a window and its occurrences over the span judged.
type schedule struct {
	w    *Window
	occs []Occurrence
}

func (s schedule) openAt(t time.Time) bool {
	return slices.ContainsFunc(s.occs, func(o Occurrence) bool { return !t.Before(o.Start) && t.Before(o.End) })
}

func verdictAt(sched []schedule, t time.Time) WindowVerdict {
	var denied, allows []*Window
	allowed := false
	for _, s := range sched {
		open := s.openAt(t)
		switch {
		case s.w.Kind == WindowDeny && open:
			denied = append(denied, s.w)
		case s.w.Kind == WindowAllow:
			allows = append(allows, s.w)
			allowed = allowed || open
		}
	}
	closedBy := func(ws []*Window) WindowVerdict {
		v := WindowVerdict{At: t, TimeZone: ws[0].loc.String()}
		for _, w := range ws {
			v.By = append(v.By, w.Name)
		}
		return v
	}
	switch {
	case len(denied) > 0:
		return closedBy(denied)
	case len(allows) > 0 && !allowed:
		return closedBy(allows)
	}
	return WindowVerdict{At: t, Open: true}
}

// Text says the verdict for people, in the time zone of the windows that decide it: "closed
// by window year-end-freeze: opens Sat 2 Jan 2027 00:00 Europe/Berlin", "open until Fri 11
// Dec 16:00 Europe/Berlin", "open".
func (v WindowVerdict) Text() string {
	when := func() string {
		loc, err := time.LoadLocation(v.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		u := v.Until.In(loc)
		layout := "Mon 2 Jan 15:04"
		if u.Year() != v.At.In(loc).Year() {
			layout = "Mon 2 Jan 2006 15:04"
		}
		return u.Format(layout) + " " + loc.String()
	}
	switch {
	case v.Open && v.Until.IsZero():
		return "open"
	case v.Open:
		return "open until " + when()
	}
	word := "window"
	if len(v.By) > 1 {
		word = "windows"
	}
	closed := fmt.Sprintf("closed by %s %s", word, strings.Join(v.By, ", "))
	if v.Until.IsZero() {
		return closed + ": does not open within 400 days"
	}
	return closed + ": opens " + when()
}
