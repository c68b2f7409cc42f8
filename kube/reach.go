package kube

import (
	"errors"
	"net"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Unreachable reports whether err says the cluster's API server could not be reached or did
// not answer in time (refused, reset, cut, timed out, overloaded), as opposed to answering
// no: such a fault may pass, and the same call is worth trying again later.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) ||
		utilnet.IsProbableEOF(err) || utilnet.IsHTTP2ConnectionLost(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) {
		return true
	}
	// Helm flattens some of its causes into text.
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "i/o timeout", "TLS handshake timeout",
		"no route to host", "client connection lost", "cluster unreachable", "unexpected EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
