package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/oracle"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// TestGateProperty drives random policies, people, votes and deploy attempts through the
// store, and judges every vote and every deploy with the independent oracle from the test's
// own bookkeeping (roles, groups, who pushed, who wrote the commit, what happened since):
// a vote is taken exactly when its voter may count; a deployment starts exactly when the
// digest deployed is the one approved, the approval has not expired (tried a microsecond
// before, at and after the instant, with no sweep), its artifact was not retracted nor its
// policy changed since, distinct people who may count meet every rule at deploy time, and
// the deployer (as a person: a token counts as its maker) did not approve unless allowed.
// Votes are cast twice, tags re-pointed, pushes and requests made through a CI token, and
// one approval deployed by several callers at once: one of them at most goes through.
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
			_, err := f.users.CreateUser(f.admin, gatehouse.UserCreate{Name: p, Email: p + "@example.com", Password: gatehouse.NewSecret(password)})
			f.must(err)
			sess, err := f.identity.Login(context.Background(), gatehouse.Credentials{Name: p, Password: gatehouse.NewSecret(password)}, 1000*time.Hour)
			f.must(err)
			sessions[p] = sess.Token
		}
		as := func(p string) context.Context {
			a, _, err := f.identity.AuthenticateSession(context.Background(), sessions[p])
			f.must(err)
			return gatehouse.WithActor(context.Background(), a)
		}
		ci := f.serviceAccount("ci", "deployer@*") // its token counts as admin, who made it
		actor := func(p string) context.Context {
			if p == "admin" {
				return ci
			}
			return as(p)
		}
		approvals, policies, deps := sqlstore.NewApprovalService(f.db), sqlstore.NewPolicyService(f.db), sqlstore.NewDeploymentService(f.db)
		r := rand.New(rand.NewPCG(42, uint64(len(engine))))
		pick := func() string { return people[r.IntN(len(people))] }
		var stats struct{ allowed, refused, votes, refusedVotes, expiredTried, raced int }
		for it := 0; it < 40; it++ {
			proj := fmt.Sprintf("prop%d", it)
			_, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: proj})
			f.must(err)
			_, err = f.envs.CreateEnvironment(f.admin, proj, gatehouse.EnvironmentCreate{Name: "prod", Cluster: "c1", Namespace: proj})
			f.must(err)
			_, err = f.apps.CreateApp(f.admin, proj, gatehouse.AppCreate{Name: "web"})
			f.must(err)
			_, err = f.pipes.SetPipeline(f.admin, proj, "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod"}}})
			f.must(err)
			// Roles and groups of this round, as the test believes them to be, given before
			// the policy that counts them exists.
			approver := map[string]bool{}
			group := map[string][]string{}
			for _, p := range people {
				f.bind(p, "deployer@project:"+proj)
				if r.IntN(5) > 0 {
					approver[p] = true
					f.bind(p, "image-approver@project:"+proj)
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
				BuilderMayApprove: r.IntN(4) == 0, ApproverMayDeploy: r.IntN(3) == 0, CountAcrossRules: r.IntN(4) == 0, Expiry: "1h"}
			for k := 0; k < 1+r.IntN(2); k++ {
				switch r.IntN(3) {
				case 0:
					spec.Rules = append(spec.Rules, gatehouse.Rule{Kind: gatehouse.RuleAny, Count: 1 + r.IntN(3)/2})
				case 1:
					spec.Rules = append(spec.Rules, gatehouse.Rule{Kind: gatehouse.RuleGroup, Count: 1 + r.IntN(2), Group: "team" + proj})
				default:
					spec.Rules = append(spec.Rules, gatehouse.Rule{Kind: gatehouse.RuleUsers, Users: []string{pick()}})
				}
			}
			pol, err := policies.CreatePolicy(f.admin, spec)
			f.must(err)

			// The image: pushed by a person (its builder) or by CI naming a builder it claims;
			// its commit written by someone, named or by e-mail; tagged "release". Another image
			// is pushed beside it, never approved.
			facts := gatehouse.ApprovalFacts{}
			pusher := pick()
			push := gatehouse.ArtifactCreate{Image: fmt.Sprintf("r.example.com/web:release@sha256:%064x", it+1)}
			if r.IntN(2) == 0 {
				pusher = "admin"
				push.Builder = pick()
				facts.Builders = append(facts.Builders, push.Builder)
			}
			facts.Builders = append(facts.Builders, pusher)
			switch author := pick(); r.IntN(3) {
			case 0:
				push.CommitAuthor = author
			case 1:
				push.CommitAuthor = strings.ToUpper(author) + "@EXAMPLE.com"
			}
			facts.CommitAuthor = push.CommitAuthor
			digest := push.Image[strings.Index(push.Image, "@")+1:]
			_, err = f.arts.CreateArtifact(actor(pusher), proj, "web", push)
			f.must(err)
			other := fmt.Sprintf("sha256:%064x", 1000+it)
			_, err = f.arts.CreateArtifact(f.admin, proj, "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + other})
			f.must(err)
			requester := pick()
			if r.IntN(4) == 0 {
				requester = "admin" // through the CI token
			}
			facts.Requester = requester
			req, err := approvals.RequestApproval(actor(requester), proj, "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: digest})
			f.must(err)

			// Votes: each taken exactly when the voter may count now; a second vote of the
			// same person is refused and counts once.
			voter := func(p string) gatehouse.Voter {
				return gatehouse.Voter{Name: p, Email: p + "@example.com", Eligible: approver[p], Groups: group[p]}
			}
			var accepted []string
			for _, p := range people {
				if r.IntN(5) == 0 {
					continue
				}
				times := 1 + r.IntN(2)
				for range times {
					_, err := approvals.Approve(as(p), req.ID, gatehouse.Decision{})
					already := slices.Contains(accepted, p)
					may := oracle.Counts(pol, facts, voter(p))
					switch {
					case err == nil && (already || !may):
						t.Fatalf("round %d: %s's vote was taken (already voted %v, may count %v; facts %+v)", it, p, already, may, facts)
					case err == nil:
						accepted = append(accepted, p)
						stats.votes++
					case already && gatehouse.KindOf(err) == gatehouse.KindConflict:
					case !already && may:
						t.Fatalf("round %d: %s may count (facts %+v) but the vote was refused: %v", it, p, facts, err)
					case gatehouse.KindOf(err) != gatehouse.KindForbidden:
						t.Fatalf("round %d: vote by %s: %v", it, p, err)
					default:
						stats.refusedVotes++
					}
				}
			}
			// What may happen between the votes and the deploy.
			if r.IntN(3) == 0 && len(members) > 0 { // eligibility lost after voting
				m := members[r.IntN(len(members))]
				_, err := f.groups.RemoveGroupMember(f.admin, "team"+proj, m)
				f.must(err)
				group[m] = nil
			}
			if p := pick(); r.IntN(4) == 0 && approver[p] {
				f.revoke(p, gatehouse.RoleImageApprover, "project:"+proj)
				approver[p] = false
			}
			target, retracted, changed, expired := digest, false, false, false
			switch r.IntN(9) {
			case 0: // the tag moves to the other image; a deploy by tag would name it
				_, err := f.arts.UpdateArtifact(f.admin, proj, "web", other, gatehouse.ArtifactUpdate{AddTags: []string{"release"}})
				f.must(err)
				if r.IntN(2) == 0 {
					target = other
				}
			case 1:
				_, err := f.arts.RetractArtifact(f.admin, proj, "web", digest)
				f.must(err)
				retracted = true
			case 2: // the policy tightens (it applies at once): the request was judged by another version
				tighter := spec
				tighter.Rules = append(slices.Clone(spec.Rules), gatehouse.Rule{Kind: gatehouse.RuleAny, Count: 1})
				_, err := policies.UpdatePolicy(f.admin, spec.Name, tighter)
				f.must(err)
				changed = true
			case 3: // the deploy is tried a microsecond before, at, or an hour after the expiry
				got, err := approvals.Approval(f.admin, req.ID)
				f.must(err)
				if got.ExpiresAt != nil {
					offset := []time.Duration{-time.Microsecond, 0, time.Hour}[r.IntN(3)]
					f.clock.Advance(got.ExpiresAt.Sub(f.clock.Now()) + offset)
					expired = offset >= 0
					stats.expiredTried++
				}
			}
			deployer := pick()
			switch r.IntN(4) {
			case 0:
				deployer = "admin" // through the CI token
			case 1, 2: // mostly someone who did not vote, so that approved requests deploy
				if rest := slices.DeleteFunc(slices.Clone(people), func(p string) bool { return slices.Contains(accepted, p) }); len(rest) > 0 {
					deployer = rest[r.IntN(len(rest))]
				}
			}
			voters := map[string]gatehouse.Voter{}
			for _, p := range people {
				voters[p] = voter(p)
			}
			want := target == digest && !retracted && !changed && !expired && oracle.Met(pol, facts, accepted, voters) &&
				(spec.ApproverMayDeploy || !slices.Contains(accepted, deployer))
			// One approval, several callers at once: one deployment at most.
			callers := 1 + r.IntN(3)
			errs := concurrently(callers, func(int) error {
				_, err := deps.Deploy(actor(deployer), proj, "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: target})
				return err
			})
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else if k := gatehouse.KindOf(err); k != gatehouse.KindPreconditionFailed && k != gatehouse.KindForbidden && k != gatehouse.KindConflict {
					t.Fatalf("round %d: refusal of kind %s: %v", it, k, err)
				}
			}
			if callers > 1 {
				stats.raced++
			}
			if (ok == 1) != want || ok > 1 {
				t.Fatalf("round %d: policy %+v, facts %+v, accepted votes %v, approvers now %v, groups now %v, deployer %s, target %s (approved %s), "+
					"retracted %v, policy changed %v, expired %v: %d of %d deploys went through, want allowed=%v (errors %v)",
					it, spec, facts, accepted, approver, group, deployer, target, digest, retracted, changed, expired, ok, callers, want, errs)
			}
			if want {
				stats.allowed++
				// The approval is spent.
				if _, err := deps.Deploy(actor(deployer), proj, "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: target}); err == nil {
					t.Fatalf("round %d: a second deploy of one approval went through", it)
				}
			} else {
				stats.refused++
			}
		}
		if stats.allowed < 4 || stats.refused < 4 || stats.refusedVotes < 4 || stats.expiredTried < 2 || stats.raced < 4 {
			t.Fatalf("the property was barely exercised: %+v", stats)
		}
		t.Logf("%+v", stats)
	})
}
