package gatehouse

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Values are Helm values: a tree of maps, lists and scalars decoded from YAML.
type Values = map[string]any

// ParseValues decodes a YAML mapping (empty text gives empty values). Errors name the field and,
// for syntax errors, the line.
func ParseValues(field, text string) (Values, error) {
	if err := ValidateValues(field, text); err != nil {
		return nil, err
	}
	v := Values{}
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, Invalidf(field, "is not valid YAML (%v): expected Helm values (a YAML mapping)", err)
	}
	return normalize(v).(Values), nil
}

// normalize turns YAML's map[any]any (non-string keys) into map[string]any throughout, so values
// encode as JSON and compare predictably.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// MergeValues merges layers of values, later layers winning: maps merge key by key, anything
// else (lists included) is replaced whole — Helm's own rule for -f files.
func MergeValues(layers ...Values) Values {
	out := Values{}
	for _, l := range layers {
		mergeInto(out, l)
	}
	return out
}

func mergeInto(dst, src Values) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merged := maps.Clone(dm)
				mergeInto(merged, sm)
				dst[k] = merged
				continue
			}
			dst[k] = MergeValues(sm)
			continue
		}
		dst[k] = v
	}
}

// RenderValues encodes values as YAML with sorted keys.
func RenderValues(v Values) string {
	if len(v) == 0 {
		return ""
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprintf("# cannot render values: %v\n", err)
	}
	return string(b)
}

// ChangeKind says how a value changed.
type ChangeKind string

// The change kinds.
const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Changed ChangeKind = "changed"
)

// ValueChange is one difference between two value trees, at a path like
// `image.tag`, `env[2].value` or `annotations["example.com/x"]`.
type ValueChange struct {
	Path string     `json:"path"`
	Kind ChangeKind `json:"kind"`
	Old  string     `json:"old,omitempty"`
	New  string     `json:"new,omitempty"`
}

// String words the change on one line: "+ path: new", "- path: old" or "~ path: old → new".
func (c ValueChange) String() string {
	switch c.Kind {
	case Added:
		return fmt.Sprintf("+ %s: %s", c.Path, c.New)
	case Removed:
		return fmt.Sprintf("- %s: %s", c.Path, c.Old)
	}
	return fmt.Sprintf("~ %s: %s → %s", c.Path, c.Old, c.New)
}

// DiffValues lists the differences from a to b, sorted by path. Maps are compared key by key
// and lists element by element, so a change deep in a tree is reported at its own path.
func DiffValues(a, b Values) []ValueChange {
	var out []ValueChange
	diffAny("", a, b, &out)
	slices.SortFunc(out, func(x, y ValueChange) int { return strings.Compare(x.Path, y.Path) })
	return out
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func joinKey(path, key string) string {
	if !plainKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func diffAny(path string, a, b any, out *[]ValueChange) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := slices.Sorted(maps.Keys(am))
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			av, inA := am[k]
			bv, inB := bm[k]
			p := joinKey(path, k)
			// A map that appears or disappears is reported key by key, so a diff names every
			// setting (every secret key) it adds or removes.
			switch {
			case !inA && isFullMap(bv):
				diffAny(p, map[string]any{}, bv, out)
			case !inA:
				*out = append(*out, ValueChange{Path: p, Kind: Added, New: scalarText(bv)})
			case !inB && isFullMap(av):
				diffAny(p, av, map[string]any{}, out)
			case !inB:
				*out = append(*out, ValueChange{Path: p, Kind: Removed, Old: scalarText(av)})
			default:
				diffAny(p, av, bv, out)
			}
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList {
		for i := 0; i < max(len(al), len(bl)); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(al):
				*out = append(*out, ValueChange{Path: p, Kind: Added, New: scalarText(bl[i])})
			case i >= len(bl):
				*out = append(*out, ValueChange{Path: p, Kind: Removed, Old: scalarText(al[i])})
			default:
				diffAny(p, al[i], bl[i], out)
			}
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, ValueChange{Path: path, Kind: Changed, Old: scalarText(a), New: scalarText(b)})
	}
}

func isFullMap(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) > 0
}

// scalarText renders a value compactly for a diff line: scalars as YAML, trees as one-line
// flow YAML.
func scalarText(v any) string {
	if v == nil {
		return "null"
	}
	switch v.(type) {
	case map[string]any, []any:
		var n yaml.Node
		if err := n.Encode(v); err == nil {
			setFlow(&n)
			if b, err := yaml.Marshal(&n); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}

func setFlow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		setFlow(c)
	}
}

