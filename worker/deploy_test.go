package worker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

func TestDeployBecomesReadyAndUpgrades(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		h := newHarness(t, engine)
		ns := h.env("dev", 0)
		h.app("web", "replicas: 3\nconfig: {GREETING: hello}\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "dev"})
		first := h.push("web", "")
		d := h.wait("web", h.deploy("web", "dev", first).ID)
		if d.State != gatehouse.StateSucceeded || d.HelmRevision != 1 {
			t.Fatalf("first deployment %s (%s), revision %d\n%s", d.State, d.Cause, d.HelmRevision, events(d))
		}
		img, ready := deployedImage(t, 0, ns, "web")
		if img != "registry.example.com/web@"+first || ready != 3 {
			t.Fatalf("cluster runs %s with %d ready, want the digest with 3", img, ready)
		}
		for _, want := range []string{"applied release web revision 1", "Deployment/web is ready", "succeeded"} {
			if !strings.Contains(events(d), want) {
				t.Fatalf("events lack %q:\n%s", want, events(d))
			}
		}
		second := h.push("web", "")
		d = h.wait("web", h.deploy("web", "dev", second).ID)
		if d.State != gatehouse.StateSucceeded || d.HelmRevision != 2 {
			t.Fatalf("upgrade %s (%s) revision %d", d.State, d.Cause, d.HelmRevision)
		}
		if img, _ := deployedImage(t, 0, ns, "web"); img != "registry.example.com/web@"+second {
			t.Fatalf("after upgrade the cluster runs %s", img)
		}
	})
}

