package flagenv_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatehousehq/gatehouse/internal/flagenv"
)

func TestPrecedence(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	listen := fs.String("listen", "default", "")
	ttl := fs.Duration("session-ttl", time.Hour, "")
	level := fs.String("log-level", "info", "")
	proxies := fs.StringSlice("trusted-proxy", nil, "")
	if err := fs.Parse([]string{"--listen", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_LISTEN", "from-env")
	t.Setenv("GATEHOUSE_SESSION_TTL", "2h")
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("session-ttl: 3h\nlog-level: debug\ntrusted-proxy: [10.0.0.0/8, 192.168.0.0/16]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := flagenv.ReadFile(cfg, fs)
	if err != nil {
		t.Fatal(err)
	}
	if err := flagenv.Apply(fs, file); err != nil {
		t.Fatal(err)
	}
	if *listen != "from-flag" || *ttl != 2*time.Hour || *level != "debug" || len(*proxies) != 2 {
		t.Fatalf("listen %q ttl %v level %q proxies %v: want flag > env > file", *listen, *ttl, *level, *proxies)
	}
	flagenv.Annotate(fs)
	if u := fs.Lookup("session-ttl").Usage; !strings.Contains(u, "(env GATEHOUSE_SESSION_TTL)") {
		t.Fatalf("usage %q", u)
	}
}

func TestErrorsNameTheSource(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.Int("login-failures", 5, "")
	t.Setenv("GATEHOUSE_LOGIN_FAILURES", "many")
	if err := flagenv.Apply(fs, nil); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_LOGIN_FAILURES") {
		t.Fatalf("bad env: %v", err)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	_ = os.WriteFile(cfg, []byte("colour: red\n"), 0o600)
	if _, err := flagenv.ReadFile(cfg, fs); err == nil || !strings.Contains(err.Error(), `"colour" is not a setting`) {
		t.Fatalf("unknown key: %v", err)
	}
}
