package kube

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// failReasons are container waiting reasons from which a rollout does not recover by itself.
var failReasons = map[string]bool{
	"ImagePullBackOff": true, "ErrImagePull": true, "InvalidImageName": true, "CrashLoopBackOff": true,
	"CreateContainerConfigError": true, "CreateContainerError": true,
}

// watchPodFailures fails when a pod of the workload's current rollout is stuck in a waiting
// reason it will not leave by itself. Pods of older revisions are ignored: a failing old
// rollout must not fail the one that replaces it.
func (c *Conn) watchPodFailures(ctx context.Context, o object, selector string) error {
	pods := c.clientset.CoreV1().Pods(o.ns)
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil // readiness watching reports what matters; this is an early warning
	}
	for i := range list.Items {
		if cause := c.podFailure(ctx, o, &list.Items[i]); cause != "" {
			return &RolloutError{Cause: cause}
		}
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: list.ResourceVersion})
	if err != nil {
		return nil
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || ev.Type == watch.Deleted {
			continue
		}
		if cause := c.podFailure(ctx, o, p); cause != "" {
			return &RolloutError{Cause: cause}
		}
	}
	return nil
}

// podFailure describes why the pod cannot start, or returns "" when it may still.
func (c *Conn) podFailure(ctx context.Context, o object, p *corev1.Pod) string {
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		w := cs.State.Waiting
		if w == nil || !failReasons[w.Reason] || !c.currentRollout(ctx, o, p) {
			continue
		}
		msg := strings.TrimSpace(w.Message)
		if msg == "" {
			msg = "image " + cs.Image
		}
		return fmt.Sprintf("pod %s: container %s: %s: %s", p.Name, cs.Name, w.Reason, msg)
	}
	return ""
}

// currentRollout reports whether the pod belongs to the workload's newest revision.
func (c *Conn) currentRollout(ctx context.Context, o object, p *corev1.Pod) bool {
	if o.u.GetKind() != "Deployment" {
		return true
	}
	var rsName string
	for _, ref := range p.OwnerReferences {
		if ref.Kind == "ReplicaSet" {
			rsName = ref.Name
		}
	}
	if rsName == "" {
		return true
	}
	apps := c.clientset.AppsV1()
	d, err := apps.Deployments(o.ns).Get(ctx, o.u.GetName(), metav1.GetOptions{})
	if err != nil {
		return true
	}
	rs, err := apps.ReplicaSets(o.ns).Get(ctx, rsName, metav1.GetOptions{})
	if err != nil {
		return true
	}
	const rev = "deployment.kubernetes.io/revision"
	return rs.Annotations[rev] == d.Annotations[rev]
}
