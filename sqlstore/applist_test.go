package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestAppListCarriesNoValues: a list of apps names them without their base values (reading
// one app gives them), so listing a thousand apps parses no values.
func TestAppListCarriesNoValues(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		list, err := f.apps.Apps(f.admin, "shop")
		f.must(err)
		if len(list) == 0 {
			t.Fatal("no apps listed")
		}
		for _, a := range list {
			if a.Values != "" {
				t.Errorf("listed app %s carries values %q", a.Name, a.Values)
			}
		}
		one, err := f.apps.App(f.admin, "shop", "web")
		f.must(err)
		if !strings.Contains(one.Values, "replicas: 2") {
			t.Errorf("app web read alone: values %q", one.Values)
		}
	})
}
