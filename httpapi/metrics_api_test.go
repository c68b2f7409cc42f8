package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestMetricsQueryErrors: a bad scope or period is a 400 naming the parameter; a project
// the caller does not see is a 404; a project with no production environment has empty
// figures, not an error.
func TestMetricsQueryErrors(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		srv := testserver.Start(t, engine)
		srv.Setup(testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}))
		get := func(query string) (int, httpapi.ErrorBody, []byte) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v1/metrics/dora?"+query, nil)
			req.Header.Set("Authorization", "Bearer "+srv.Admin.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var raw json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&raw)
			var eb httpapi.ErrorBody
			_ = json.Unmarshal(raw, &eb)
			return resp.StatusCode, eb, raw
		}
		for _, c := range []struct{ query, field string }{
			{"", "project"},
			{"project=shop&since=30x", "since"},
			{"project=shop&since=7d&from=2026-11-01", "since"},
			{"project=shop&from=tomorrow", "from"},
			{"project=shop&from=2026-11-10&to=2026-11-01", "from"},
			{"project=shop&failure_window=-1h", "failure_window"},
			{"project=Not%20A%20Name", "project"},
		} {
			status, eb, _ := get(c.query)
			if status != http.StatusBadRequest || eb.Error.Field != c.field {
				t.Errorf("?%s: %d %+v, want 400 naming %s", c.query, status, eb.Error, c.field)
			}
		}
		if status, _, _ := get("project=nowhere"); status != http.StatusNotFound {
			t.Errorf("an unknown project: %d", status)
		}
		status, _, raw := get("project=shop&since=2w")
		var r gatehouse.DORAReport
		if err := json.Unmarshal(raw, &r); status != http.StatusOK || err != nil || len(r.Environments) != 0 || r.Frequency.Deployments != 0 || r.Frequency.Days != 14 {
			t.Errorf("a project without production: %d %s", status, raw)
		}
	})
}
