package ui_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestDeploymentStreamResumes: a deployment's live stream numbers its steps, and a browser
// that reconnects with the last number it saw (Last-Event-ID, as EventSource does after a
// lost connection, to whichever replica answers) gets only the steps after it, then the end.
func TestDeploymentStreamResumes(t *testing.T) {
	srv := haWorld(t, testdb.Engines[0])
	for seq, step := range []string{"applying", "verifying", "succeeded"} {
		if _, err := srv.DB.Raw().Exec(`INSERT INTO deployment_events (deployment_id, seq, at, step, message) VALUES (1, $1, 0, $2, $3)`,
			100+seq, step, "step "+step); err != nil {
			t.Fatal(err)
		}
	}
	admin := srv.Login("admin")
	stream := func(lastID string) string {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), "GET", srv.URL+"/ui/projects/shop/apps/web/deployments/1/events?after=0", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+admin.Token)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("stream (Last-Event-ID %q): %d %v", lastID, resp.StatusCode, err)
		}
		return string(body)
	}
	ids := regexp.MustCompile(`(?m)^id: (\d+)\nevent: step\n`)
	all := ids.FindAllStringSubmatch(stream(""), -1)
	if len(all) < 3 {
		t.Fatalf("the whole stream numbers %d steps, want at least the 3 written", len(all))
	}
	for i, m := range all {
		if m[1] != strconv.Itoa(i+1) {
			t.Fatalf("step %d is numbered %s", i+1, m[1])
		}
	}
	last := all[len(all)-2][1]
	rest := stream(last)
	got := ids.FindAllStringSubmatch(rest, -1)
	if len(got) != 1 || got[0][1] != all[len(all)-1][1] || !strings.Contains(rest, "step succeeded") || strings.Contains(rest, "step verifying") {
		t.Fatalf("resumed after step %s:\n%s", last, rest)
	}
	if !strings.Contains(rest, `"done":true`) {
		t.Fatalf("the resumed stream does not end with the deployment:\n%s", rest)
	}
}
