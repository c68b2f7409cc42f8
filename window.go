package gatehouse

import (
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// WindowKind says what a deployment window does: a deny window (a freeze) refuses deployments
// while it is open; allow windows (maintenance windows) refuse deployments outside them.
type WindowKind string

// The window kinds.
const (
	WindowDeny  WindowKind = "deny"
	WindowAllow WindowKind = "allow"
)

// WindowSpec is a deployment window as people write it: a name, a kind, the scope it
// reaches (the syntax of policy scopes), a time zone, and either one period (Start, End) or
// a recurring one (an RFC 5545 RRULE whose occurrences each last Duration).
type WindowSpec struct {
	Name        string     `json:"name"`
	Kind        WindowKind `json:"kind"`
	Scope       string     `json:"scope"`
	TimeZone    string     `json:"timezone"`
	Start       *time.Time `json:"start,omitempty"`
	End         *time.Time `json:"end,omitempty"`
	RRule       string     `json:"rrule,omitempty"`
	Duration    string     `json:"duration,omitempty"`
	Description string     `json:"description,omitempty"`
}

// maxWindowLength bounds one occurrence of a window.
const maxWindowLength = 366 * day

// windowAnchor is where a recurring window's rule starts counting when it names no DTSTART:
// its occurrences are reckoned from there, in the window's wall-clock time.
var windowAnchor = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Window is a checked window, ready to say when it is open; a stored one carries its version
// and who changed it last.
type Window struct {
	WindowSpec
	Version   int64     `json:"version,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	scope     Scope
	loc       *time.Location
	rule      *rrule.RRule // nil for a one-off window
	length    time.Duration
}

// Compile checks every field, naming the one at fault, and returns the window. A recurring
// rule must open at some point, and at most once an hour on average.
func (in WindowSpec) Compile() (*Window, error) { return in.compile(true) }

// Load returns a window that Compile accepted before (as stored), without probing its rule
// again.
func (in WindowSpec) Load() (*Window, error) { return in.compile(false) }

func (in WindowSpec) compile(probe bool) (*Window, error) {
	if err := ValidateName("name", in.Name); err != nil {
		return nil, err
	}
	if in.Kind != WindowDeny && in.Kind != WindowAllow {
		return nil, Invalidf("kind", "%q is not a window kind: expected deny or allow", in.Kind)
	}
	sc, err := ParseScope("scope", in.Scope)
	if err != nil {
		return nil, err
	}
	if in.TimeZone == "" {
		in.TimeZone = "UTC"
	}
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil || strings.EqualFold(in.TimeZone, "local") {
		return nil, Invalidf("timezone", "%q is not a time zone: expected an IANA name such as Europe/Berlin", in.TimeZone)
	}
	in.Scope, in.TimeZone = sc.String(), loc.String()
	w := &Window{WindowSpec: in, scope: sc, loc: loc}
	switch {
	case in.RRule == "" && (in.Start == nil || in.End == nil):
		return nil, Invalidf("start", "a window needs start and end, or rrule and duration")
	case in.RRule == "":
		if in.Duration != "" {
			return nil, Invalidf("duration", "a one-off window ends at end: expected no duration")
		}
		if !in.Start.Before(*in.End) || in.End.Sub(*in.Start) > maxWindowLength {
			return nil, Invalidf("end", "expected a time after start, at most 366 days later")
		}
		return w, nil
	case in.End != nil:
		return nil, Invalidf("end", "a recurring window lasts its duration: expected no end")
	}
	w.length, err = time.ParseDuration(in.Duration)
	if err != nil || w.length < time.Minute || w.length > maxWindowLength {
		return nil, Invalidf("duration", "%q is not a window length: expected a duration from 1m to 8784h, e.g. 64h", in.Duration)
	}
	opt, err := rrule.StrToROptionInLocation(in.RRule, time.UTC)
	if err != nil {
		return nil, Invalidf("rrule", "%q is not an RFC 5545 RRULE (FREQ=WEEKLY;BYDAY=FR;BYHOUR=16): %v", in.RRule, err)
	}
	// The rule runs in floating time: wall-clock times of the window's zone written as UTC,
	// so a 02:00 occurrence stays 02:00 on the nights clocks change.
	opt.Dtstart = windowAnchor
	if in.Start != nil {
		opt.Dtstart = wall(in.Start.In(loc))
	}
	if opt.Freq == rrule.SECONDLY || opt.Freq == rrule.MINUTELY {
		return nil, Invalidf("rrule", "%q opens too often: expected FREQ=HOURLY or coarser", in.RRule)
	}
	w.rule, err = rrule.NewRRule(*opt)
	if err != nil {
		return nil, Invalidf("rrule", "%q is not a usable RRULE: %v", in.RRule, err)
	}
	if !probe {
		return w, nil
	}
	switch opens, dense := probeRule(w.rule); {
	case opens == 0:
		return nil, Invalidf("rrule", "%q never opens: expected a rule with at least one occurrence", in.RRule)
	case dense:
		return nil, Invalidf("rrule", "%q opens more than once an hour: expected a schedule of at most one opening an hour", in.RRule)
	}
	return w, nil
}

// probeRule counts a rule's first openings (up to 200) and reports whether they come more
// than once an hour on average (BYMINUTE lists can make an hourly rule open every minute).
// Every deployment judges the windows over the horizon, so a stored window must be cheap to
// read; a rule that never opens costs the most of all (the rule library walks to year 9999
// looking), so it is refused here, once, when it is written.
func probeRule(r *rrule.RRule) (int, bool) {
	const probe = 200
	next := r.Iterator()
	var first, last time.Time
	n := 0
	for ; n < probe; n++ {
		t, ok := next()
		if !ok {
			break
		}
		if n == 0 {
			first = t
		}
		last = t
	}
	return n, n == probe && last.Sub(first) < (probe-1)*time.Hour
}

// Reaches reports whether the window's scope reaches the target.
func (w *Window) Reaches(t Target) bool { return w.scope.Matches(t) }

// wall is t's wall-clock time in its zone, written as UTC.
func wall(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// instant is the first moment the clocks of loc show the wall-clock time w (written as UTC).
// A time they skip (02:30 on the night they go forward) is the moment they show the same
// distance past the gap (03:30); a time they show twice (02:30 on the night they go back) is
// the first of the two.
func instant(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	for _, back := range []time.Duration{2 * time.Hour, time.Hour, 30 * time.Minute} { // the sizes of clock changes
		if e := t.Add(-back); wall(e.In(loc)).Equal(w) {
			return e
		}
	}
	return t
}

// Occurrence is one period a window is open: [Start, End).
type Occurrence struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// occurrence turns a wall-clock start into the period it stands for: as a person in the
// zone reads it, from the clock showing the start to the clock showing start + length.
func (w *Window) occurrence(start time.Time) Occurrence {
	return Occurrence{Start: instant(start, w.loc), End: instant(start.Add(w.length), w.loc)}
}

// Covering returns the occurrence open at t, if any.
func (w *Window) Covering(t time.Time) (Occurrence, bool) {
	if occs := w.Occurrences(t, t.Add(time.Nanosecond)); len(occs) > 0 {
		return occs[0], true
	}
	return Occurrence{}, false
}

// Next returns the first occurrence that starts after t, if any.
func (w *Window) Next(t time.Time) (Occurrence, bool) {
	for _, o := range w.Occurrences(t, t.Add(maxWindowLength)) {
		if o.Start.After(t) {
			return o, true
		}
	}
	return Occurrence{}, false
}

// Occurrences returns, in order, the occurrences that are open at some moment of [from, to).
// A recurring rule is walked once from its start, so asking for a span at once is much
// cheaper than asking moment by moment.
func (w *Window) Occurrences(from, to time.Time) []Occurrence {
	if w.rule == nil {
		if w.Start.Before(to) && w.End.After(from) {
			return []Occurrence{{Start: *w.Start, End: *w.End}}
		}
		return nil
	}
	var out []Occurrence
	// A day of slack on each side in wall-clock time: clocks that change move an
	// occurrence by at most a few hours against its wall-clock start.
	for _, s := range w.rule.Between(wall(from.In(w.loc)).Add(-w.length-day), wall(to.In(w.loc)).Add(day), true) {
		if o := w.occurrence(s); o.Start.Before(to) && o.End.After(from) {
			out = append(out, o)
		}
	}
	return out
}
