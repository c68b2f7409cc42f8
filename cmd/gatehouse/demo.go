package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/cli"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

func demoCmd(a *cli.App) *cobra.Command {
	var listen, dataDir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a complete demo: a real local Kubernetes control plane, a server and a demo project",
		Long: `Run a complete demo on this machine: it boots a local Kubernetes control plane (etcd,
kube-apiserver, controller-manager, scheduler and kwok's simulated nodes, built from source the
first time, which takes several minutes), starts a Gatehouse server on SQLite, creates project
shop with app shop, environments dev, stage and prod, a pipeline dev → stage → prod and demo
users, and deploys one artifact to dev. It prints the URL and the logins; Ctrl-C stops it all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), a.Out, listen, dataDir)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the demo server")
	cmd.Flags().StringVar(&dataDir, "data-dir", "gatehouse-demo", "directory for the demo's data (emptied at start)")
	return cmd
}

func say(out io.Writer, format string, args ...any) { fmt.Fprintf(out, "==> "+format+"\n", args...) }

// ensureTestbed finds the control-plane binaries, building them (with progress on out) when
// this is a source checkout that has none yet.
func ensureTestbed(ctx context.Context, out io.Writer) error {
	_, err := testbed.BinDir()
	if !errors.Is(err, testbed.ErrBinariesMissing) {
		return err
	}
	script, rerr := filepath.Abs(testbed.BuildCommand)
	if rerr != nil {
		return err
	}
	if _, serr := os.Stat(script); serr != nil {
		return err
	}
	say(out, "building the Kubernetes control plane from source (first run only; several minutes)")
	build := exec.CommandContext(ctx, script)
	build.Stdout, build.Stderr = out, out
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the testbed: %w", err)
	}
	_, err = testbed.BinDir()
	return err
}

func randomPassword() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "demo-" + hex.EncodeToString(b)
}

func runDemo(ctx context.Context, out io.Writer, listen, dataDir string) error {
	if err := ensureTestbed(ctx, out); err != nil {
		return err
	}
	say(out, "starting a local Kubernetes control plane")
	cluster, err := testbed.Start(ctx, testbed.Options{Out: out})
	if err != nil {
		return err
	}
	defer func() {
		say(out, "stopping the Kubernetes control plane")
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(out, "stop:", err)
		}
	}()
	if err := os.RemoveAll(dataDir); err != nil {
		return fmt.Errorf("empty %s: %w", dataDir, err)
	}
	var s settings
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	bindServeFlags(fs, &s)
	if err := fs.Parse([]string{"--listen", listen, "--data-dir", dataDir, "--log-level", "warn"}); err != nil {
		return err
	}
	s.adminPassword = randomPassword()
	opened := make(chan *sqlstore.DB, 1)
	s.opened = func(db *sqlstore.DB) { opened <- db }
	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- serve(srvCtx, s, io.Discard, out) }()
	url := "http://" + listen
	if err := waitReady(ctx, url, served); err != nil {
		return err
	}
	say(out, "creating the demo project")
	logins, err := seedDemo(ctx, url, s.adminPassword, cluster, <-opened)
	if err != nil {
		stop()
		<-served
		return err
	}
	printDemo(out, url, cluster, logins)
	select {
	case <-ctx.Done():
		say(out, "stopping Gatehouse")
		stop()
		return <-served
	case err := <-served:
		return err
	}
}

func waitReady(ctx context.Context, url string, served chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-served:
			return fmt.Errorf("the server stopped: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("the server at %s did not become ready", url)
}

// login is a demo user.
type login struct{ user, password, role string }

// seedDemo creates the demo project through the API, as an operator would, and deploys one
// artifact to dev.
func seedDemo(ctx context.Context, url, adminPassword string, cluster *testbed.Cluster, db *sqlstore.DB) ([]login, error) {
	var tok gatehouse.NewToken
	in := httpapi.TokenLogin{Credentials: gatehouse.Credentials{Name: "admin", Password: gatehouse.OutgoingSecret(adminPassword)},
		TokenCreate: gatehouse.TokenCreate{Name: "demo setup", ExpiresIn: "1h"}}
	if err := client.New(url, "").Do(ctx, "POST", "/api/v1/tokens/login", nil, in, &tok); err != nil {
		return nil, fmt.Errorf("log in as admin: %w", err)
	}
	c := client.New(url, tok.Secret)
	logins := []login{{"admin", adminPassword, "super-admin"}}
	type step struct {
		method, path string
		body         any
	}
	steps := []step{
		{"POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "shop", Description: "The demo shop"}},
		{"POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "demo", Description: "local testbed", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))}},
		{"POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "demo", Namespace: "shop-dev"}},
		{"POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "stage", Cluster: "demo", Namespace: "shop-stage"}},
		{"POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "demo", Namespace: "shop-prod", Production: true}},
		{"POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "shop", Description: "the storefront",
			Values: "replicas: 2\nconfig:\n  GREETING: hello\n"}},
		{"PUT", "/api/v1/projects/shop/apps/shop/overrides/prod", httpapi.Overrides{Values: "replicas: 4\n"}},
		{"PUT", "/api/v1/projects/shop/apps/shop/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{
			{Environment: "dev", Trigger: gatehouse.TriggerAuto}, {Environment: "stage", After: "dev"},
			{Environment: "prod", After: "stage", AutoRollback: true}}}},
		{"POST", "/api/v1/users", gatehouse.UserCreate{Name: "ci", Kind: gatehouse.ServiceAccount, DisplayName: "CI pipeline"}},
		{"POST", "/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: "ci", Role: gatehouse.RoleDeployer, Scope: "project:shop/app:shop"}},
	}
	people := []struct {
		name, display string
		grants        []gatehouse.RoleBindingCreate
		role          string
	}{
		{"alice", "Alice (developer)", []gatehouse.RoleBindingCreate{{Role: gatehouse.RoleDeployer, Scope: "project:shop"}}, "deployer on project shop"},
		{"bob", "Bob (SRE)", []gatehouse.RoleBindingCreate{{Role: gatehouse.RoleImageApprover, Scope: "project:shop/env:prod"}, {Role: gatehouse.RoleViewer, Scope: "project:shop"}}, "image-approver on prod"},
		{"carol", "Carol (security)", []gatehouse.RoleBindingCreate{{Role: gatehouse.RoleImageApprover, Scope: "project:shop/env:prod"}, {Role: gatehouse.RoleViewer, Scope: "project:shop"}}, "image-approver on prod"},
		{"dave", "Dave (team lead)", []gatehouse.RoleBindingCreate{{Role: gatehouse.RoleAdmin, Scope: "project:shop"}}, "admin of project shop"},
	}
	for _, p := range people {
		pw := randomPassword()
		steps = append(steps, step{"POST", "/api/v1/users", gatehouse.UserCreate{Name: p.name, DisplayName: p.display, Email: p.name + "@example.com", Password: gatehouse.OutgoingSecret(pw)}})
		for _, g := range p.grants {
			g.User = p.name
			steps = append(steps, step{"POST", "/api/v1/rolebindings", g})
		}
		logins = append(logins, login{p.name, pw, p.role})
	}
	// The gate closes last: once prod-gate counts a role, giving it takes an access draft.
	steps = append(steps, step{"POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Description: "two people approve every image bound for prod",
		Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 2}}, Rollback: gatehouse.RollbackPreApproved}})
	for _, st := range steps {
		if err := c.Do(ctx, st.method, st.path, nil, st.body, nil); err != nil {
			return nil, fmt.Errorf("%s %s: %w", st.method, st.path, err)
		}
	}
	// Four weeks of production behind it, so the Metrics page has something to say: made-up
	// deployments through prod-gate, a few failures and rollbacks (the trail records the seeding).
	now := time.Now().UTC()
	if err := db.SeedHistory(ctx, sqlstore.HistorySpec{Project: "shop", Apps: []string{"shop"}, Environment: "prod",
		From: now.AddDate(0, 0, -28), To: now.Add(-2 * time.Hour), Deployments: 40, Approved: 1, Failures: 0.1, Rollbacks: 0.06,
		Policy: "prod-gate", Approvers: []string{"bob", "carol"}, Votes: 2, Seed: 7}); err != nil {
		return nil, fmt.Errorf("seed the demo's history: %w", err)
	}
	// CI pushes the first build; dev is an auto stage, so it deploys by itself.
	var ci gatehouse.NewToken
	if err := c.Do(ctx, "POST", "/api/v1/users/ci/tokens", nil, gatehouse.TokenCreate{Name: "demo", ExpiresIn: "24h"}, &ci); err != nil {
		return nil, err
	}
	push := gatehouse.ArtifactCreate{Image: "registry.example.com/shop/storefront:1.0.0@sha256:" + strings.Repeat("5e", 32),
		Commit: "4b825dc", CommitAuthor: "alice@example.com", Builder: "alice", Labels: map[string]string{"tests": "passed"}}
	if err := client.New(url, ci.Secret).Do(ctx, "POST", "/api/v1/projects/shop/apps/shop/artifacts", nil, push, nil); err != nil {
		return nil, fmt.Errorf("push the first artifact: %w", err)
	}
	return logins, waitDeployed(ctx, c)
}

// waitDeployed waits for the first deployment to dev to end.
func waitDeployed(ctx context.Context, c *client.Client) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var list httpapi.List[gatehouse.Deployment]
		if err := c.Do(ctx, "GET", "/api/v1/projects/shop/apps/shop/deployments", nil, nil, &list); err != nil {
			return err
		}
		if len(list.Items) > 0 && list.Items[0].State.Terminal() {
			if d := list.Items[0]; d.State != gatehouse.StateSucceeded {
				return fmt.Errorf("the first deployment to dev %s: %s", d.State, d.Cause)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("the first deployment to dev did not finish in 2 minutes")
}

func printDemo(out io.Writer, url string, cluster *testbed.Cluster, logins []login) {
	fmt.Fprintf(out, "\nGatehouse demo is running at %s\nOpen %s/ui/ in a browser and sign in as one of:\n\n", url, url)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tPASSWORD\tROLE")
	for _, l := range logins {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.user, l.password, l.role)
	}
	_ = tw.Flush()
	fmt.Fprintf(out, `
Project shop: app shop, pipeline dev (auto) → stage → prod; version 1.0.0 is deployed to dev.
prod is gated by policy prod-gate: two approvals (bob and carol may approve; alice, who
requests, and the builder may not).
In the browser: alice requests approval for prod from the app's pipeline; bob and carol
approve from their Approvals page; alice deploys. Or from the CLI (in another terminal):
  go build -o gatehouse ./cmd/gatehouse
  ./gatehouse login --server %s --username alice
  ./gatehouse history -p shop -a shop
  ./gatehouse deploy -p shop -a shop --env stage --tag 1.0.0 --wait
  ./gatehouse approval request -p shop -a shop --env prod --tag 1.0.0 -m "first release"
  (then as bob and carol, each logged in: ./gatehouse approval pending; ./gatehouse approval approve ID)
  ./gatehouse deploy -p shop -a shop --env prod --tag 1.0.0 --wait
Four weeks of made-up production history (a few failures and rollbacks) feed the Metrics
page and ./gatehouse metrics dora -p shop (and metrics leadtime).
The cluster: kubectl --kubeconfig %s get pods -A

Press Ctrl-C to stop everything.
`, url, cluster.KubeconfigPath())
}
