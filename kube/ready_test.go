package kube

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestWaitReadyNeverReadyOnError: a workload that cannot be read (here: not there at all)
// fails the wait with the read's error, every time, never "ready". (The race this guards
// against — an errored object counted towards "all current" — needs the waiter busy at that
// instant to show; TestClusterThatDisappears in worker met it once in a full run. Here the
// contract is pinned: an error is never turned into ready.)
func TestWaitReadyNeverReadyOnError(t *testing.T) {
	conn := connect(t)
	manifest := `---
# Source: app/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nowhere
  namespace: shop
spec:
  selector:
    matchLabels: {app: nowhere}
  template:
    metadata:
      labels: {app: nowhere}
    spec:
      containers: [{name: app, image: "registry.example.com/nowhere@sha256:` + strings.Repeat("3", 64) + `"}]
`
	for i := range 20 {
		err := conn.WaitReady(context.Background(), "shop", manifest, 30*time.Second, nil)
		if err == nil || !strings.Contains(err.Error(), "read Deployment/nowhere") {
			t.Fatalf("try %d: WaitReady over a Deployment that is not there = %v, want its read error", i+1, err)
		}
	}
}