func TestFailedRolloutsSayWhy(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.env("dev", 0)
	h.app("web", "replicas: 2\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "dev", Timeout: "3s"})
	cases := map[string]string{
		"never-ready": "not ready after 3s: Deployment/web",
		"unpullable":  "ImagePullBackOff",
		"crashloop":   "CrashLoopBackOff",
	}
	for marker, cause := range cases {
		d := h.wait("web", h.deploy("web", "dev", h.push("web", marker)).ID)
		if d.State != gatehouse.StateFailed || !strings.Contains(d.Cause, cause) {
			t.Errorf("%s: %s with cause %q, want failed with %q\n%s", marker, d.State, d.Cause, cause, events(d))
		}
	}
	// A good deployment after failed ones still goes through.
	if d := h.wait("web", h.deploy("web", "dev", h.push("web", "")).ID); d.State != gatehouse.StateSucceeded {
		t.Fatalf("good deployment after failures: %s %s", d.State, d.Cause)
	}
}

func TestAutomaticRollbackToLastGood(t *testing.T) {
	h := newHarness(t, "postgres")
	ns := h.env("prod", 1)
	h.app("api", "replicas: 2\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "prod", Timeout: "20s", AutoRollback: true})
	good := h.push("api", "")
	if d := h.wait("api", h.deploy("api", "prod", good).ID); d.State != gatehouse.StateSucceeded {
		t.Fatalf("good deployment: %s %s", d.State, d.Cause)
	}
	bad := h.wait("api", h.deploy("api", "prod", h.push("api", "unpullable")).ID)
	if bad.State != gatehouse.StateRolledBack || !strings.Contains(bad.Cause, "ImagePullBackOff") || !strings.Contains(bad.Cause, "rolled back to revision 1 (as revision 3)") {
		t.Fatalf("bad deployment %s: %q\n%s", bad.State, bad.Cause, events(bad))
	}
	if img, ready := deployedImage(t, 1, ns, "api"); img != "registry.example.com/api@"+good || ready != 2 {
		t.Fatalf("after rollback the cluster runs %s (%d ready)", img, ready)
	}
}

func TestRollbackRedeploysAnEarlierDeployment(t *testing.T) {
	h := newHarness(t, "sqlite")
	ns := h.env("dev", 0)
	h.app("web", "replicas: 1\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "dev"})
	a := h.wait("web", h.deploy("web", "dev", h.push("web", "")).ID)
	_, err := h.apps.UpdateApp(h.ctx, "p", "web", gatehouse.AppUpdate{Values: ptr("replicas: 2\n")})
	h.must(err)
	b := h.wait("web", h.deploy("web", "dev", h.push("web", "")).ID)
	if a.State != gatehouse.StateSucceeded || b.State != gatehouse.StateSucceeded {
		t.Fatalf("setup: %s %s", a.State, b.State)
	}
	rb, err := h.deps.Rollback(h.ctx, "p", "web", a.ID)
	h.must(err)
	rb = h.wait("web", rb.ID)
	img, ready := deployedImage(t, 0, ns, "web")
	if rb.State != gatehouse.StateSucceeded || rb.Digest != a.Digest || img != "registry.example.com/web@"+a.Digest || ready != 1 {
		t.Fatalf("rollback %s to %s: cluster runs %s with %d ready", rb.State, rb.Digest, img, ready)
	}
	diff, err := h.deps.DiffDeployments(h.ctx, "p", "web", b.ID, rb.ID)
	h.must(err)
	if diff.Image == nil || len(diff.Changes) == 0 {
		t.Fatalf("diff between b and the rollback shows nothing: %+v", diff)
	}
}

func TestPreAndPostDeploySteps(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.env("dev", 0)
	ok := gatehouse.JobStep{Name: "migrate", Image: "registry.example.com/migrate@sha256:" + strings.Repeat("a", 64), Command: []string{"migrate", "up"}}
	smoke := gatehouse.JobStep{Name: "smoke", Image: "registry.example.com/smoke@sha256:" + strings.Repeat("b", 64)}
	h.app("web", "", gatehouse.Hooks{PreDeploy: []gatehouse.JobStep{ok}, PostDeploy: []gatehouse.JobStep{smoke}}, gatehouse.Stage{Environment: "dev"})
	d := h.wait("web", h.deploy("web", "dev", h.push("web", "")).ID)
	if d.State != gatehouse.StateSucceeded || !strings.Contains(events(d), "step migrate succeeded") || !strings.Contains(events(d), "step smoke succeeded") {
		t.Fatalf("deployment with steps: %s %s\n%s", d.State, d.Cause, events(d))
	}
	bad := gatehouse.JobStep{Name: "migrate", Image: "registry.example.com/migrate-job-fails@sha256:" + strings.Repeat("c", 64)}
	_, err := h.apps.UpdateApp(h.ctx, "p", "web", gatehouse.AppUpdate{Hooks: &gatehouse.Hooks{PreDeploy: []gatehouse.JobStep{bad}}})
	h.must(err)
	d = h.wait("web", h.deploy("web", "dev", h.push("web", "")).ID)
	if d.State != gatehouse.StateFailed || !strings.Contains(d.Cause, "step migrate failed") || d.HelmRevision != 0 {
		t.Fatalf("failing pre-deploy step: %s %q (helm revision %d)\n%s", d.State, d.Cause, d.HelmRevision, events(d))
	}
}

func TestEnvironmentsOnTwoClusters(t *testing.T) {
	h := newHarness(t, "postgres")
	devNS, prodNS := h.env("dev", 0), h.env("prod", 1)
	h.app("web", "", gatehouse.Hooks{}, gatehouse.Stage{Environment: "dev", Trigger: "auto"}, gatehouse.Stage{Environment: "prod", After: "dev", Trigger: "auto"})
	digest := h.push("web", "") // auto: goes to dev, then to prod by itself
	list := func() []*gatehouse.Deployment {
		l, err := gatehouse.Items(h.deps.Deployments(h.ctx, "p", "web", gatehouse.DeploymentFilter{}))
		h.must(err)
		return l
	}
	var prod *gatehouse.Deployment
	for i := 0; i < 600 && prod == nil; i++ {
		for _, d := range list() {
			if d.Environment == "prod" {
				prod = h.wait("web", d.ID)
			}
		}
		if prod == nil {
			sleep()
		}
	}
	if prod == nil || prod.State != gatehouse.StateSucceeded || prod.Cluster != "c1" {
		t.Fatalf("prod deployment %+v", prod)
	}
	for i, ns := range map[int]string{0: devNS, 1: prodNS} {
		if img, _ := deployedImage(t, i, ns, "web"); img != "registry.example.com/web@"+digest {
			t.Fatalf("cluster %d runs %s", i, img)
		}
	}
	// Each cluster holds only its own environment's namespace.
	if _, err := kube(t, 1).CoreV1().Namespaces().Get(context.Background(), devNS, metaGet); err == nil {
		t.Fatal("dev's namespace exists on the prod cluster")
	}
}
