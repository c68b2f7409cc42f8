package gatehouse

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Artifact is an immutable container image of an app, identified by its digest. Tags are
// movable pointers: adding a tag that another artifact of the app holds moves it here. An
// artifact is never deleted, only retracted, so the trail of what was deployed stays whole.
//
// Labels are fixed at push, by whoever pushed (CI): policy conditions read them. Notes are
// what people or tools add later (anyone who may push may change them), so no policy
// condition can read them.
type Artifact struct {
	ID           int64      `json:"id"`
	Project      string     `json:"project"`
	App          string     `json:"app"`
	Repository   string     `json:"repository"`
	Digest       string     `json:"digest"`
	Tags         []string   `json:"tags"`
	Commit       string     `json:"commit,omitempty"`
	CommitTime   *time.Time `json:"commit_time,omitempty"`
	CommitAuthor string     `json:"commit_author,omitempty"`
	Builder      string     `json:"builder"`
	// Pusher is the person who pushed the artifact: its creator, or for a service account's
	// token, the person who made the token. A builder a service account names is only claimed:
	// it adds a person that separation of duties excludes, it never clears the pusher.
	Pusher      string            `json:"pusher,omitempty"`
	Labels      map[string]string `json:"labels"`
	Notes       map[string]string `json:"notes"`
	CreatedBy   string            `json:"created_by"`
	CreatedAt   time.Time         `json:"created_at"`
	RetractedAt *time.Time        `json:"retracted_at,omitempty"`
	RetractedBy string            `json:"retracted_by,omitempty"`
}

// Reference is the image reference by digest, the only form Gatehouse deploys.
func (a *Artifact) Reference() string { return a.Repository + "@" + a.Digest }

var (
	digestRE   = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	tagRE      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	commitRE   = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
	labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)
)

// ValidateDigest checks an image digest of the form sha256:<64 lowercase hex digits>.
func ValidateDigest(field, d string) error {
	if !digestRE.MatchString(d) {
		return Invalidf(field, "%q is not a digest: expected sha256:<64 lowercase hex digits>", d)
	}
	return nil
}

// ParseImage splits an image reference "repo[:tag]@sha256:…" into the canonical repository, the
// digest and the tag ("" when none). A reference without a digest is refused: a tag can move,
// so it never identifies what was approved.
func ParseImage(field, image string) (repo, digest, tag string, err error) {
	base, dig, ok := strings.Cut(image, "@")
	if !ok {
		return "", "", "", Invalidf(field, "%q has no digest: expected repo@sha256:<64 hex digits> (tags alone are not accepted; pass them as tags)", image)
	}
	if err := ValidateDigest(field, dig); err != nil {
		return "", "", "", err
	}
	if i := strings.LastIndex(base, ":"); i > strings.LastIndex(base, "/") {
		base, tag = base[:i], base[i+1:]
		if !tagRE.MatchString(tag) {
			return "", "", "", Invalidf(field, "tag %q is not valid: expected letters, digits, '_', '.', '-', at most 128", tag)
		}
	}
	r, perr := name.NewRepository(base, name.StrictValidation)
	if perr != nil {
		return "", "", "", Invalidf(field, "%q is not an image repository: expected e.g. registry.example.com/team/app", base)
	}
	return r.Name(), dig, tag, nil
}

// ArtifactCreate registers an artifact. Builder is who built the image (the CI identity or the
// person who triggered it); a person pushing by hand is always the builder themselves.
type ArtifactCreate struct {
	Image        string            `json:"image"`
	Tags         []string          `json:"tags"`
	Commit       string            `json:"commit"`
	CommitTime   *time.Time        `json:"commit_time"`
	CommitAuthor string            `json:"commit_author"`
	Builder      string            `json:"builder"`
	Labels       map[string]string `json:"labels"`
}

// Validate checks every field and returns the parsed image (with a tag in the reference added
// to Tags).
func (in *ArtifactCreate) Validate() (repo, digest string, err error) {
	repo, digest, tag, err := ParseImage("image", in.Image)
	if err != nil {
		return "", "", err
	}
	if tag != "" && !slices.Contains(in.Tags, tag) {
		in.Tags = append(in.Tags, tag)
	}
	if err := ValidateTags("tags", in.Tags); err != nil {
		return "", "", err
	}
	if in.Commit != "" && !commitRE.MatchString(in.Commit) {
		return "", "", Invalidf("commit", "%q is not a commit id: expected 7 to 64 lowercase hex digits", in.Commit)
	}
	if in.Builder != "" {
		if err := ValidateUserName("builder", in.Builder); err != nil {
			return "", "", err
		}
	}
	if err := validateText("commit_author", in.CommitAuthor, 256); err != nil {
		return "", "", err
	}
	return repo, digest, ValidateLabels("labels", in.Labels)
}

