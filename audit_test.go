package gatehouse_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func TestCanonicalJSONSortsKeys(t *testing.T) {
	a, err := gatehouse.CanonicalJSON(map[string]any{"b": 1, "a": map[string]any{"z": true, "y": 1.5}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := gatehouse.CanonicalJSON(json.RawMessage(`{ "a": {"y": 1.5, "z": true}, "b": 1 }`))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != `{"a":{"y":1.5,"z":true},"b":1}` || string(a) != string(b) {
		t.Fatalf("canonical forms differ: %s vs %s", a, b)
	}
	if n, _ := gatehouse.CanonicalJSON(nil); n != nil {
		t.Fatalf("nil = %s", n)
	}
	// Large integers survive exactly.
	big, _ := gatehouse.CanonicalJSON(map[string]int64{"n": 9007199254740993})
	if string(big) != `{"n":9007199254740993}` {
		t.Fatalf("big = %s", big)
	}
}

func TestChainHashCoversEveryField(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	base := gatehouse.AuditEvent{Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Actor: "alice",
		ActorKind: gatehouse.HumanUser, Via: gatehouse.AuthSession, Action: "project.create", Resource: "project/shop",
		Project: "shop", App: "web", Env: "prod", Before: json.RawMessage(`{"a":1}`), After: json.RawMessage(`{"a":2}`),
		Details: json.RawMessage(`{"c":"x"}`), RequestID: "r1", SourceIP: "10.0.0.1", PrevHash: "00ff"}
	h := gatehouse.ChainHash(key, &base)
	if h != gatehouse.ChainHash(key, &base) || len(h) != 64 {
		t.Fatalf("hash not stable or wrong size: %s", h)
	}
	mutations := map[string]func(e *gatehouse.AuditEvent){
		"seq":      func(e *gatehouse.AuditEvent) { e.Seq++ },
		"time":     func(e *gatehouse.AuditEvent) { e.Time = e.Time.Add(time.Microsecond) },
		"actor":    func(e *gatehouse.AuditEvent) { e.Actor = "mallory" },
		"kind":     func(e *gatehouse.AuditEvent) { e.ActorKind = gatehouse.ServiceAccount },
		"via":      func(e *gatehouse.AuditEvent) { e.Via = gatehouse.AuthToken },
		"action":   func(e *gatehouse.AuditEvent) { e.Action = "project.delete" },
		"resource": func(e *gatehouse.AuditEvent) { e.Resource = "project/bank" },
		"project":  func(e *gatehouse.AuditEvent) { e.Project = "bank" },
		"app":      func(e *gatehouse.AuditEvent) { e.App = "api" },
		"env":      func(e *gatehouse.AuditEvent) { e.Env = "dev" },
		"before":   func(e *gatehouse.AuditEvent) { e.Before = json.RawMessage(`{"a":3}`) },
		"after":    func(e *gatehouse.AuditEvent) { e.After = nil },
		"details":  func(e *gatehouse.AuditEvent) { e.Details = json.RawMessage(`{"c":"y"}`) },
		"request":  func(e *gatehouse.AuditEvent) { e.RequestID = "r2" },
		"ip":       func(e *gatehouse.AuditEvent) { e.SourceIP = "10.0.0.2" },
		"prev":     func(e *gatehouse.AuditEvent) { e.PrevHash = "00fe" },
	}
	for name, mutate := range mutations {
		e := base
		mutate(&e)
		if gatehouse.ChainHash(key, &e) == h {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
	other := []byte(strings.Repeat("x", 32))
	if gatehouse.ChainHash(other, &base) == h {
		t.Error("the key does not change the hash")
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := gatehouse.NewSecret("hunter2-very-secret")
	type holder struct {
		Password gatehouse.Secret `json:"password"`
	}
	h := holder{Password: s}
	b, _ := json.Marshal(h)
	outs := []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, h, h, s, s, s), string(b)}
	for _, o := range outs {
		if strings.Contains(o, "hunter2") {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if !strings.Contains(string(b), gatehouse.Masked) {
		t.Errorf("JSON does not show the mask: %s", b)
	}
	var back holder
	if err := json.Unmarshal([]byte(`{"password":"p@ss"}`), &back); err != nil || back.Password.Reveal() != "p@ss" {
		t.Fatalf("decode: %v %q", err, back.Password.Reveal())
	}
}

func TestKubeconfigServer(t *testing.T) {
	good := `apiVersion: v1
kind: Config
current-context: main
contexts:
- name: main
  context: {cluster: c1, user: u1}
clusters:
- name: c1
  cluster: {server: "https://10.0.0.1:6443"}
users:
- name: u1
  user: {token: s3cr3t-token}
`
	srv, err := gatehouse.KubeconfigServer("kubeconfig", gatehouse.NewSecret(good))
	if err != nil || srv != "https://10.0.0.1:6443" {
		t.Fatalf("KubeconfigServer = %q, %v", srv, err)
	}
	bad := map[string]string{
		"":                   "is required",
		"key: [unclosed":     "not valid YAML",
		"clusters: []":       "no current-context",
		"current-context: x": "is not defined",
		strings.Replace(good, "cluster: c1,", "cluster: c9,", 1):     "not defined",
		strings.Replace(good, "https://10.0.0.1:6443", "ftp://x", 1): "no valid server URL",
	}
	for in, msg := range bad {
		_, err := gatehouse.KubeconfigServer("kubeconfig", gatehouse.NewSecret(in))
		e, ok := err.(*gatehouse.Error)
		if !ok || e.Field != "kubeconfig" || !strings.Contains(e.Message, msg) {
			t.Errorf("KubeconfigServer(%.30q) = %v, want %q", in, err, msg)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error quotes the kubeconfig: %v", err)
		}
	}
}

func TestValidateValuesNamesTheLine(t *testing.T) {
	if err := gatehouse.ValidateValues("values", "replicas: 2\nimage:\n  pullPolicy: Always\n"); err != nil {
		t.Fatal(err)
	}
	err := gatehouse.ValidateValues("values", "a: 1\nb: [unclosed\n")
	if e, ok := err.(*gatehouse.Error); !ok || e.Field != "values" || !strings.Contains(e.Message, "line") {
		t.Fatalf("syntax error = %v, want one naming a line", err)
	}
	err = gatehouse.ValidateValues("values", "\n- a\n- b\n")
	if e, ok := err.(*gatehouse.Error); !ok || !strings.Contains(e.Message, "line 2") || !strings.Contains(e.Message, "list") {
		t.Fatalf("list document = %v, want 'line 2 … list'", err)
	}
}

func TestNamesAndPublicErrors(t *testing.T) {
	for _, n := range []string{"a", "shop-web", "x1", strings.Repeat("a", 63)} {
		if err := gatehouse.ValidateName("name", n); err != nil {
			t.Errorf("ValidateName(%q): %v", n, err)
		}
	}
	for _, n := range []string{"", "-a", "a-", "A", "a_b", "a.b", strings.Repeat("a", 64)} {
		if gatehouse.ValidateName("name", n) == nil {
			t.Errorf("ValidateName(%q) accepted", n)
		}
	}
	internal := fmt.Errorf("query: %w", fmt.Errorf("pq: password=secret"))
	if pe := gatehouse.PublicError(internal); pe.Kind != gatehouse.KindInternal || pe.Message != "internal error" {
		t.Errorf("PublicError(internal) = %+v", pe)
	}
	wrapped := fmt.Errorf("outer: %w", gatehouse.Invalidf("name", "bad"))
	if pe := gatehouse.PublicError(wrapped); pe.Field != "name" || gatehouse.KindOf(wrapped) != gatehouse.KindInvalid {
		t.Errorf("PublicError(wrapped) = %+v", pe)
	}
}

func TestOutgoingSecretEncodesForTheServerOnly(t *testing.T) {
	out := gatehouse.OutgoingSecret("s3cret-value")
	b, _ := json.Marshal(map[string]gatehouse.Secret{"p": out})
	if string(b) != `{"p":"s3cret-value"}` {
		t.Fatalf("outgoing secret encodes as %s", b)
	}
	if fmt.Sprint(out) != gatehouse.Masked {
		t.Fatalf("outgoing secret prints as %v", out)
	}
	var back map[string]gatehouse.Secret
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if strings.Contains(string(again), "s3cret") {
		t.Fatalf("a decoded secret encodes its value: %s", again)
	}
}
