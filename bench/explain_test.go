package bench_test

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gatehousehq/gatehouse/internal/testbed"
)

// explain describes from the cluster why app's workload in namespace ns did not become ready:
// its Deployment's conditions, its ReplicaSets, its pods and their conditions, and the events
// of all of them, so a failed benchmark run says whether Gatehouse or the testbed fell short.
func explain(cluster *testbed.Cluster, ns, app string) string {
	cs, err := kubernetes.NewForConfig(cluster.RESTConfig())
	if err != nil {
		return err.Error()
	}
	ctx := context.Background()
	var out strings.Builder
	if d, err := cs.AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{}); err != nil {
		fmt.Fprintf(&out, "deployment: %v\n", err)
	} else {
		fmt.Fprintf(&out, "deployment %s generation %d observed %d replicas %d ready %d\n", d.Name, d.Generation, d.Status.ObservedGeneration, d.Status.Replicas, d.Status.ReadyReplicas)
		for _, c := range d.Status.Conditions {
			fmt.Fprintf(&out, "  %s=%s %s: %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	names := map[string]bool{app: true}
	if rss, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, rs := range rss.Items {
			if strings.HasPrefix(rs.Name, app+"-") {
				names[rs.Name] = true
				fmt.Fprintf(&out, "replicaset %s replicas %d ready %d\n", rs.Name, rs.Status.Replicas, rs.Status.ReadyReplicas)
			}
		}
	}
	if pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range pods.Items {
			if !strings.HasPrefix(p.Name, app+"-") {
				continue
			}
			names[p.Name] = true
			fmt.Fprintf(&out, "pod %s node %q phase %s\n", p.Name, p.Spec.NodeName, p.Status.Phase)
			for _, c := range p.Status.Conditions {
				fmt.Fprintf(&out, "  %s=%s %s %s\n", c.Type, c.Status, c.Reason, c.Message)
			}
		}
	}
	if evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range evs.Items {
			if names[e.InvolvedObject.Name] {
				fmt.Fprintf(&out, "event %s/%s %s %s: %s (x%d)\n", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Type, e.Reason, e.Message, e.Count)
			}
		}
	}
	return out.String()
}
