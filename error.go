package gatehouse

import (
	"errors"
	"fmt"
)

// ErrorKind classifies an error by what the caller should do about it. Every layer maps kinds in
// one place: the HTTP API to a status code, the CLI to an exit code.
type ErrorKind string

// The error kinds. Their string values appear in API responses and are stable.
const (
	KindInvalid            ErrorKind = "invalid"             // the input is wrong; fix it and retry
	KindUnauthenticated    ErrorKind = "unauthenticated"     // no valid credentials
	KindForbidden          ErrorKind = "forbidden"           // credentials valid, right missing
	KindNotFound           ErrorKind = "not_found"           // the named thing does not exist
	KindConflict           ErrorKind = "conflict"            // clashes with current state (duplicate name, in use)
	KindPreconditionFailed ErrorKind = "precondition_failed" // a rule of the domain is not met yet (gate closed, stale version)
	KindRateLimited        ErrorKind = "rate_limited"        // too many attempts; wait and retry
	KindUnavailable        ErrorKind = "unavailable"         // a service Gatehouse relies on cannot be reached; retry later
	KindInternal           ErrorKind = "internal"            // a fault of the server; details are logged, never shown
)

// Error is the error type of the domain. Message is written for the user and never carries
// internals or secrets; Field names the input field at fault, when there is one.
type Error struct {
	Kind    ErrorKind
	Field   string
	Message string
}

// Error renders the field and message.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns a KindInvalid error naming the field at fault and what is expected.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a KindNotFound error.
func NotFoundf(format string, args ...any) *Error { return Errorf(KindNotFound, format, args...) }

// Forbiddenf returns a KindForbidden error.
func Forbiddenf(format string, args ...any) *Error { return Errorf(KindForbidden, format, args...) }

// Conflictf returns a KindConflict error.
func Conflictf(format string, args ...any) *Error { return Errorf(KindConflict, format, args...) }

// KindOf reports the kind of err: the kind of the first *Error in its chain, KindInternal for any
// other non-nil error, and "" for nil.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// PublicError returns what may be shown to a user about err: the *Error in its chain, or a
// generic internal error that reveals nothing about the cause.
func PublicError(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal {
		return e
	}
	return &Error{Kind: KindInternal, Message: "internal error"}
}
