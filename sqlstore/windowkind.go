package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// windowKind is the draft kind of a deployment window. A change that only closes more (a new
// freeze, a longer one, a narrower maintenance window) applies at once; one that opens a
// protected app in an environment at a moment it was closed — deleting a window, shortening
// a freeze, widening or adding a maintenance window, moving a scope — is judged by the
// policies protecting what it opens, as their settings are.
type windowKind struct{ setting }

func (windowKind) live(_ context.Context, _ *DB, _ querier, s subject) (string, error) {
	if s.window == nil {
		return "", nil
	}
	return renderSetting(s.window.WindowSpec), nil
}

// prepare reads a window's new content ("" deletes it): checked, its scope and zone in their
// canonical forms, and within the caller's reach.
func (windowKind) prepare(ctx context.Context, _ *DB, _ querier, s subject, content, _ string) (string, error) {
	next, err := parseWindow(s.ref.Window, content)
	if err != nil {
		return "", err
	}
	if next == nil {
		if s.window == nil {
			return "", gatehouse.NotFoundf("window %q not found", s.ref.Window)
		}
		return "", nil
	}
	if who := gatehouse.ActorFrom(ctx); who != nil && who.Via != gatehouse.AuthSystem {
		if err := requireManageScope(who, next.Scope); err != nil {
			return "", err
		}
	}
	return renderSetting(next.WindowSpec), nil
}

// scopeOf is the scope of a window's content ("" for a deletion).
func (windowKind) scopeOf(body string) string {
	if w, err := parseWindow("", body); err == nil && w != nil {
		return w.Scope
	}
	return ""
}

// parseWindow reads a window's content, nil for "" (deletion).
func parseWindow(name, content string) (*gatehouse.Window, error) {
	if strings.TrimSpace(content) == "" {
		return nil, nil
	}
	var in gatehouse.WindowSpec
	if err := gatehouse.ParseSetting("content", content, &in); err != nil {
		return nil, err
	}
	if name != "" {
		if err := keepName("window", &in.Name, name); err != nil {
			return nil, err
		}
	}
	return in.Compile()
}

// change compares two contents by path, labelled with what the new one opens.
func (windowKind) change(ctx context.Context, db *DB, q querier, s subject, fromName, toName, a, b string) (*gatehouse.ConfigChange, error) {
	ch, err := settingChange(fromName, toName, a, b)
	if err != nil {
		return nil, err
	}
	opened, err := windowOpenings(ctx, q, s, a, b, db.now())
	if err != nil {
		return nil, err
	}
	for i, t := range opened {
		if i == 5 {
			ch.Labels = append(ch.Labels, fmt.Sprintf("and %d more", len(opened)-i))
			break
		}
		ch.Labels = append(ch.Labels, fmt.Sprintf("opens %s/%s in %s where it was closed", t.Project, t.App, t.Env))
	}
	return ch, nil
}

// judges are the policies protecting what the change opens where it was closed (for the live
// content itself: what the window reaches); none when it only closes more.
func (windowKind) judges(ctx context.Context, db *DB, q querier, s subject, live, body string, _ *gatehouse.ConfigChange) ([]gatehouse.Judge, error) {
	var targets []gatehouse.Target
	var err error
	if live == body {
		w, err := parseWindow(s.ref.Window, live)
		if err != nil || w == nil {
			return nil, err
		}
		targets, err = windowTargets(ctx, q, w, nil)
		if err != nil {
			return nil, err
		}
	} else if targets, err = windowOpenings(ctx, q, s, live, body, db.now()); err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, nil
	}
	ps, err := settingPolicies(ctx, q, targets)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, nil
	}
	return judgesOf(gatehouse.Target{}, ps), nil
}

