package gatehouse_test

import (
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestPolicyReaches(t *testing.T) {
	prod := gatehouse.Target{Project: "shop", App: "web", Env: "prod"}
	for _, tt := range []struct {
		scope string
		kind  gatehouse.PolicyKind
		ask   gatehouse.PolicyKind
		want  bool
	}{
		{"project:shop/env:prod", gatehouse.PolicyImage, gatehouse.PolicyImage, true},
		{"project:shop/env:prod", gatehouse.PolicyImage, gatehouse.PolicyConfig, false},
		{"project:shop/env:dev", gatehouse.PolicyImage, gatehouse.PolicyImage, false},
		{"project:shop/app:web", gatehouse.PolicyConfig, gatehouse.PolicyConfig, true},
		{"project:*/env:prod", gatehouse.PolicyConfig, gatehouse.PolicyConfig, true},
		{"project:bank", gatehouse.PolicyImage, gatehouse.PolicyImage, false},
		{"not a scope", gatehouse.PolicyImage, gatehouse.PolicyImage, false},
	} {
		p := gatehouse.PolicySpec{Scope: tt.scope, Kind: tt.kind}
		if got := p.Reaches(tt.ask, prod); got != tt.want {
			t.Errorf("%s policy on %q reaches prod for %s: %v, want %v", tt.kind, tt.scope, tt.ask, got, tt.want)
		}
	}
}
