package gatehouse

import "strings"

// Scope is where a role binding applies. Project is a project name or "*" (all projects, present
// and future). App and Env narrow it: "" places no limit in that dimension, "*" means every app
// (or environment) of the project, present and future, and a name means that one only. A scope
// that names an app or environment never reaches project-level targets: "project:x/env:*" lets a
// deployer deploy to every environment of x but not edit x's settings.
type Scope struct {
	Project string
	App     string
	Env     string
}

// GlobalScope covers everything, including system-level targets.
var GlobalScope = Scope{Project: "*"}

// Target is what an action is applied to. Project "" means the system itself (clusters, users,
// groups); App and Env are set when the action concerns one app or environment.
type Target struct {
	Project string
	App     string
	Env     string
}

// String renders the target for messages, e.g. "project shop, app web, environment prod".
func (t Target) String() string {
	if t.Project == "" {
		return "the system"
	}
	s := "project " + t.Project
	if t.App != "" {
		s += ", app " + t.App
	}
	if t.Env != "" {
		s += ", environment " + t.Env
	}
	return s
}

// ParseScope parses the text form of a scope: "*", "project:NAME", optionally followed by
// "/app:NAME" and/or "/env:NAME", where any NAME may be "*".
func ParseScope(field, s string) (Scope, error) {
	const expect = `expected "*" or "project:NAME[/app:NAME][/env:NAME]" where NAME may be "*"`
	if s == "*" {
		return GlobalScope, nil
	}
	parts := strings.Split(s, "/")
	var sc Scope
	for i, p := range parts {
		key, val, ok := strings.Cut(p, ":")
		if !ok || val == "" {
			return Scope{}, Invalidf(field, "%q is not a scope: %s", s, expect)
		}
		if val != "*" {
			if err := ValidateName(field, val); err != nil {
				return Scope{}, Invalidf(field, "%q is not a scope: %q is not a valid name", s, val)
			}
		}
		switch {
		case i == 0 && key == "project":
			sc.Project = val
		case i > 0 && key == "app" && sc.App == "" && sc.Env == "":
			sc.App = val
		case i > 0 && key == "env" && sc.Env == "":
			sc.Env = val
		default:
			return Scope{}, Invalidf(field, "%q is not a scope: %s", s, expect)
		}
	}
	return sc, nil
}

// String renders the scope in the form ParseScope reads.
func (s Scope) String() string {
	if s == GlobalScope {
		return "*"
	}
	out := "project:" + s.Project
	if s.App != "" {
		out += "/app:" + s.App
	}
	if s.Env != "" {
		out += "/env:" + s.Env
	}
	return out
}

// Matches reports whether the scope reaches the target.
func (s Scope) Matches(t Target) bool {
	if t.Project == "" {
		return s == GlobalScope
	}
	return (s.Project == "*" || s.Project == t.Project) && dimCovers(s.App, t.App) && dimCovers(s.Env, t.Env)
}

// Covers reports whether every target that o matches is matched by s too. It keeps
// access-managers inside their own scope.
func (s Scope) Covers(o Scope) bool {
	return (s.Project == "*" || s.Project == o.Project) && dimCovers(s.App, o.App) && dimCovers(s.Env, o.Env)
}

// dimCovers reports whether limit a in one dimension admits value b: no limit admits anything,
// "*" admits any named value (or "*"), and a name admits only itself.
func dimCovers(a, b string) bool {
	return a == "" || (b != "" && (a == "*" || a == b))
}

// Overlaps reports whether the scope reaches the target or anything inside it, or the target
// is inside something the scope reaches. It decides what a person may see: a deployer bound to
// "project:x/env:prod" sees project x and its apps, though it can act only on prod.
func (s Scope) Overlaps(t Target) bool {
	if t.Project == "" {
		return s == GlobalScope
	}
	overlap := func(a, b string) bool { return a == "" || b == "" || a == "*" || a == b }
	return (s.Project == "*" || s.Project == t.Project) && overlap(s.App, t.App) && overlap(s.Env, t.Env)
}
