package testbed

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// waitTimeout bounds every wait of the tests; things happen in well under a second.
const waitTimeout = 30 * time.Second

func clientset(t *testing.T, c *Cluster) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func createNamespace(t *testing.T, cs *kubernetes.Clientset, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func podTemplate(name, image string, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			RestartPolicy: restart,
			Containers:    []corev1.Container{{Name: "main", Image: image}},
		},
	}
}

func createDeployment(t *testing.T, cs *kubernetes.Clientset, ns, name string, replicas int32, image string) {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, image, corev1.RestartPolicyAlways),
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createJob(t *testing.T, cs *kubernetes.Clientset, ns, name, image string) {
	t.Helper()
	backoff := int32(0)
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: &backoff,
			Template:     podTemplate(name, image, corev1.RestartPolicyNever),
		},
	}
	if _, err := cs.BatchV1().Jobs(ns).Create(t.Context(), j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitDeploymentReady(t *testing.T, cs *kubernetes.Clientset, ns, name string, replicas int32) {
	t.Helper()
	lw := listWatch(cs.AppsV1().RESTClient(), "deployments", ns, "metadata.name="+name, "")
	waitFor(t, "deployment "+name+" ready", lw, &appsv1.Deployment{}, func(ds []*appsv1.Deployment) bool {
		return len(ds) == 1 && ds[0].Status.ObservedGeneration >= ds[0].Generation &&
			ds[0].Status.UpdatedReplicas == replicas && ds[0].Status.ReadyReplicas == replicas
	})
}

func waitJob(t *testing.T, cs *kubernetes.Clientset, ns, name string, condition batchv1.JobConditionType) {
	t.Helper()
	lw := listWatch(cs.BatchV1().RESTClient(), "jobs", ns, "metadata.name="+name, "")
	waitFor(t, "job "+name+" "+string(condition), lw, &batchv1.Job{}, func(js []*batchv1.Job) bool {
		if len(js) != 1 {
			return false
		}
		for _, c := range js[0].Status.Conditions {
			if c.Type == condition && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
}

// waitPods waits until n pods match selector and ok, and returns them.
func waitPods(t *testing.T, cs *kubernetes.Clientset, ns, selector string, n int, ok func(*corev1.Pod) bool) []*corev1.Pod {
	t.Helper()
	lw := listWatch(cs.CoreV1().RESTClient(), "pods", ns, "", selector)
	var matched []*corev1.Pod
	waitFor(t, fmt.Sprintf("%d pods %s", n, selector), lw, &corev1.Pod{}, func(pods []*corev1.Pod) bool {
		matched = matched[:0]
		for _, p := range pods {
			if ok(p) {
				matched = append(matched, p)
			}
		}
		return len(matched) >= n
	})
	return matched
}

func podCondition(p *corev1.Pod, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

func listWatch(client rest.Interface, resource, ns, fieldSelector, labelSelector string) cache.ListerWatcher {
	return cache.NewFilteredListWatchFromClient(client, resource, ns, func(o *metav1.ListOptions) {
		o.FieldSelector = fieldSelector
		o.LabelSelector = labelSelector
	})
}

// waitFor watches the objects of lw until ok holds for all of them, failing the test after
// waitTimeout with the last objects seen.
func waitFor[T runtime.Object](t *testing.T, what string, lw cache.ListerWatcher, objType T, ok func([]T) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	var store cache.Store
	var last []T
	check := func() bool {
		last = last[:0]
		for _, obj := range store.List() {
			last = append(last, obj.(T))
		}
		return ok(last)
	}
	_, err := watchtools.UntilWithSync(ctx, lw, objType,
		func(s cache.Store) (bool, error) { store = s; return check(), nil },
		func(watch.Event) (bool, error) { return check(), nil },
	)
	if err != nil {
		var b strings.Builder
		for _, obj := range last {
			fmt.Fprintf(&b, "\n  %+v", obj)
		}
		t.Fatalf("waiting for %s: %v; last seen:%s", what, err, b.String())
	}
}
