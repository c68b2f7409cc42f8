package worker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// TestPromotionWaitsForTheWindow: on a real control plane, dev succeeds while prod is frozen;
// the promotion into prod waits (a person's deploy is refused, saying when it opens), and once
// the store's clock passes the freeze the workers start it and it rolls out.
func TestPromotionWaitsForTheWindow(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.env("dev", 0)
	prodNS := h.env("prod", 0)
	h.app("web", "replicas: 1\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "dev"},
		gatehouse.Stage{Environment: "prod", After: "dev", Trigger: gatehouse.TriggerAuto})
	now := time.Now().Add(-time.Minute)
	end := now.Add(time.Hour)
	windows := sqlstore.NewWindowService(h.db)
	_, err := windows.CreateWindow(h.ctx, gatehouse.WindowSpec{Name: "freeze", Kind: gatehouse.WindowDeny, Scope: "project:p/env:prod",
		TimeZone: "Europe/Berlin", Start: &now, End: &end})
	h.must(err)
	digest := h.push("web", "")
	_, err = h.deps.Deploy(h.ctx, "p", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest})
	if err == nil || gatehouse.KindOf(err) != gatehouse.KindPreconditionFailed || !strings.Contains(err.Error(), "closed by window freeze: opens") {
		t.Fatalf("a person's deploy into the freeze: %v", err)
	}
	dev := h.wait("web", h.deploy("web", "dev", digest).ID)
	if dev.State != gatehouse.StateSucceeded || !strings.Contains(events(dev), "stage prod waits: closed by window freeze") {
		t.Fatalf("dev %s:\n%s", dev.State, events(dev))
	}
	waits, err := windows.Waiting(h.ctx, "p", "web", "")
	h.must(err)
	if len(waits) != 1 || waits[0].Digest != digest {
		t.Fatalf("waiting %+v", waits)
	}
	if ds, _ := gatehouse.Items(h.deps.Deployments(h.ctx, "p", "web", gatehouse.DeploymentFilter{Environment: "prod"})); len(ds) != 0 {
		t.Fatalf("prod started inside the freeze: %+v", ds)
	}

	h.advance(time.Hour)
	var prod []*gatehouse.Deployment
	for deadline := time.Now().Add(30 * time.Second); len(prod) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		prod, err = gatehouse.Items(h.deps.Deployments(h.ctx, "p", "web", gatehouse.DeploymentFilter{Environment: "prod"}))
		h.must(err)
	}
	if len(prod) != 1 {
		t.Fatal("the workers did not start the waiting promotion once the freeze ended")
	}
	d := h.wait("web", prod[0].ID)
	if d.State != gatehouse.StateSucceeded || !strings.Contains(events(d), "waited since") {
		t.Fatalf("prod %s (%s):\n%s", d.State, d.Cause, events(d))
	}
	if img, _ := deployedImage(t, 0, prodNS, "web"); img != "registry.example.com/web@"+digest {
		t.Fatalf("prod runs %s", img)
	}
}
