package gatehouse_test

import (
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// The oracle below is the README's role table (Concepts → Roles, Scopes) written out again,
// without a call to access.go or scope.go: if the two disagree, one of them is wrong.

// readmeRoles: what each role may do, in the README's words ("every role reads what it is bound
// on"; admin: "manage an app or project, do what a deployer does, read its secret values and
// audit trail; never approves"; super-admin: "everything but approving").
var readmeRoles = map[string][]string{
	"viewer":          {"view"},
	"deployer":        {"view", "push-artifact", "deploy", "request-approval"},
	"image-approver":  {"view", "approve-image"},
	"config-approver": {"view", "approve-config"},
	"admin":           {"view", "view-secrets", "manage", "push-artifact", "deploy", "request-approval", "view-audit"},
	"access-manager":  {"view", "grant"},
	"super-admin": {"view", "view-secrets", "manage", "push-artifact", "deploy", "request-approval", "view-audit",
		"grant", "administer"},
}

// oracleReaches: a scope reaches a target when its project is "*" or the target's, and in each
// of app and environment it either sets no limit, or is "*" and the target names one, or names
// the target's. Only "*" (project "*", no limits) reaches the system itself (project "").
func oracleReaches(s gatehouse.Scope, t gatehouse.Target) bool {
	if t.Project == "" {
		return s.Project == "*" && s.App == "" && s.Env == ""
	}
	if s.Project != "*" && s.Project != t.Project {
		return false
	}
	for _, d := range [][2]string{{s.App, t.App}, {s.Env, t.Env}} {
		limit, value := d[0], d[1]
		switch {
		case limit == "":
		case value == "": // an app- or environment-scoped binding never reaches the level above
			return false
		case limit != "*" && limit != value:
			return false
		}
	}
	return true
}

// oracleCan: some grant's role allows the action and its scope reaches the target.
func oracleCan(grants []gatehouse.Grant, action gatehouse.Action, t gatehouse.Target) bool {
	for _, g := range grants {
		for _, a := range readmeRoles[string(g.Role)] {
			if a == string(action) && oracleReaches(g.Scope, t) {
				return true
			}
		}
	}
	return false
}

var (
	fuzzRoles = []gatehouse.Role{"viewer", "deployer", "image-approver", "config-approver", "admin", "access-manager",
		"super-admin", "owner", ""}
	fuzzActions = []gatehouse.Action{"view", "view-secrets", "manage", "push-artifact", "deploy", "request-approval",
		"approve-image", "approve-config", "view-audit", "grant", "administer", "approve", ""}
	scopeProjects = []string{"*", "a", "b", "c"}
	scopeDims     = []string{"", "*", "a", "b"}
)

// fuzzTargets is every target over projects a and b, apps and environments a and b: the system,
// projects, apps, project environments and app environments.
func fuzzTargets() []gatehouse.Target {
	out := []gatehouse.Target{{}}
	for _, p := range []string{"a", "b"} {
		for _, app := range []string{"", "a", "b"} {
			for _, env := range []string{"", "a", "b"} {
				out = append(out, gatehouse.Target{Project: p, App: app, Env: env})
			}
		}
	}
	return out
}

// bytesReader hands out the fuzz input a byte at a time, then zeros.
type bytesReader []byte

func (r *bytesReader) next() byte {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return b
}

func pick[T any](r *bytesReader, xs []T) T { return xs[int(r.next())%len(xs)] }

func (r *bytesReader) grant() gatehouse.Grant {
	return gatehouse.Grant{Role: pick(r, fuzzRoles), Scope: gatehouse.Scope{Project: pick(r, scopeProjects), App: pick(r, scopeDims), Env: pick(r, scopeDims)}}
}

// FuzzCan: for an actor of random grants, on every target and for every action, the access
// decision is the README's, and holds the properties the gate relies on.
func FuzzCan(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 6, 0, 0, 0})                            // super-admin on "*"
	f.Add([]byte{2, 4, 1, 0, 0, 2, 1, 1, 2})                // admin on project:a, image-approver on project:a/app:*/env:a
	f.Add([]byte{1, 1, 0, 0, 1, 3, 1, 2, 0})                // deployer on project:*/env:*, then config-approver on project:a/app:a
	f.Add([]byte{3, 0, 3, 0, 0, 7, 0, 0, 0, 5, 2, 3, 3, 6}) // viewer on project:c, owner, access-manager on project:b/app:b/env:b
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytesReader(data)
		grants := make([]gatehouse.Grant, int(r.next())%6)
		for i := range grants {
			grants[i] = r.grant()
		}
		extra := r.grant()
		more := append(append([]gatehouse.Grant(nil), grants...), extra)
		for _, tg := range fuzzTargets() {
			for _, a := range fuzzActions {
				checkDecision(t, grants, extra, more, a, tg)
			}
		}
	})
}

func checkDecision(t *testing.T, grants []gatehouse.Grant, extra gatehouse.Grant, more []gatehouse.Grant, a gatehouse.Action, tg gatehouse.Target) {
	t.Helper()
	got := gatehouse.Can(grants, a, tg)
	approving := a == gatehouse.ActionApproveImage || a == gatehouse.ActionApproveConfig
	for _, g := range more {
		one := gatehouse.Can([]gatehouse.Grant{g}, a, tg)
		if one && approving && (g.Role == gatehouse.RoleSuperAdmin || g.Role == gatehouse.RoleAdmin) {
			t.Fatalf("%s on %v may %s on %v: it never approves", g.Role, g.Scope, a, tg)
		}
		if one {
			checkNotWider(t, g, a, tg)
		}
	}
	if len(grants) == 0 && got {
		t.Fatalf("an actor without bindings may %s on %v", a, tg)
	}
	if got && !gatehouse.Can(more, a, tg) {
		t.Fatalf("%v may %s on %v, but not once also granted %v: a binding removed a right", grants, a, tg, extra)
	}
	if want := oracleCan(grants, a, tg); got != want {
		t.Fatalf("Can(%v, %s, %v) = %v, the README says %v", grants, a, tg, got, want)
	}
	if want := oracleCan(more, a, tg); gatehouse.Can(more, a, tg) != want {
		t.Fatalf("Can(%v, %s, %v) = %v, the README says %v", more, a, tg, !want, want)
	}
}

// checkNotWider fails if g, which allows a on tg, also allows a on a target wider than its
// scope: the level above an app or environment it names, another project, or the system.
func checkNotWider(t *testing.T, g gatehouse.Grant, a gatehouse.Action, tg gatehouse.Target) {
	t.Helper()
	var wider []gatehouse.Target
	if g.Scope.App != "" {
		wider = append(wider, gatehouse.Target{Project: tg.Project, Env: tg.Env})
	}
	if g.Scope.Env != "" {
		wider = append(wider, gatehouse.Target{Project: tg.Project, App: tg.App})
	}
	if g.Scope.Project != "*" {
		wider = append(wider, gatehouse.Target{Project: g.Scope.Project + "-other", App: tg.App, Env: tg.Env})
	}
	if g.Scope != (gatehouse.Scope{Project: "*"}) {
		wider = append(wider, gatehouse.Target{})
	}
	for _, w := range wider {
		if gatehouse.Can([]gatehouse.Grant{g}, a, w) {
			t.Fatalf("%s on the narrower scope %v may %s on %v, wider than it", g.Role, g.Scope, a, w)
		}
	}
}
