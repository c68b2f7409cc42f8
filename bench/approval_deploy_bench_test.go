package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// BenchmarkApprovalToReady measures, on an auto stage of a testbed cluster, the time from
// the final approval (the POST that meets the policy) to the deployment it starts being ready
// (the deployment's own finish time): the gate, the job queue, Helm and readiness together.
func BenchmarkApprovalToReady(b *testing.B) {
	cluster := testbed.StartT(b, testbed.Options{Nodes: 1})
	srv := testserver.StartDeploying(b, "sqlite")
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	do := func(method, path string, in any) { must(srv.Admin.Do(ctx, method, path, nil, in, nil)) }
	do("POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "p"})
	do("POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))})
	do("POST", "/api/v1/projects/p/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "p"})
	do("POST", "/api/v1/projects/p/apps", gatehouse.AppCreate{Name: "web", Values: "replicas: 2\n"})
	do("PUT", "/api/v1/projects/p/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod", Trigger: "auto"}}})
	do("POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "gate", Scope: "project:p/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}})
	alice := srv.Person("alice", "deployer@project:p")
	bob := srv.Person("bob", "image-approver@project:p")
	var lat latencies
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		d := fmt.Sprintf("sha256:%064x", i+1)
		do("POST", "/api/v1/projects/p/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "registry.example.com/web@" + d})
		var r gatehouse.ApprovalRequest
		must(alice.Do(ctx, "POST", "/api/v1/projects/p/apps/web/approvals", nil, gatehouse.ApprovalCreate{Environment: "prod", Digest: d}, &r))
		id := r.ID
		b.StartTimer()
		t0 := time.Now()
		r = gatehouse.ApprovalRequest{}
		must(bob.Do(ctx, "POST", fmt.Sprintf("/api/v1/approvals/%d/approve", id), nil, gatehouse.Decision{}, &r))
		if r.Deployment == 0 {
			b.Fatalf("approval did not start a deployment: %+v", r)
		}
		var dep gatehouse.Deployment
		for !dep.State.Terminal() {
			time.Sleep(5 * time.Millisecond)
			must(srv.Admin.Do(ctx, "GET", fmt.Sprintf("/api/v1/projects/p/apps/web/deployments/%d", r.Deployment), nil, nil, &dep))
		}
		if dep.State != gatehouse.StateSucceeded {
			b.Fatalf("deployment %d %s: %s", dep.ID, dep.State, dep.Cause)
		}
		took := dep.FinishedAt.Sub(t0)
		lat.add(took)
		total += took
	}
	lat.report(b, "approvals", total)
}
