package gatehouse

import (
	"strings"
	"testing"
)

// FuzzUserNameCandidates: whatever a provider sends as user name and e-mail, every name a
// new user may take is a valid, distinct user name, the preferred one first when it is valid.
func FuzzUserNameCandidates(f *testing.F) {
	for _, s := range [][2]string{{"Carol.Smith", "carol@example.com"}, {"", "ÄÖ@x"}, {"-._", ""}, {strings.Repeat("a", 100), "b@c"}, {"x y", "@"}, {"carol", "carol-2@example.com"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, username, email string) {
		got := ExternalIdentity{Username: username, Email: email}.UserNameCandidates()
		if len(got) < 20 {
			t.Fatalf("only %d candidates", len(got))
		}
		seen := map[string]bool{}
		for _, name := range got {
			if err := ValidateUserName("name", name); err != nil {
				t.Fatalf("candidate %q: %v", name, err)
			}
			if seen[name] {
				t.Fatalf("candidate %q repeats", name)
			}
			seen[name] = true
		}
		if ValidateUserName("name", username) == nil && got[0] != username {
			t.Fatalf("valid preferred name %q not first: %v", username, got[:3])
		}
	})
}

// TestExternalLoginValidate: a sign-in without issuer or subject is refused, and so is an
// address outside the admitted domains or not verified by the provider.
func TestExternalLoginValidate(t *testing.T) {
	ok := ExternalIdentity{Issuer: "https://id.example", Subject: "s1", Email: "a@Bank.example", EmailVerified: true}
	cases := []struct {
		in   ExternalLogin
		want ErrorKind
	}{
		{ExternalLogin{Identity: ok}, ""},
		{ExternalLogin{Identity: ok, EmailDomains: []string{"bank.example"}}, ""},
		{ExternalLogin{Identity: ExternalIdentity{Issuer: "https://id.example"}}, KindUnauthenticated},
		{ExternalLogin{Identity: ok, EmailDomains: []string{"other.example"}}, KindForbidden},
		{ExternalLogin{Identity: ExternalIdentity{Issuer: ok.Issuer, Subject: "s", Email: ok.Email}, EmailDomains: []string{"bank.example"}}, KindForbidden},
		{ExternalLogin{Identity: ExternalIdentity{Issuer: ok.Issuer, Subject: "s", Email: "not an address"}}, KindUnauthenticated},
		{ExternalLogin{Identity: ExternalIdentity{Issuer: ok.Issuer, Subject: "s", DisplayName: "bad\x00name"}}, KindUnauthenticated},
	}
	for i, c := range cases {
		err := c.in.Validate()
		if (c.want == "") != (err == nil) || (err != nil && KindOf(err) != c.want) {
			t.Errorf("case %d: %v, want kind %q", i, err, c.want)
		}
	}
}
