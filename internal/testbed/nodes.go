package testbed

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// The annotation that makes kwok manage a node.
const (
	nodeAnnotation      = "kwok.x-k8s.io/node"
	nodeAnnotationValue = "fake"
)

// minPods is how many pods the nodes of a cluster accept in total, at least.
const minPods = 300

// addNodes creates n nodes managed by kwok and waits until all are Ready and schedulable.
func (c *Cluster) addNodes(ctx context.Context, kwok *process, n int) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	go func() {
		select {
		case <-kwok.Done():
			fail(kwok.exitError())
		case <-ctx.Done():
		}
	}()

	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("testbed: client: %w", err)
	}
	podsPerNode := max(110, (minPods+n-1)/n)
	for i := 1; i <= n; i++ {
		if _, err := cs.CoreV1().Nodes().Create(ctx, newNode("kwok-node-"+strconv.Itoa(i), podsPerNode), metav1.CreateOptions{}); err != nil {
			return c.nodeError(ctx, kwok, fmt.Errorf("create node: %w", err))
		}
	}

	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Nodes().List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.CoreV1().Nodes().Watch(ctx, o)
		},
	}
	var store cache.Store
	allReady := func() bool {
		ready := 0
		for _, obj := range store.List() {
			if node, ok := obj.(*corev1.Node); ok && nodeReady(node) {
				ready++
			}
		}
		return ready >= n
	}
	_, err = watchtools.UntilWithSync(ctx, lw, &corev1.Node{},
		func(s cache.Store) (bool, error) { store = s; return allReady(), nil },
		func(watch.Event) (bool, error) { return allReady(), nil },
	)
	if err != nil {
		return c.nodeError(ctx, kwok, fmt.Errorf("nodes not Ready: %w", err))
	}
	return nil
}

// nodeError returns the cause of a failure of addNodes: kwok's exit, or err with kwok's log.
func (c *Cluster) nodeError(ctx context.Context, kwok *process, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.DeadlineExceeded) && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return kwok.failure(err)
}

// newNode returns a node for kwok to manage, accepting pods pods.
func newNode(name string, pods int) *corev1.Node {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{nodeAnnotation: nodeAnnotationValue},
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: resources, Allocatable: resources},
	}
}

// nodeReady reports whether node is Ready and free of the taint that keeps pods off nodes that
// are not ready yet.
func nodeReady(node *corev1.Node) bool {
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return false
		}
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}
