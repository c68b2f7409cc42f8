package gatehouse_test

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// isScopeName is the README's rule for a name in a scope, written apart from names.go:
// lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63
// characters.
func isScopeName(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// FuzzParseScope: parsing a scope never panics; what parses renders to the one text form that
// parses back to the same scope ("project:*" being the only other spelling of "*"); what does
// not parse is an invalid error naming the field; and a scope built of valid parts survives
// rendering and parsing.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"*", "project:*", "project:shop", "project:shop/app:web", "project:shop/env:*",
		"project:*/app:*/env:prod", "project:shop/env:prod/app:web", "project:shop//env:x", "project:Shop", "project:",
		"app:web", "project:a:b", "project:shop/app:web/app:api", "project:-x", "*/env:prod"} {
		f.Add(s, "scope", "web", "prod")
	}
	f.Add("project:shop", "role_binding.scope", "", "*")
	f.Add("project:Shop", "role_binding.scope", "a", "b")
	f.Add("", "", "*", "")
	f.Fuzz(func(t *testing.T, text, field, app, env string) {
		sc, err := gatehouse.ParseScope(field, text)
		if err != nil {
			e, ok := err.(*gatehouse.Error)
			if !ok || e.Kind != gatehouse.KindInvalid || e.Field != field {
				t.Fatalf("ParseScope(%q, %q) = %#v: want an invalid error naming the field", field, text, err)
			}
			if !strings.Contains(e.Message, "scope") {
				t.Fatalf("ParseScope(%q) error %q does not say what is expected", text, e.Message)
			}
		} else {
			checkScope(t, text, sc)
			if s := sc.String(); s != text && text != "project:*" {
				t.Fatalf("ParseScope(%q) = %v, which renders as %q: one scope, two spellings", text, sc, s)
			}
		}
		// The other way round: a scope made of valid parts renders to text that parses to it.
		project, _, _ := strings.Cut(text, "/")
		project = strings.TrimPrefix(project, "project:")
		built := gatehouse.Scope{Project: project, App: app, Env: env}
		if !validPart(project, false) || !validPart(app, true) || !validPart(env, true) {
			return
		}
		back, err := gatehouse.ParseScope(field, built.String())
		if err != nil || back != built {
			t.Fatalf("scope %#v renders as %q, which parses to %#v, %v", built, built.String(), back, err)
		}
	})
}

// validPart reports whether s may stand in one dimension of a scope: a name or "*", or nothing
// where the dimension is optional.
func validPart(s string, optional bool) bool {
	return s == "*" || isScopeName(s) || (optional && s == "")
}

// checkScope fails unless sc, parsed from text, is well formed and round-trips.
func checkScope(t *testing.T, text string, sc gatehouse.Scope) {
	t.Helper()
	if !validPart(sc.Project, false) || !validPart(sc.App, true) || !validPart(sc.Env, true) {
		t.Fatalf("ParseScope(%q) accepted a malformed scope %#v", text, sc)
	}
	again, err := gatehouse.ParseScope("scope", sc.String())
	if err != nil || again != sc {
		t.Fatalf("ParseScope(%q) = %#v renders as %q, which parses to %#v, %v", text, sc, sc.String(), again, err)
	}
	if again.String() != sc.String() {
		t.Fatalf("rendering of %q is not stable: %q then %q", text, sc.String(), again.String())
	}
	if !sc.Covers(sc) {
		t.Fatalf("scope %q does not cover itself", text)
	}
}
