package gatehouse_test

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestParseImage(t *testing.T) {
	good := []struct{ in, repo, tag string }{
		{"registry.example.com/shop/web@" + digestA, "registry.example.com/shop/web", ""},
		{"registry.example.com/shop/web:1.2.3@" + digestA, "registry.example.com/shop/web", "1.2.3"},
		{"localhost:5000/web@" + digestA, "localhost:5000/web", ""},
		{"localhost:5000/web:v1@" + digestA, "localhost:5000/web", "v1"},
		{"docker.io/library/nginx@" + digestA, "index.docker.io/library/nginx", ""},
	}
	for _, g := range good {
		repo, dig, tag, err := gatehouse.ParseImage("image", g.in)
		if err != nil || repo != g.repo || dig != digestA || tag != g.tag {
			t.Errorf("ParseImage(%q) = %q %q %q %v; want %q %q", g.in, repo, dig, tag, err, g.repo, g.tag)
		}
	}
	bad := map[string]string{
		"registry.example.com/shop/web:1.2.3":              "has no digest",
		"registry.example.com/shop/web@sha256:abc":         "not a digest",
		"registry.example.com/shop/web@md5:" + digestA[7:]: "not a digest",
		"UPPER/case@" + digestA:                            "not an image repository",
		"web:bad tag@" + digestA:                           "is not valid",
		"":                                                 "has no digest",
	}
	for in, msg := range bad {
		_, _, _, err := gatehouse.ParseImage("image", in)
		e, ok := err.(*gatehouse.Error)
		if !ok || e.Field != "image" || !strings.Contains(e.Message, msg) {
			t.Errorf("ParseImage(%q) = %v, want invalid image containing %q", in, err, msg)
		}
	}
}

func FuzzParseImage(f *testing.F) {
	f.Add("registry.example.com/shop/web:1.2@" + digestA)
	f.Add("localhost:5000/a@sha256:")
	f.Add("@@@")
	f.Fuzz(func(t *testing.T, in string) {
		repo, dig, tag, err := gatehouse.ParseImage("image", in)
		if err != nil {
			if gatehouse.KindOf(err) != gatehouse.KindInvalid {
				t.Fatalf("ParseImage(%q) error kind %s", in, gatehouse.KindOf(err))
			}
			return
		}
		if gatehouse.ValidateDigest("d", dig) != nil || repo == "" {
			t.Fatalf("ParseImage(%q) accepted bad parts %q %q", in, repo, dig)
		}
		// What was accepted parses again to the same thing.
		ref := repo + "@" + dig
		if tag != "" {
			ref = repo + ":" + tag + "@" + dig
		}
		r2, d2, t2, err := gatehouse.ParseImage("image", ref)
		if err != nil || r2 != repo || d2 != dig || t2 != tag {
			t.Fatalf("re-parse of %q: %q %q %q %v", ref, r2, d2, t2, err)
		}
	})
}

func TestArtifactCreateValidate(t *testing.T) {
	in := gatehouse.ArtifactCreate{Image: "r.example.com/web:v2@" + digestA, Tags: []string{"latest"}, Commit: "abc1234",
		Labels: map[string]string{"team": "shop"}}
	repo, dig, err := in.Validate()
	if err != nil || repo != "r.example.com/web" || dig != digestA {
		t.Fatalf("Validate = %q %q %v", repo, dig, err)
	}
	if len(in.Tags) != 2 || in.Tags[1] != "v2" {
		t.Fatalf("tag from the reference not added: %v", in.Tags)
	}
	for field, bad := range map[string]gatehouse.ArtifactCreate{
		"commit":   {Image: "r.example.com/web@" + digestA, Commit: "XYZ"},
		"tags[0]":  {Image: "r.example.com/web@" + digestA, Tags: []string{"-bad"}},
		"labels":   {Image: "r.example.com/web@" + digestA, Labels: map[string]string{"bad key!": "x"}},
		"builder":  {Image: "r.example.com/web@" + digestA, Builder: "Not Valid"},
		"image":    {Image: "r.example.com/web:latest"},
		"labels.k": {Image: "r.example.com/web@" + digestA, Labels: map[string]string{"k": "a\x00b"}},
	} {
		_, _, err := bad.Validate()
		if e, ok := err.(*gatehouse.Error); !ok || e.Field != field {
			t.Errorf("Validate(%+v) = %v, want invalid field %s", bad, err, field)
		}
	}
}
