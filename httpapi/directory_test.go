package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestDirectoryMatrix walks every role of the access matrix, and a CI service account, over
// the user and group directory. The expectations are written out by hand from the rule:
// super-admin, admin and access-manager see every user with e-mail and every group with its
// members; anyone else sees the people and groups bound where they are bound (here: project
// shop), without e-mail; someone bound nowhere sees only themselves; a user one may not see is
// not found.
func TestDirectoryMatrix(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newWorld(t, engine)
		w.Do("POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "other"})
		for _, u := range []string{"olga", "sam"} {
			w.Do("POST", "/api/v1/users", gatehouse.UserCreate{Name: u, Email: u + "@example.com", Password: gatehouse.OutgoingSecret(testserver.Password)})
		}
		w.Do("POST", "/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: "olga", Role: gatehouse.RoleViewer, Scope: "project:other"})
		w.Do("POST", "/api/v1/groups", gatehouse.GroupCreate{Name: "shop-team", Members: []string{"sam"}})
		w.Do("POST", "/api/v1/rolebindings", gatehouse.RoleBindingCreate{Group: "shop-team", Role: gatehouse.RoleDeployer, Scope: "project:shop/env:dev"})
		w.Do("POST", "/api/v1/groups", gatehouse.GroupCreate{Name: "other-team", Members: []string{"olga"}})
		w.Do("POST", "/api/v1/rolebindings", gatehouse.RoleBindingCreate{Group: "other-team", Role: gatehouse.RoleViewer, Scope: "project:other"})
		w.Do("POST", "/api/v1/users", gatehouse.UserCreate{Name: "ci2", Kind: gatehouse.ServiceAccount})
		w.Do("POST", "/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: "ci2", Role: gatehouse.RoleDeployer, Scope: "project:shop"})
		var tok gatehouse.NewToken
		w.Must(w.Admin.Do(t.Context(), "POST", "/api/v1/users/ci2/tokens", nil, gatehouse.TokenCreate{Name: "pipeline"}, &tok))

		all := "admin as-access-manager as-admin as-config-approver as-deployer as-image-approver as-nobody as-super-admin as-viewer breaker ci ci2 loginuser olga sam"
		shop := "admin as-access-manager as-admin as-config-approver as-deployer as-image-approver as-super-admin as-viewer breaker ci2 sam"
		full := struct{ users, groups, mails string }{all, "other-team:olga shop-team:sam sre:", "olga@example.com sam@example.com"}
		inShop := struct{ users, groups, mails string }{shop, "shop-team:sam", ""}
		want := map[string]struct{ users, groups, mails string }{
			"nobody": {"as-nobody", "", ""}, "viewer": inShop, "deployer": inShop, "image-approver": inShop, "config-approver": inShop,
			"admin": full, "access-manager": full, "super-admin": full, "ci2": inShop,
		}
		for _, role := range append(matrixRoles, "ci2") {
			get := func(path string) (int, []byte) {
				if role == "ci2" {
					req, _ := http.NewRequest("GET", w.URL+path, nil)
					req.Header.Set("Authorization", "Bearer "+tok.Secret)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					var b json.RawMessage
					_ = json.NewDecoder(resp.Body).Decode(&b)
					return resp.StatusCode, b
				}
				resp, body := w.raw(w.sessions[role], "GET", path, nil)
				return resp.StatusCode, body
			}
			status, body := get("/api/v1/users")
			if role == "anonymous" {
				if status != http.StatusUnauthorized {
					t.Errorf("anonymous lists users: %d", status)
				}
				continue
			}
			var users httpapi.List[gatehouse.User]
			if err := json.Unmarshal(body, &users); err != nil || status != 200 {
				t.Fatalf("%s lists users: %d %s", role, status, body)
			}
			var names, mails []string
			for _, u := range users.Items {
				names = append(names, u.Name)
				if u.Email != "" {
					mails = append(mails, u.Email)
				}
			}
			if got := strings.Join(names, " "); got != want[role].users {
				t.Errorf("%s sees users %q, want %q", role, got, want[role].users)
			}
			if got := strings.Join(mails, " "); got != want[role].mails {
				t.Errorf("%s sees e-mails %q, want %q", role, got, want[role].mails)
			}
			status, body = get("/api/v1/groups")
			var groups httpapi.List[gatehouse.Group]
			if err := json.Unmarshal(body, &groups); err != nil || status != 200 {
				t.Fatalf("%s lists groups: %d %s", role, status, body)
			}
			var gs []string
			for _, g := range groups.Items {
				gs = append(gs, g.Name+":"+strings.Join(g.Members, ","))
			}
			if got := strings.Join(gs, " "); got != want[role].groups {
				t.Errorf("%s sees groups %q, want %q", role, got, want[role].groups)
			}
			// Those not listed are not found, one by one, exactly like a user that does not exist.
			for _, path := range []string{"/api/v1/users/olga", "/api/v1/users/sam", "/api/v1/groups/other-team", "/api/v1/users/ghost"} {
				name := path[strings.LastIndex(path, "/")+1:]
				wantStatus := http.StatusNotFound
				if strings.Contains(" "+want[role].users+" "+want[role].groups, " "+name) {
					wantStatus = http.StatusOK
				}
				if status, body := get(path); status != wantStatus || (status == 404 && !strings.Contains(string(body), `"`+name+`\" not found`)) {
					t.Errorf("%s GET %s: %d %s, want %d", role, path, status, body, wantStatus)
				}
			}
			if status, body := get("/api/v1/me"); status != 200 {
				t.Errorf("%s GET /api/v1/me: %d %s", role, status, body)
			}
		}
	})
}
