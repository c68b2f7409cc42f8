package gatehouse

import (
	"slices"
	"time"
)

// WindowVerdict is what the windows reaching a target say at a moment.
type WindowVerdict struct {
	Open bool `json:"open"`
	// By names the windows that close it: the deny windows open then, or, when allow windows
	// reach the target and none is open, those allow windows.
	By []string `json:"by,omitempty"`
	// Until is when the verdict changes next: an open target's next closing, a closed one's
	// next opening (zero: not within the horizon).
	Until time.Time `json:"until,omitzero"`
}

// windowHorizon is how far ahead the next change of a verdict is looked for.
const windowHorizon = 400 * day

// WindowsAt judges a target at t by the windows that reach it: closed while one of its deny
// windows is open, or while it has allow windows and none of them is open. Deny beats allow.
func WindowsAt(ws []*Window, target Target, t time.Time) WindowVerdict {
	// Each window's occurrences over the horizon, read once: verdicts change only where one
	// starts or ends, so those moments are walked in order.
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
	v := verdictAt(sched, t)
	slices.SortFunc(moments, func(a, b time.Time) int { return a.Compare(b) })
	for _, m := range moments {
		if m.After(t) && m.Before(t.Add(windowHorizon)) && verdictAt(sched, m).Open != v.Open {
			v.Until = m
			break
		}
	}
	return v
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
	var denied, allows []string
	allowed := false
	for _, s := range sched {
		open := s.openAt(t)
		switch {
		case s.w.Kind == WindowDeny && open:
			denied = append(denied, s.w.Name)
		case s.w.Kind == WindowAllow:
			allows = append(allows, s.w.Name)
			allowed = allowed || open
		}
	}
	switch {
	case len(denied) > 0:
		return WindowVerdict{By: denied}
	case len(allows) > 0 && !allowed:
		return WindowVerdict{By: allows}
	}
	return WindowVerdict{Open: true}
}
