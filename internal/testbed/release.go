package testbed

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// HeldMarker in a container image keeps its pods running but not Ready until Release lets
// them go: a rollout that stays in progress exactly as long as a test needs.
const HeldMarker = "held-until-released"

// ReleaseAnnotation set to "true" on a running pod marked HeldMarker makes it Ready (the
// pod-released stage of stages/pod-failures.yaml).
const ReleaseAnnotation = "testbed.gatehouse.dev/release"

// Release lets the pods in namespace whose images are marked HeldMarker become Ready, by
// annotating each of them with ReleaseAnnotation; it returns how many it annotated. Pods
// created after it stay held.
func (c *Cluster) Release(ctx context.Context, namespace string) (int, error) {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return 0, fmt.Errorf("testbed: release: %w", err)
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("testbed: release: %w", err)
	}
	patch := []byte(`{"metadata":{"annotations":{"` + ReleaseAnnotation + `":"true"}}}`)
	n := 0
	for _, p := range pods.Items {
		held := false
		for _, ct := range p.Spec.Containers {
			held = held || strings.Contains(ct.Image, HeldMarker)
		}
		if !held {
			continue
		}
		if _, err := cs.CoreV1().Pods(namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return n, fmt.Errorf("testbed: release pod %s/%s: %w", namespace, p.Name, err)
		}
		n++
	}
	return n, nil
}
