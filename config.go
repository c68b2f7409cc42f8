package gatehouse

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ConfigKind names one of an app's configuration resources.
type ConfigKind string

// The configuration resources. Values exist for the app (its base) and per environment (its
// overrides); a ConfigMap and Secrets exist per environment.
const (
	ConfigValues  ConfigKind = "values"    // Helm values YAML
	ConfigMapData ConfigKind = "configmap" // plain settings, key → text: the chart's `config`
	ConfigSecrets ConfigKind = "secrets"   // secret settings, key → text, sealed at rest: the chart's `secrets`
)

// ConfigKinds lists every configuration resource.
var ConfigKinds = []ConfigKind{ConfigValues, ConfigMapData, ConfigSecrets}

// ConfigMapValuesKey is the values key the configmap resource fills.
const ConfigMapValuesKey = "config"

// ConfigRef names one configuration resource: of an environment, or (Environment "") the
// app's base values.
type ConfigRef struct {
	Project     string     `json:"project"`
	App         string     `json:"app"`
	Environment string     `json:"environment,omitempty"`
	Kind        ConfigKind `json:"kind"`
}

// Validate checks the kind, and that only values have a base (no environment).
func (r ConfigRef) Validate() error {
	if !slices.Contains(ConfigKinds, r.Kind) {
		return Invalidf("kind", "%q is not a configuration resource: expected values, configmap or secrets", r.Kind)
	}
	if r.Environment == "" {
		if r.Kind != ConfigValues {
			return Invalidf("environment", "is required for %s: a %s belongs to an environment", r.Kind, r.Kind)
		}
		return nil
	}
	return ValidateName("environment", r.Environment)
}

// Target is the access target of the resource: the app, or the app in the environment.
func (r ConfigRef) Target() Target { return r.Draft().Target() }

// String names the resource for people: "shop/web base values", "shop/web prod secrets".
func (r ConfigRef) String() string { return r.Draft().String() }

// Draft names the resource as the subject of a draft.
func (r ConfigRef) Draft() DraftRef {
	return DraftRef{Kind: DraftKind(r.Kind), Project: r.Project, App: r.App, Environment: r.Environment}
}

// Live is a draft's subject as it is now: a configuration resource, a setting or a policy.
// Content is YAML: Helm values, a mapping of key to text for a configmap or secrets (whose
// values are shown as Masked; writing Masked back as a secret's value keeps its current
// value), or the setting's or policy's fields.
type Live struct {
	DraftRef
	Content string `json:"content"`
	// Revision is the app's configuration revision, for configuration resources (every change
	// to any of its resources bumps it; deployments record the revision they used).
	Revision int64 `json:"revision,omitempty"`
	// Protected means changes go through drafts: policies reach what it decides.
	Protected bool `json:"protected"`
	// Policies judge changes of it.
	Policies []string `json:"policies"`
	// OpenDraft is the open draft of it, if any.
	OpenDraft int64 `json:"open_draft,omitempty"`
}

// Config is a configuration resource as it is live now.
type Config = Live

// ConfigChange is a configuration change's semantic diff (by path, secret values masked), its
// line views and its risk labels.
type ConfigChange struct {
	From    string        `json:"from"`
	To      string        `json:"to"`
	Changes []ValueChange `json:"changes"`
	Labels  []string      `json:"labels"`
	// Unified is a unified diff of the two documents (secrets masked).
	Unified string `json:"unified"`
	// SideBySide pairs the documents' lines (secrets masked).
	SideBySide []DiffRow `json:"side_by_side"`
	// SecretsByKey means the sides are different environments, so secrets are compared by
	// key only (SecretsByKeyNote): never whether their values are equal.
	SecretsByKey bool `json:"secrets_by_key,omitempty"`
}

// DiffRow is one row of a side-by-side view: the op is equal, delete, insert or change.
type DiffRow struct {
	Op      string `json:"op"`
	Left    string `json:"left"`
	Right   string `json:"right"`
	LeftNo  int    `json:"left_no,omitempty"`
	RightNo int    `json:"right_no,omitempty"`
}

// The risk labels a configuration change may carry.
const (
	RiskSecrets     = "secrets"       // touches secret settings
	RiskImage       = "image"         // touches the image (repository, tag, digest, pull policy)
	RiskRBAC        = "rbac"          // touches service accounts, roles, security contexts or host access
	RiskScaleToZero = "scale-to-zero" // sets a replica count to zero
)

// rbacWords mark paths whose change alters what the workload may do in the cluster.
var rbacWords = []string{"rbac", "serviceaccount", "role", "securitycontext", "privileged", "capabilities",
	"hostnetwork", "hostpid", "hostipc", "hostpath", "automountserviceaccounttoken", "podsecurity"}

