package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// WindowService implements gatehouse.WindowService.
type WindowService struct{ db *DB }

// NewWindowService returns the window service of db.
func NewWindowService(db *DB) *WindowService { return &WindowService{db: db} }

const windowSelect = `SELECT spec, version, updated_by, updated_at FROM windows`

func scanWindow(row scanner) (*gatehouse.Window, error) {
	var spec, by string
	var version, updated int64
	if err := row.Scan(&spec, &version, &by, &updated); err != nil {
		return nil, err
	}
	var in gatehouse.WindowSpec
	if err := json.Unmarshal([]byte(spec), &in); err != nil {
		return nil, fmt.Errorf("window: %w", err)
	}
	// Stored windows were compiled when written: their rules need no probing again.
	w, err := in.Load()
	if err != nil {
		return nil, fmt.Errorf("window %s: %w", in.Name, err)
	}
	w.Version, w.UpdatedBy, w.UpdatedAt = version, by, fromMicro(updated)
	return w, nil
}

// allWindows reads every window, by name.
func allWindows(ctx context.Context, q querier) ([]*gatehouse.Window, error) {
	ws, err := queryAll(ctx, q, scanWindow, windowSelect+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read windows: %w", err)
	}
	return ws, nil
}

// findWindow reads a window by name; a missing one is nil.
func findWindow(ctx context.Context, q querier, name string) (*gatehouse.Window, error) {
	w, err := scanWindow(q.QueryRowContext(ctx, windowSelect+` WHERE name = $1`, name))
	if err := notFoundOr(err, ""); gatehouse.KindOf(err) == gatehouse.KindNotFound {
		return nil, nil
	}
	return w, err
}

// CreateWindow implements gatehouse.WindowService.
func (s *WindowService) CreateWindow(ctx context.Context, in gatehouse.WindowSpec) (*gatehouse.Window, error) {
	return s.save(ctx, in, false)
}

// UpdateWindow implements gatehouse.WindowService.
func (s *WindowService) UpdateWindow(ctx context.Context, name string, in gatehouse.WindowSpec) (*gatehouse.Window, error) {
	if err := keepName("window", &in.Name, name); err != nil {
		return nil, err
	}
	return s.save(ctx, in, true)
}

// save creates or replaces a window through the window draft kind: what only closes more
// applies at once, what opens a protected environment is refused (it takes a draft).
func (s *WindowService) save(ctx context.Context, in gatehouse.WindowSpec, replace bool) (*gatehouse.Window, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	w, err := in.Compile()
	if err != nil {
		return nil, err
	}
	if err := requireManageScope(who, w.Scope); err != nil {
		return nil, err
	}
	var out *gatehouse.Window
	err = s.db.write(ctx, func(tx *Tx) error {
		sub, err := windowSubject(ctx, tx, w.Name, replace)
		if err != nil {
			return err
		}
		if !replace && sub.window != nil {
			return gatehouse.Conflictf("window %q already exists", w.Name)
		}
		if err := requireWrite(who, windowKind{}, sub); err != nil {
			return err
		}
		if _, err := tx.changeDirectly(sub, renderSetting(w.WindowSpec), ""); err != nil {
			return err
		}
		out, err = findWindow(ctx, tx, w.Name)
		return err
	})
	return out, err
}

// DeleteWindow implements gatehouse.WindowService.
func (s *WindowService) DeleteWindow(ctx context.Context, name string) error {
	who, err := actor(ctx)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		sub, err := windowSubject(ctx, tx, name, true)
		if err != nil {
			return err
		}
		if err := requireWrite(who, windowKind{}, sub); err != nil {
			return err
		}
		_, err = tx.changeDirectly(sub, "", "")
		return err
	})
}

// Window implements gatehouse.WindowService.
func (s *WindowService) Window(ctx context.Context, name string) (*gatehouse.Window, error) {
	sub, err := windowSubject(ctx, s.db.r, name, true)
	return sub.window, err
}

// windowSubject resolves a window as the subject of a change; existing says it must exist
// (and be visible to the caller).
func windowSubject(ctx context.Context, q querier, name string, existing bool) (subject, error) {
	sub, err := resolveSubject(ctx, q, gatehouse.DraftRef{Kind: gatehouse.DraftWindow, Window: name})
	if err == nil && existing && sub.window == nil {
		err = gatehouse.NotFoundf("window %q not found", name)
	}
	return sub, err
}

// Windows implements gatehouse.WindowService.
func (s *WindowService) Windows(ctx context.Context, project string) ([]*gatehouse.Window, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	all, err := allWindows(ctx, s.db.r)
	if err != nil {
		return nil, err
	}
	return keep(all, func(w *gatehouse.Window) bool {
		sc, _ := gatehouse.ParseScope("scope", w.Scope)
		return visibleScope(who, w.Scope) && (project == "" || sc.Project == "*" || sc.Project == project)
	}), nil
}

// WindowState implements gatehouse.WindowService.
func (s *WindowService) WindowState(ctx context.Context, t gatehouse.Target) (*gatehouse.WindowState, error) {
	if err := gatehouse.ValidateName("environment", t.Env); err != nil {
		return nil, err
	}
	if t.App != "" {
		if _, _, err := visibleApp(ctx, s.db.r, t.Project, t.App); err != nil {
			return nil, err
		}
	} else if _, _, err := visibleProject(ctx, s.db.r, t.Project); err != nil {
		return nil, err
	}
	if _, err := findEnvironment(ctx, s.db.r, t.Project, t.Env); err != nil {
		return nil, err
	}
	if who := gatehouse.ActorFrom(ctx); !who.CanSee(t) {
		return nil, gatehouse.NotFoundf("environment %q not found in project %q", t.Env, t.Project)
	}
	all, err := allWindows(ctx, s.db.r)
	if err != nil {
		return nil, err
	}
	v := gatehouse.WindowsAt(all, t, s.db.now())
	out := &gatehouse.WindowState{Verdict: v, Message: v.Text(), Windows: []string{}}
	for _, w := range all {
		if w.Reaches(t) {
			out.Windows = append(out.Windows, w.Name)
		}
	}
	return out, nil
}

// requireManageScope checks the caller may manage settings on the scope (see requireManage).
func requireManageScope(who *gatehouse.Actor, scope string) error {
	sc, err := gatehouse.ParseScope("scope", scope)
	if err != nil {
		return err
	}
	return requireManage(who, sc)
}
