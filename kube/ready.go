package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"helm.sh/helm/v3/pkg/releaseutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

// RolloutError is a rollout that will not become ready, with the cause for people.
type RolloutError struct {
	Cause   string
	Timeout bool
}

func (e *RolloutError) Error() string { return e.Cause }

// watchedKinds are the kinds whose readiness takes time; everything else is ready once
// applied.
var watchedKinds = map[schema.GroupKind]bool{
	{Group: "apps", Kind: "Deployment"}: true, {Group: "apps", Kind: "StatefulSet"}: true,
	{Group: "apps", Kind: "DaemonSet"}: true, {Group: "apps", Kind: "ReplicaSet"}: true,
	{Group: "batch", Kind: "Job"}: true, {Group: "", Kind: "Pod"}: true,
}

// object is one watched resource of a release.
type object struct {
	u   *unstructured.Unstructured
	gvr schema.GroupVersionResource
	ns  string
}

func (o object) String() string { return o.u.GetKind() + "/" + o.u.GetName() }

// manifestObjects decodes a release manifest and resolves the watched objects' resources.
func (c *Conn) manifestObjects(namespace, manifest string) ([]object, error) {
	var out []object
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(docs[k]), &m); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		gvk := u.GroupVersionKind()
		if !watchedKinds[gvk.GroupKind()] {
			continue
		}
		mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", u.GetName(), err)
		}
		ns := u.GetNamespace()
		if ns == "" {
			ns = namespace
		}
		out = append(out, object{u: u, gvr: mapping.Resource, ns: ns})
	}
	return out, nil
}

// WaitReady watches the release's workloads until kstatus says every one is current. It
// fails early when a pod of the new rollout cannot start (image pull errors, crash loops),
// and after timeout with what is still not ready. progress, when set, hears each workload
// becoming ready.
func (c *Conn) WaitReady(ctx context.Context, namespace, manifest string, timeout time.Duration, progress func(string)) error {
	objs, err := c.manifestObjects(namespace, manifest)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var mu sync.Mutex
	last := map[string]string{}
	errc := make(chan error, len(objs)*2)
	// done closes once every object is current; an object that failed or could not be read
	// never counts, so its error is the answer, never a "ready" that races it.
	done := make(chan struct{})
	var current atomic.Int32
	if len(objs) == 0 {
		close(done)
	}
	for _, o := range objs {
		go func() {
			err := c.waitObject(ctx, o, func(msg string) {
				mu.Lock()
				last[o.String()] = msg
				mu.Unlock()
			}, progress)
			if err != nil {
				errc <- err
			} else if int(current.Add(1)) == len(objs) {
				close(done)
			}
		}()
		if sel := podSelector(o.u); sel != "" {
			go func() { errc <- c.watchPodFailures(ctx, o, sel) }()
		}
	}
	ended := func() error {
		if parent := context.Cause(ctx); errors.Is(parent, context.Canceled) {
			return parent
		}
		mu.Lock()
		defer mu.Unlock()
		return &RolloutError{Timeout: true, Cause: c.timeoutCause(objs, last, timeout)}
	}
	for {
		select {
		case err := <-errc:
			if err != nil && ctx.Err() == nil {
				return err
			}
		case <-done:
			if ctx.Err() == nil {
				return nil
			}
			return ended() // every object became current just as the wait ended
		case <-ctx.Done():
			return ended()
		}
	}
}

// waitObject follows one object until it is current (nil), failed or unreadable (error) or
// ctx ends (ctx's error): nil means current and nothing else.
func (c *Conn) waitObject(ctx context.Context, o object, note, progress func(string)) error {
	res := c.dynamic.Resource(o.gvr).Namespace(o.ns)
	for ctx.Err() == nil {
		cur, err := res.Get(ctx, o.u.GetName(), metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read %s: %w", o, err)
		}
		if ok, err := judge(o, cur, note, progress); ok || err != nil {
			return err
		}
		w, err := res.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", o.u.GetName()).String(),
			ResourceVersion: cur.GetResourceVersion()})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("watch %s: %w", o, err)
		}
		for ev := range w.ResultChan() {
			u, isObj := ev.Object.(*unstructured.Unstructured)
			if ev.Type == watch.Error || !isObj {
				break
			}
			if ev.Type == watch.Deleted {
				w.Stop()
				return &RolloutError{Cause: o.String() + " was deleted while being rolled out"}
			}
			if ok, err := judge(o, u, note, progress); ok || err != nil {
				w.Stop()
				return err
			}
		}
		w.Stop()
	}
	return ctx.Err()
}

// judge computes an object's kstatus: current is done, failed is an error.
func judge(o object, u *unstructured.Unstructured, note, progress func(string)) (bool, error) {
	r, err := status.Compute(u)
	if err != nil {
		return false, fmt.Errorf("status of %s: %w", o, err)
	}
	note(r.Message)
	switch r.Status {
	case status.CurrentStatus:
		if progress != nil {
			progress(o.String() + " is ready: " + r.Message)
		}
		return true, nil
	case status.FailedStatus:
		return false, &RolloutError{Cause: o.String() + " failed: " + r.Message}
	}
	return false, nil
}

func podSelector(u *unstructured.Unstructured) string {
	if u.GetKind() != "Deployment" && u.GetKind() != "StatefulSet" && u.GetKind() != "DaemonSet" {
		return ""
	}
	labels, _, _ := unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels")
	var parts []string
	for k, v := range labels {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (c *Conn) timeoutCause(objs []object, last map[string]string, timeout time.Duration) string {
	var waiting []string
	for _, o := range objs {
		if msg, ok := last[o.String()]; ok {
			waiting = append(waiting, o.String()+": "+msg)
		}
	}
	return fmt.Sprintf("not ready after %s: %s", timeout, strings.Join(waiting, "; "))
}