// RiskLabels labels a change: secrets for any change of the secrets resource, image for a path
// under image, rbac for a path naming service accounts, roles, security contexts or host
// access, scale-to-zero for a replica count (replicas, replicaCount, minReplicas) that becomes 0.
func RiskLabels(kind ConfigKind, changes []ValueChange) []string {
	set := map[string]bool{}
	if kind == ConfigSecrets && len(changes) > 0 {
		set[RiskSecrets] = true
	}
	for _, c := range changes {
		p := strings.ToLower(c.Path)
		if kind != ConfigValues {
			continue
		}
		if p == "image" || strings.HasPrefix(p, "image.") || strings.HasPrefix(p, "image[") {
			set[RiskImage] = true
		}
		if strings.HasPrefix(p, SecretValuesKey+".") || p == SecretValuesKey {
			set[RiskSecrets] = true
		}
		for _, w := range rbacWords {
			if strings.Contains(p, w) {
				set[RiskRBAC] = true
			}
		}
		last := p[strings.LastIndexAny(p, ".]")+1:]
		if (last == "replicas" || last == "replicacount" || last == "minreplicas") && c.Kind != Removed && c.New == "0" {
			set[RiskScaleToZero] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// ParseSettings decodes the content of a configmap or secrets resource: a YAML mapping of
// setting names to text (numbers and booleans are taken as their text). Errors name the line
// and the key, never a value, so a secret in bad input is not echoed back.
func ParseSettings(field, text string) (map[string]string, error) {
	if len(text) > 1<<20 {
		return nil, Invalidf(field, "is larger than 1 MiB: expected a mapping of setting names to text")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		line := ""
		if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
			line = te.Errors[0]
		} else if n := yamlErrorLine(err); n > 0 {
			line = fmt.Sprintf("line %d", n)
		}
		return nil, Invalidf(field, "is not valid YAML (%s): expected a mapping of setting names to text", strings.TrimSpace(line))
	}
	out := map[string]string{}
	if len(doc.Content) == 0 {
		return out, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, Invalidf(field, "line %d: expected a mapping of setting names to text, found a %s", m.Line, yamlKindName(m.Kind))
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || !settingName.MatchString(k.Value) {
			return nil, Invalidf(field, "line %d: a setting name must be letters, digits, '_', '-' or '.' (up to 253 characters)", k.Line)
		}
		if _, dup := out[k.Value]; dup {
			return nil, Invalidf(field, "line %d: setting %s appears twice", k.Line, k.Value)
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return nil, Invalidf(field, "line %d: setting %s: expected text, found a %s", v.Line, k.Value, settingKindName(v))
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

func settingKindName(n *yaml.Node) string {
	if n.Tag == "!!null" {
		return "null"
	}
	return yamlKindName(n.Kind)
}

// yamlErrorLine digs the line number out of a YAML syntax error ("yaml: line 3: …").
func yamlErrorLine(err error) int {
	var n int
	if _, e := fmt.Sscanf(err.Error(), "yaml: line %d:", &n); e == nil {
		return n
	}
	return 0
}

// RenderSettings encodes settings as a YAML mapping with sorted keys; mask shows every value
// as Masked.
func RenderSettings(s map[string]string, mask bool) string {
	if len(s) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(s)) {
		v := s[k]
		if mask {
			v = Masked
		}
		n := yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Value: k}, {Kind: yaml.ScalarNode, Value: v, Tag: "!!str"}}}
		out, err := yaml.Marshal(&n)
		if err != nil {
			continue
		}
		b.Write(out)
	}
	return b.String()
}

// KeepMasked resolves secret input against the current settings: a value given as Masked
// keeps the current value of that key. Errors: Masked for a key that has no value yet.
func KeepMasked(field string, in, current map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for k, v := range in {
		if v == Masked {
			cur, ok := current[k]
			if !ok {
				return nil, Invalidf(field, "setting %s is %s but has no current value: expected its new value", k, Masked)
			}
			v = cur
		}
		out[k] = v
	}
	return out, nil
}

// DiffSettings compares two settings maps by key. For secrets (mask) a changed value shows as
// "••• changed", never the value.
func DiffSettings(a, b map[string]string, mask bool) []ValueChange {
	av, bv := Values{}, Values{}
	for k, v := range a {
		av[k] = v
	}
	for k, v := range b {
		bv[k] = v
	}
	out := DiffValues(av, bv)
	if mask {
		for i := range out {
			out[i] = maskChange(out[i])
		}
	}
	if out == nil {
		out = []ValueChange{}
	}
	return out
}

// ConfigService reads and changes apps' configuration. Reading needs view; writing needs
// manage on the resource's target. On an environment that config policies protect, content
// changes only through drafts (DraftService).
type ConfigService interface {
	// Config returns a resource as it is live now (secret values masked). Errors: invalid
	// kind; not found.
	Config(ctx context.Context, ref ConfigRef) (*Config, error)
	// SetConfig replaces a resource's content and bumps the app's configuration revision.
	// Errors: invalid content (naming the line or path, never a secret value); not found;
	// forbidden; precondition failed on a protected environment (start a draft instead).
	SetConfig(ctx context.Context, ref ConfigRef, in ConfigWrite) (*Config, error)
	// CompareConfig compares the effective configuration of two environments (values merged
	// with the base, the configmap, and which secret keys are set). Errors: invalid names;
	// not found.
	CompareConfig(ctx context.Context, project, app, from, to string) (*ConfigChange, error)
}