// ValidateTags checks a list of image tags.
func ValidateTags(field string, tags []string) error {
	if len(tags) > 32 {
		return Invalidf(field, "has %d tags: expected at most 32", len(tags))
	}
	for i, t := range tags {
		if !tagRE.MatchString(t) {
			return Invalidf(fmt.Sprintf("%s[%d]", field, i), "%q is not a tag: expected letters, digits, '_', '.', '-', at most 128", t)
		}
	}
	return nil
}

// ValidateLabels checks label keys (like Kubernetes label keys) and values (text, at most 256).
func ValidateLabels(field string, labels map[string]string) error {
	return validatePairs(field, "labels", labels)
}

// ValidateNotes checks notes by the rules of labels.
func ValidateNotes(field string, notes map[string]string) error {
	return validatePairs(field, "notes", notes)
}

func validatePairs(field, noun string, pairs map[string]string) error {
	if len(pairs) > 64 {
		return Invalidf(field, "has %d %s: expected at most 64", len(pairs), noun)
	}
	for k, v := range pairs {
		if !labelKeyRE.MatchString(k) {
			return Invalidf(field, "key %q is not valid: expected letters, digits, '.', '_', '/', '-', at most 63", k)
		}
		if err := validateText(field+"."+k, v, 256); err != nil {
			return err
		}
	}
	return nil
}

// ArtifactUpdate adds and removes tags and notes; everything else about an artifact is
// immutable. Labels are fixed at push: SetLabels and RemoveLabels exist only so that a
// request naming them is refused with a message that says so, not as an unknown field.
type ArtifactUpdate struct {
	AddTags      []string          `json:"add_tags"`
	RemoveTags   []string          `json:"remove_tags"`
	SetNotes     map[string]string `json:"set_notes"`
	RemoveNotes  []string          `json:"remove_notes"`
	SetLabels    map[string]string `json:"set_labels,omitempty"`
	RemoveLabels []string          `json:"remove_labels,omitempty"`
}

// Validate checks every field; any change of labels is refused, naming its field.
func (in ArtifactUpdate) Validate() error {
	const fixed = "labels are fixed at push (policy conditions read them, so nobody may change them later): use set_notes and remove_notes for what is added afterwards"
	if in.SetLabels != nil {
		return Invalidf("set_labels", fixed)
	}
	if in.RemoveLabels != nil {
		return Invalidf("remove_labels", fixed)
	}
	if err := ValidateTags("add_tags", in.AddTags); err != nil {
		return err
	}
	if err := ValidateTags("remove_tags", in.RemoveTags); err != nil {
		return err
	}
	return ValidateNotes("set_notes", in.SetNotes)
}

// ArtifactFilter selects artifacts of an app.
type ArtifactFilter struct {
	Tag              string
	IncludeRetracted bool
	Limit            int // default 100, at most 1000
}

// ArtifactService manages artifacts.
type ArtifactService interface {
	// CreateArtifact registers an artifact. Errors: invalid input; not found (app); forbidden
	// without push-artifact on the app; conflict when the digest is already registered.
	CreateArtifact(ctx context.Context, project, app string, in ArtifactCreate) (*Artifact, error)
	// Artifact returns an artifact by digest. Errors: invalid digest; not found.
	Artifact(ctx context.Context, project, app, digest string) (*Artifact, error)
	// Artifacts lists an app's artifacts, newest first.
	Artifacts(ctx context.Context, project, app string, f ArtifactFilter) ([]*Artifact, error)
	// UpdateArtifact changes tags and notes. Errors: invalid input (any change of labels,
	// which are fixed at push); not found; forbidden without push-artifact on the app;
	// precondition failed on a retracted artifact.
	UpdateArtifact(ctx context.Context, project, app, digest string, in ArtifactUpdate) (*Artifact, error)
	// RetractArtifact marks an artifact unusable and drops its tags. Errors: not found;
	// forbidden without manage on the app; precondition failed when already retracted.
	RetractArtifact(ctx context.Context, project, app, digest string) (*Artifact, error)
}
