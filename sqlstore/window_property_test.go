package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestWindowsProperty: over generated windows of dev and a generated run of attempts —
// pushes (dev deploys by itself), people's deploys, break-glass deploys, the workers judging
// waits, time passing — a person's deploy is refused exactly when the windows are closed,
// and no deployment starts while they are closed without a break-glass record.
func TestWindowsProperty(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		r := rand.New(rand.NewPCG(7, 31))
		for run := 0; run < 4; run++ {
			w := newWindowWorld(t, engine)
			finn := w.person("finn", "deployer@project:shop", "break-glass@project:shop/env:dev")
			target := gatehouse.Target{Project: "shop", App: "web", Env: "dev"}
			var ws []*gatehouse.Window
			rules := []string{"FREQ=DAILY;BYHOUR=2", "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9", "FREQ=DAILY;BYHOUR=13;BYMINUTE=30"}
			for k := 0; k < 1+r.IntN(3); k++ {
				in := gatehouse.WindowSpec{Name: fmt.Sprintf("w%d", k), Kind: []gatehouse.WindowKind{gatehouse.WindowDeny, gatehouse.WindowAllow}[r.IntN(2)],
					Scope: "project:shop/env:dev", TimeZone: []string{"UTC", "Europe/Berlin", "America/New_York"}[r.IntN(3)]}
				if r.IntN(2) == 0 {
					s := w.clock.Now().Add(time.Duration(r.IntN(72)) * time.Hour)
					e := s.Add(time.Duration(1+r.IntN(48)) * time.Hour)
					in.Start, in.End = &s, &e
				} else {
					in.RRule, in.Duration = rules[r.IntN(len(rules))], fmt.Sprintf("%dm", 30+r.IntN(600))
				}
				win, err := w.windows.CreateWindow(w.admin, in)
				w.must(err)
				ws = append(ws, win)
			}
			refused, glass := 0, 0
			for step := 0; step < 40; step++ {
				w.clock.Advance(time.Duration(r.IntN(8*60)) * time.Minute)
				open := gatehouse.WindowsAt(ws, target, w.clock.Now()).Open
				switch r.IntN(4) {
				case 0:
					w.pushed(run*100 + step)
				case 1:
					digest := w.pushed(run*100 + step)
					_, err := w.deps.Deploy(w.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest})
					if closed := err != nil && strings.Contains(err.Error(), "closed by window"); closed == open || (err != nil && !closed) {
						t.Fatalf("run %d step %d: open %v, deploy says %v", run, step, open, err)
					}
					if err != nil {
						refused++
					}
				case 2:
					digest := w.pushed(run*100 + step)
					if _, err := w.deps.Deploy(finn, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest,
						BreakGlass: "an emergency the generator declared"}); err != nil {
						t.Fatalf("run %d step %d: break-glass: %v", run, step, err)
					}
					if !open {
						glass++
					}
				default:
					_, err := w.db.StartOpenedWaits(context.Background())
					w.must(err)
				}
			}
			ds, err := gatehouse.Items(w.deps.Deployments(w.admin, "shop", "web", gatehouse.DeploymentFilter{Environment: "dev", Limit: 1000}))
			w.must(err)
			for _, d := range ds {
				if !gatehouse.WindowsAt(ws, target, d.CreatedAt).Open && d.BreakGlass == "" {
					t.Fatalf("run %d: deployment %d started at %s inside a closed window without break-glass", run, d.ID, d.CreatedAt)
				}
			}
			t.Logf("run %d: %d windows, %d deployments, %d refused, %d through closed windows by break-glass", run, len(ws), len(ds), refused, glass)
		}
	})
}

// pushed pushes an artifact whose digest is made of n, as CI, and returns the digest.
func (w *windowWorld) pushed(n int) string {
	w.t.Helper()
	d := fmt.Sprintf("sha256:%064x", n)
	_, err := w.arts.CreateArtifact(w.ci, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d})
	w.must(err)
	return d
}
