package testbed

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// digestImage is a normal image: its pods become Running and Ready.
const digestImage = "registry.example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestBinDirSaysHowToBuild(t *testing.T) {
	t.Setenv("GATEHOUSE_TESTBED_BIN", t.TempDir())
	_, err := BinDir()
	if !errors.Is(err, ErrBinariesMissing) || !strings.Contains(err.Error(), "run ./scripts/build-testbed.sh") {
		t.Fatalf("BinDir() error = %v, want ErrBinariesMissing saying to run ./scripts/build-testbed.sh", err)
	}
}

// TestClusters boots two clusters at once and checks what tests of Gatehouse rely on: real
// rollouts, the failure markers, Jobs, independent clusters, and a Stop that leaves nothing.
func TestClusters(t *testing.T) {
	if _, err := BinDir(); err != nil {
		t.Fatal(err)
	}
	var clusters [2]*Cluster
	var errs [2]error
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range clusters {
		wg.Go(func() {
			start := time.Now()
			clusters[i], errs[i] = Start(context.Background(), Options{Out: t.Output()})
			t.Logf("cluster %d booted in %.1fs", i, time.Since(start).Seconds())
		})
	}
	wg.Wait()
	for i, c := range clusters {
		if c != nil {
			t.Cleanup(func() { _ = c.Stop() })
		}
		if errs[i] != nil {
			t.Fatalf("start cluster %d: %v", i, errs[i])
		}
	}
	t.Logf("two clusters booted concurrently in %.1fs", time.Since(begin).Seconds())
	a, b := clusters[0], clusters[1]
	ca, cb := clientset(t, a), clientset(t, b)

	t.Run("deployments become ready on both", func(t *testing.T) {
		for name, cs := range map[string]*kubernetes.Clientset{"a": ca, "b": cb} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				createNamespace(t, cs, "apps")
				start := time.Now()
				createDeployment(t, cs, "apps", "web", 3, digestImage)
				waitDeploymentReady(t, cs, "apps", "web", 3)
				t.Logf("3 replicas ready in %.2fs", time.Since(start).Seconds())
			})
		}
	})

	t.Run("clusters are independent", func(t *testing.T) {
		createNamespace(t, ca, "only-in-a")
		_, err := cb.CoreV1().Namespaces().Get(t.Context(), "only-in-a", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("namespace of cluster a in cluster b: err = %v, want NotFound", err)
		}
		if a.Server() == b.Server() || a.Dir() == b.Dir() {
			t.Fatalf("clusters share a server or a directory: %s %s, %s %s", a.Server(), b.Server(), a.Dir(), b.Dir())
		}
	})

	t.Run("never-ready pods run but are never ready", func(t *testing.T) {
		createNamespace(t, ca, "rollout")
		createDeployment(t, ca, "rollout", "broken", 2, "registry.example.com/never-ready:1")
		createDeployment(t, ca, "rollout", "fine", 2, digestImage)
		waitDeploymentReady(t, ca, "rollout", "fine", 2)
		pods := waitPods(t, ca, "rollout", "app=broken", 2, func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodRunning
		})
		for _, p := range pods {
			if ready := podCondition(p, corev1.PodReady); ready != corev1.ConditionFalse {
				t.Errorf("pod %s: Ready = %q, want False", p.Name, ready)
			}
			if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].Ready || cs[0].State.Running == nil {
				t.Errorf("pod %s: container statuses %+v, want one running, not ready", p.Name, cs)
			}
		}
		d, err := ca.AppsV1().Deployments("rollout").Get(t.Context(), "broken", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status.ReadyReplicas != 0 {
			t.Errorf("deployment broken: readyReplicas = %d, want 0", d.Status.ReadyReplicas)
		}
	})

	t.Run("held pods run unready until released", func(t *testing.T) {
		createNamespace(t, ca, "held")
		createDeployment(t, ca, "held", "web", 2, "registry.example.com/web-"+HeldMarker+"@sha256:"+strings.Repeat("7", 64))
		createDeployment(t, ca, "held", "fine", 1, digestImage)
		waitDeploymentReady(t, ca, "held", "fine", 1)
		pods := waitPods(t, ca, "held", "app=web", 2, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		for _, p := range pods {
			if ready := podCondition(p, corev1.PodReady); ready != corev1.ConditionFalse {
				t.Errorf("held pod %s: Ready = %q, want False", p.Name, ready)
			}
		}
		if n, err := a.Release(t.Context(), "held"); err != nil || n != 2 {
			t.Fatalf("Release: %d pods, %v; want the 2 held ones", n, err)
		}
		waitDeploymentReady(t, ca, "held", "web", 2)
	})

	t.Run("unpullable and crashloop images wait with the kubelet's reasons", func(t *testing.T) {
		createNamespace(t, cb, "failing")
		cases := []struct{ name, image, reason string }{
			{"pull", "registry.example.com/unpullable:1", "ImagePullBackOff"},
			{"crash", "registry.example.com/crashloop:1", "CrashLoopBackOff"},
		}
		for _, tc := range cases {
			createDeployment(t, cb, "failing", tc.name, 1, tc.image)
		}
		for _, tc := range cases {
			pods := waitPods(t, cb, "failing", "app="+tc.name, 1, func(p *corev1.Pod) bool {
				cs := p.Status.ContainerStatuses
				return len(cs) == 1 && cs[0].State.Waiting != nil
			})
			p := pods[0]
			st := p.Status.ContainerStatuses[0]
			if st.State.Waiting.Reason != tc.reason {
				t.Errorf("%s: waiting reason %q, want %q", tc.image, st.State.Waiting.Reason, tc.reason)
			}
			if podCondition(p, corev1.PodReady) != corev1.ConditionFalse {
				t.Errorf("%s: pod Ready is not False", tc.image)
			}
			switch tc.reason {
			case "ImagePullBackOff":
				if !strings.Contains(st.State.Waiting.Message, tc.image) || p.Status.Phase != corev1.PodPending {
					t.Errorf("%s: phase %s, message %q; want Pending and a message naming the image", tc.image, p.Status.Phase, st.State.Waiting.Message)
				}
			case "CrashLoopBackOff":
				if st.RestartCount < 1 || st.LastTerminationState.Terminated == nil || p.Status.Phase != corev1.PodRunning {
					t.Errorf("%s: phase %s, restartCount %d, last state %+v; want Running, restarts and a termination", tc.image, p.Status.Phase, st.RestartCount, st.LastTerminationState)
				}
			}
		}
	})

	t.Run("jobs complete or fail", func(t *testing.T) {
		createNamespace(t, cb, "jobs")
		start := time.Now()
		createJob(t, cb, "jobs", "ok", digestImage)
		createJob(t, cb, "jobs", "bad", "registry.example.com/job-fails:1")
		waitJob(t, cb, "jobs", "ok", "Complete")
		waitJob(t, cb, "jobs", "bad", "Failed")
		t.Logf("jobs finished in %.2fs", time.Since(start).Seconds())
	})

	t.Run("stop leaves no process and frees the ports", func(t *testing.T) {
		for _, c := range clusters {
			pids := make([]int, 0, len(c.procs))
			for _, p := range c.procs {
				pids = append(pids, p.PID)
			}
			start := time.Now()
			if err := c.Stop(); err != nil {
				t.Fatal(err)
			}
			t.Logf("stopped in %.2fs", time.Since(start).Seconds())
			for i, pid := range pids {
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("%s (pid %d) after Stop: kill -0 = %v, want ESRCH", c.procs[i].name, pid, err)
				}
			}
			for _, port := range c.ports {
				l, err := net.Listen("tcp", hostPort(port))
				if err != nil {
					t.Errorf("port %d after Stop: %v", port, err)
					continue
				}
				l.Close()
			}
			if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) && !keep() {
				t.Errorf("directory %s after Stop: %v, want it removed", c.Dir(), err)
			}
		}
	})
}
