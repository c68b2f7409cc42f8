package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// TestSeparationOfDutySwitches runs every combination of a policy's three switches
// (requester_may_approve, builder_may_approve — which covers the commit author too — and
// approver_may_deploy) through the store on both engines. For each, every person the rules
// are about tries to approve one request: the requester, the person who pushed the image, the
// builder a CI token named, the commit author (known by e-mail), and a bystander; then the
// bystander, who approved, tries to deploy. Each outcome is written out by hand per switch,
// not computed by the rules under test.
func TestSeparationOfDutySwitches(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		for combo := range 8 {
			req, build, deploy := combo&1 != 0, combo&2 != 0, combo&4 != 0
			t.Run(fmt.Sprintf("requester=%v,builder=%v,deployer=%v", req, build, deploy), func(t *testing.T) {
				sodCase(t, engine, req, build, deploy)
			})
		}
	})
}

func sodCase(t *testing.T, engine string, requesterMay, builderMay, approverMayDeploy bool) {
	f := newFixture(t, engine)
	_, deps := f.pipelineWorld()
	approvals, policies := sqlstore.NewApprovalService(f.db), sqlstore.NewPolicyService(f.db)
	who := map[string]context.Context{}
	for _, name := range []string{"rita", "bill", "nate", "cora", "vera", "dina"} {
		_, err := f.users.CreateUser(f.admin, gatehouse.UserCreate{Name: name, Email: name + "@example.com", Password: gatehouse.NewSecret(password)})
		f.must(err)
		roles := []string{"deployer@project:shop", "image-approver@project:shop"}
		if name == "dina" {
			roles = roles[:1]
		}
		f.bind(name, roles...)
		who[name] = f.login(name)
	}
	_, err := policies.CreatePolicy(f.admin, gatehouse.PolicySpec{Name: "sod", Scope: "project:shop/env:prod",
		Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}, RequesterMayApprove: requesterMay, BuilderMayApprove: builderMay,
		ApproverMayDeploy: approverMayDeploy})
	f.must(err)
	// bill pushes one image, whose commit cora wrote; the CI pushes another and says nate
	// built it.
	digest, claimed := "sha256:"+strings.Repeat("7", 64), "sha256:"+strings.Repeat("8", 64)
	_, err = f.arts.CreateArtifact(who["bill"], "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digest,
		CommitAuthor: "Cora@Example.com"})
	f.must(err)
	_, err = f.arts.CreateArtifact(f.serviceAccount("ci", "deployer@project:shop"), "shop", "web", gatehouse.ArtifactCreate{
		Image: "r.example.com/web@" + claimed, Builder: "nate"})
	f.must(err)
	requests := map[string]int64{}
	for _, d := range []string{digest, claimed} {
		r, err := approvals.RequestApproval(who["rita"], "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: d})
		f.must(err)
		requests[d] = r.ID
	}
	for _, c := range []struct {
		voter, digest string
		may           bool
		why           string
	}{
		{"rita", digest, requesterMay, "rita requested it"},
		{"bill", digest, builderMay, "bill built it or wrote its commit"},
		{"cora", digest, builderMay, "cora built it or wrote its commit"},
		{"nate", claimed, builderMay, "nate built it or wrote its commit"},
		{"vera", digest, true, ""},
	} {
		_, err := approvals.Approve(who[c.voter], requests[c.digest], gatehouse.Decision{})
		switch {
		case c.may && err != nil:
			t.Errorf("%s may approve here, but: %v", c.voter, err)
		case !c.may && (gatehouse.KindOf(err) != gatehouse.KindForbidden || !strings.Contains(err.Error(), c.why)):
			t.Errorf("%s may not approve here: got %v, want forbidden saying %q", c.voter, err, c.why)
		}
	}
	_, err = deps.Deploy(who["vera"], "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest})
	switch {
	case approverMayDeploy && err != nil:
		t.Fatalf("vera approved and may deploy here, but: %v", err)
	case !approverMayDeploy && (gatehouse.KindOf(err) != gatehouse.KindForbidden || !strings.Contains(err.Error(), "vera approved this image")):
		t.Fatalf("vera approved and may not deploy here: got %v", err)
	case !approverMayDeploy:
		// Someone who did not approve deploys it.
		if _, err := deps.Deploy(who["dina"], "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest}); err != nil {
			t.Fatalf("dina, who did not approve, deploys: %v", err)
		}
	}
}