// ImageValues are the values that pin an artifact's image by digest: image.repository and
// image.digest (what Gatehouse's own chart reads), and image.tag as "<tag>@<digest>", which
// charts that render "repository:tag" turn into a reference that is pulled by digest too.
func ImageValues(a *Artifact) Values {
	tag := "pinned"
	if len(a.Tags) > 0 {
		tag = a.Tags[0]
	}
	return Values{"image": map[string]any{"repository": a.Repository, "digest": a.Digest, "tag": tag + "@" + a.Digest}}
}

// DiffDeployments compares two deployments' images and values. Within one environment a
// secret whose value changed shows as changed (by its mark, never its value); across
// environments secrets are compared by key only (SecretsByKey): a key set on both sides shows
// no change, whatever the values.
func DiffDeployments(from, to *Deployment) (*DeploymentDiff, error) {
	a, err := ParseValues("from.values", from.Values)
	if err != nil {
		return nil, err
	}
	b, err := ParseValues("to.values", to.Values)
	if err != nil {
		return nil, err
	}
	byKey := from.Environment != to.Environment
	if byKey {
		maskSecrets(a)
		maskSecrets(b)
	}
	d := &DeploymentDiff{From: from, To: to, Changes: MaskChanges(DiffValues(a, b)), SecretsByKey: byKey}
	if d.Changes == nil {
		d.Changes = []ValueChange{}
	}
	if from.Image != to.Image {
		d.Image = &ValueChange{Path: "image", Kind: Changed, Old: from.Image, New: to.Image}
	}
	return d, nil
}

// SecretValuesKey is the top-level values key whose subtree holds secret values (the built-in
// chart turns it into a Kubernetes Secret). Views of values mask everything under it.
const SecretValuesKey = "secrets"

// MaskValues renders values YAML with every value under SecretValuesKey replaced by Masked.
// Text that does not parse is withheld entirely rather than risk showing a secret.
func MaskValues(text string) string {
	v, err := ParseValues("values", text)
	if err != nil {
		return "# values withheld: they do not parse\n"
	}
	maskSecrets(v)
	return RenderValues(v)
}

// maskSecrets replaces every value under SecretValuesKey by Masked, in place.
func maskSecrets(v Values) {
	if sec, ok := v[SecretValuesKey]; ok {
		v[SecretValuesKey] = maskTree(sec)
	}
}

// SecretKeys stands in for an environment's secret settings where environments are compared:
// each key with Masked for its value, so a comparison says a key is set on both sides, or on
// one only, and never whether the values are equal.
func SecretKeys(secrets map[string]string) Values {
	if len(secrets) == 0 {
		return Values{}
	}
	m := make(map[string]any, len(secrets))
	for k := range secrets {
		m[k] = Masked
	}
	return Values{SecretValuesKey: m}
}

// SecretsByKeyNote is what people are told where secrets of two environments are compared.
const SecretsByKeyNote = "Secrets are compared by key only between environments: a key set in both shows no change, " +
	"whatever the values; only keys set in one of them show (added or removed)."

func maskTree(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = maskTree(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskTree(e)
		}
		return out
	}
	return Masked
}

// MaskChanges hides the values of changes under SecretValuesKey: a diff shows which secret
// keys changed, never what they were or became.
func MaskChanges(changes []ValueChange) []ValueChange {
	out := make([]ValueChange, len(changes))
	for i, c := range changes {
		if c.Path == SecretValuesKey || strings.HasPrefix(c.Path, SecretValuesKey+".") || strings.HasPrefix(c.Path, SecretValuesKey+"[") {
			c = maskChange(c)
		}
		out[i] = c
	}
	return out
}

func maskChange(c ValueChange) ValueChange {
	if c.Old != "" {
		c.Old = Masked
	}
	if c.New != "" {
		c.New = Masked
	}
	if c.Kind == Changed {
		c.New = Masked + " changed"
	}
	return c
}

var settingName = regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`)

// RefuseSecretValues refuses values that carry secret settings: they belong in the secrets
// resource, which is sealed at rest, not in values YAML.
func RefuseSecretValues(field string, v Values) error {
	if _, ok := v[SecretValuesKey]; ok {
		return Invalidf(field, "has a %q key: secret settings go in the environment's secrets resource (gatehouse config set --kind secrets), which is sealed at rest", SecretValuesKey)
	}
	return nil
}