// windowOpenings are the apps in environments that replacing the live content by body opens
// at some moment they were closed, judged from now with every other window as it is.
func windowOpenings(ctx context.Context, q querier, s subject, live, body string, now time.Time) ([]gatehouse.Target, error) {
	was, err := parseWindow(s.ref.Window, live)
	if err != nil {
		return nil, err
	}
	next, err := parseWindow(s.ref.Window, body)
	if err != nil {
		return nil, err
	}
	all, err := allWindows(ctx, q)
	if err != nil {
		return nil, err
	}
	others := keep(all, func(w *gatehouse.Window) bool { return w.Name != s.ref.Window })
	before, after := others, others
	if was != nil {
		before = append(append([]*gatehouse.Window{}, others...), was)
	}
	if next != nil {
		after = append(append([]*gatehouse.Window{}, others...), next)
	}
	reach := []*gatehouse.Window{}
	for _, w := range []*gatehouse.Window{was, next} {
		if w != nil {
			reach = append(reach, w)
		}
	}
	if len(reach) == 0 {
		return nil, nil
	}
	targets, err := windowTargets(ctx, q, reach[0], reach[1:])
	if err != nil {
		return nil, err
	}
	return gatehouse.WindowsLoosen(before, after, targets, now), nil
}

// windowTargets are the apps in environments that exist now and that any of the windows
// reaches.
func windowTargets(ctx context.Context, q querier, w *gatehouse.Window, more []*gatehouse.Window) ([]gatehouse.Target, error) {
	ws := append([]*gatehouse.Window{w}, more...)
	all, err := queryAll(ctx, q, func(r scanner) (gatehouse.Target, error) {
		var t gatehouse.Target
		return t, r.Scan(&t.Project, &t.App, &t.Env)
	}, `SELECT p.name, a.name, e.name FROM apps a JOIN projects p ON p.id = a.project_id
		JOIN environments e ON e.project_id = p.id ORDER BY p.name, a.name, e.name`)
	if err != nil {
		return nil, fmt.Errorf("window targets: %w", err)
	}
	return keep(all, func(t gatehouse.Target) bool {
		for _, w := range ws {
			if w.Reaches(t) {
				return true
			}
		}
		return false
	}), nil
}

func (windowKind) apply(tx *Tx, s subject, live, body string, how application) (int64, error) {
	next, err := parseWindow(s.ref.Window, body)
	if err != nil {
		return 0, err
	}
	resource := "window/" + s.ref.Window
	var before, after any
	action := "window.update"
	switch {
	case next == nil:
		action, before = "window.delete", s.window
		_, err = tx.ExecContext(tx.ctx, `DELETE FROM windows WHERE name = $1`, s.ref.Window)
	case live == "":
		action, after = "window.create", next
		_, err = tx.ExecContext(tx.ctx, `INSERT INTO windows (name, scope, spec, version, updated_by, updated_at) VALUES ($1, $2, $3, 1, $4, $5)`,
			next.Name, next.Scope, jsonText(next.WindowSpec), gatehouse.ActorFrom(tx.ctx).UserName, micro(tx.now))
		if isUniqueViolation(err) {
			return 0, gatehouse.Conflictf("window %q already exists", next.Name)
		}
	default:
		before, after = s.window, next
		_, err = tx.ExecContext(tx.ctx, `UPDATE windows SET scope = $1, spec = $2, version = version + 1, updated_by = $3, updated_at = $4
			WHERE name = $5`, next.Scope, jsonText(next.WindowSpec), gatehouse.ActorFrom(tx.ctx).UserName, micro(tx.now), next.Name)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", action, err)
	}
	target := gatehouse.Target{}
	for _, w := range []*gatehouse.Window{next, s.window} {
		if w != nil {
			sc, _ := gatehouse.ParseScope("scope", w.Scope)
			target = scopeTarget(sc)
			break
		}
	}
	if err := tx.audit(change{action: action, resource: resource, target: target, before: before, after: after,
		details: nonEmptyAny(how.details(nil))}); err != nil {
		return 0, err
	}
	return 0, tx.windowsChanged()
}
