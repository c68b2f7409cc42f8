package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// TestGateProperty drives random policies, people, votes and deploy attempts through the
// store: a deployment starts exactly when every policy is met by distinct approvers who are
// eligible at deploy time (judged here from the test's own bookkeeping of roles and groups)
// and the deployer did not approve (unless allowed). So no deploy happens with fewer approvals
// than required, and every deploy with a met quorum goes through.
func TestGateProperty(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		_, err := f.clusters.CreateCluster(f.admin, gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.NewSecret(kubeconfig)})
		f.must(err)
		f.db.SetQueue(&recordingQueue{})
		people := []string{"p0", "p1", "p2", "p3", "p4"}
		// People sign in once; each round re-reads their grants from their session, as every
		// request to the server does.
		sessions := map[string]gatehouse.Secret{}
		for _, p := range people {
			f.person(p)
			sess, err := f.identity.Login(context.Background(), gatehouse.Credentials{Name: p, Password: gatehouse.NewSecret(password)}, 24*time.Hour)
			f.must(err)
			sessions[p] = sess.Token
		}
		as := func(p string) context.Context {
			a, _, err := f.identity.AuthenticateSession(context.Background(), sessions[p])
			f.must(err)
			return gatehouse.WithActor(context.Background(), a)
		}
		ci := f.serviceAccount("ci", "deployer@*")
		approvals, policies, deps := sqlstore.NewApprovalService(f.db), sqlstore.NewPolicyService(f.db), sqlstore.NewDeploymentService(f.db)
		r := rand.New(rand.NewPCG(42, uint64(len(engine))))
		pick := func() string { return people[r.IntN(len(people))] }
		allowed, refused := 0, 0
		for it := 0; it < 30; it++ {
			proj := fmt.Sprintf("prop%d", it)
			_, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: proj})
			f.must(err)
			_, err = f.envs.CreateEnvironment(f.admin, proj, gatehouse.EnvironmentCreate{Name: "prod", Cluster: "c1", Namespace: proj})
			f.must(err)
			_, err = f.apps.CreateApp(f.admin, proj, gatehouse.AppCreate{Name: "web"})
			f.must(err)
			_, err = f.pipes.SetPipeline(f.admin, proj, "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod"}}})
			f.must(err)
			// Roles and groups of this round, as the test believes them to be.
			approver := map[string]bool{}
			group := map[string][]string{}
			for _, p := range people {
				f.bindings.CreateRoleBinding(f.admin, gatehouse.RoleBindingCreate{User: p, Role: gatehouse.RoleDeployer, Scope: "project:" + proj})
				if r.IntN(4) > 0 {
					approver[p] = true
					_, err := f.bindings.CreateRoleBinding(f.admin, gatehouse.RoleBindingCreate{User: p, Role: gatehouse.RoleImageApprover, Scope: "project:" + proj})
					f.must(err)
				}
				if r.IntN(2) == 0 {
					group[p] = append(group[p], "team"+proj)
				}
			}
			var members []string
			for _, p := range people {
				if len(group[p]) > 0 {
					members = append(members, p)
				}
			}
			_, err = f.groups.CreateGroup(f.admin, gatehouse.GroupCreate{Name: "team" + proj, Members: members})
			f.must(err)
			spec := gatehouse.PolicySpec{Name: "gate" + proj, Scope: "project:" + proj + "/env:prod", RequesterMayApprove: r.IntN(4) == 0,
				BuilderMayApprove: r.IntN(4) == 0, ApproverMayDeploy: r.IntN(3) == 0, CountAcrossRules: r.IntN(4) == 0}
			for k := 0; k < 1+r.IntN(2); k++ {
				switch r.IntN(3) {
				case 0:
					spec.Rules = append(spec.Rules, gatehouse.Rule{Kind: gatehouse.RuleAny, Count: 1 + r.IntN(2)})
				case 1:
					spec.Rules = append(spec.Rules, gatehouse.Rule{Kind: gatehouse.RuleGroup, Count: 1 + r.IntN(2), Group: "team" + proj})
				default:
					spec.Rules = append(spec.Rules, gatehouse.Rule{Kind: gatehouse.RuleUsers, Users: []string{pick()}})
				}
			}
			pol, err := policies.CreatePolicy(f.admin, spec)
			f.must(err)
			builder, requester := pick(), pick()
			digest := fmt.Sprintf("sha256:%064x", it+1)
			_, err = f.arts.CreateArtifact(ci, proj, "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digest, Builder: builder})
			f.must(err)
			req, err := approvals.RequestApproval(as(requester), proj, "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: digest})
			f.must(err)
			var accepted []string
			for _, p := range people {
				if r.IntN(3) == 0 {
					continue
				}
				if _, err := approvals.Approve(as(p), req.ID, gatehouse.Decision{}); err == nil {
					accepted = append(accepted, p)
				} else if k := gatehouse.KindOf(err); k != gatehouse.KindForbidden {
					t.Fatalf("round %d: vote by %s: %v", it, p, err)
				}
			}
			// Sometimes people lose eligibility after voting.
			if r.IntN(3) == 0 && len(members) > 0 {
				m := members[r.IntN(len(members))]
				_, err := f.groups.RemoveGroupMember(f.admin, "team"+proj, m)
				f.must(err)
				group[m] = nil
			}
			if r.IntN(4) == 0 {
				p := pick()
				if approver[p] {
					f.revoke(p, gatehouse.RoleImageApprover, "project:"+proj)
					approver[p] = false
				}
			}
			voters := map[string]gatehouse.Voter{}
			for _, p := range people {
				voters[p] = gatehouse.Voter{Name: p, Eligible: approver[p], Groups: group[p]}
			}
			deployer := pick()
			want := pol.Evaluate(gatehouse.ApprovalFacts{Requester: requester, Builders: []string{builder}}, accepted, voters).Met &&
				(spec.ApproverMayDeploy || !slices.Contains(accepted, deployer))
			_, err = deps.Deploy(as(deployer), proj, "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest})
			if (err == nil) != want {
				t.Fatalf("round %d: policy %+v, requester %s, builder %s, accepted votes %v, approvers now %v, groups now %v, deployer %s: deploy err=%v, want allowed=%v",
					it, spec, requester, builder, accepted, approver, group, deployer, err, want)
			}
			if err == nil {
				allowed++
			} else {
				refused++
				if k := gatehouse.KindOf(err); k != gatehouse.KindPreconditionFailed && k != gatehouse.KindForbidden {
					t.Fatalf("round %d: refusal of kind %s: %v", it, k, err)
				}
			}
		}
		if allowed < 3 || refused < 3 {
			t.Fatalf("%d allowed and %d refused deploys: the property was barely exercised", allowed, refused)
		}
		t.Logf("%d deploys allowed, %d refused", allowed, refused)
	})
}
