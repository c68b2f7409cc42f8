package testbed

import (
	"context"
	"errors"
	"testing"
	"time"
)

// StartT starts a cluster for a test and registers its Stop with tb.Cleanup; progress lines go
// to the test log. It fails the test (tb.Fatal) when the cluster does not start within 3
// minutes, and when the binaries are missing the message says to run
// ./scripts/build-testbed.sh: a test needing a cluster never skips.
func StartT(tb testing.TB, opt Options) *Cluster {
	tb.Helper()
	if opt.Out == nil {
		opt.Out = tb.Output()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx, opt)
	if errors.Is(err, ErrBinariesMissing) {
		tb.Fatalf("the testbed's Kubernetes binaries are not built: %v", err)
	}
	if err != nil {
		tb.Fatalf("start a testbed cluster: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("stop the testbed cluster: %v", err)
		}
	})
	return c
}
