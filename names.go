package gatehouse

import (
	"regexp"
	"strings"
)

var (
	slugRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	userNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._@-]{0,62}[a-z0-9])?$`)
)

// ValidateName checks that name is a DNS-1123 label (lowercase letters, digits and '-', starting
// and ending with a letter or digit, at most 63 characters), the form of every project,
// environment, app, cluster and group name. field names the input field in the error.
func ValidateName(field, name string) error {
	if name == "" {
		return Invalidf(field, "is required")
	}
	if !slugRE.MatchString(name) {
		return Invalidf(field, "%q is not a valid name: expected lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters", name)
	}
	return nil
}

// ValidateUserName checks a user or service-account name: like ValidateName but '.', '_' and '@'
// are allowed too, so e-mail-like names work.
func ValidateUserName(field, name string) error {
	if name == "" {
		return Invalidf(field, "is required")
	}
	if !userNameRE.MatchString(name) {
		return Invalidf(field, "%q is not a valid user name: expected lowercase letters, digits and '.', '_', '@', '-', starting and ending with a letter or digit, at most 64 characters", name)
	}
	return nil
}

// validateText checks a free-text field for length and control characters.
func validateText(field, s string, max int) error {
	if len(s) > max {
		return Invalidf(field, "is %d bytes long: expected at most %d", len(s), max)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }) {
		return Invalidf(field, "contains control characters: expected plain text")
	}
	return nil
}
