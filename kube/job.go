package kube

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	"github.com/gatehousehq/gatehouse"
)

// EnsureNamespace creates the namespace when it does not exist.
func (c *Conn) EnsureNamespace(ctx context.Context, name string) error {
	// Every first install of an app into a namespace that exists asks for it: a read from the
	// API server's cache costs it far less than a create it refuses as a conflict. Any error
	// reading (not there, not allowed to read) falls through to the create.
	if _, err := c.clientset.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{ResourceVersion: "0"}); err == nil {
		return nil
	}
	_, err := c.clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// RunJob runs a deploy step as a Job named name and waits for it to complete. Running it again
// with the same name waits for the existing Job instead of starting another, so a resumed
// deployment never runs a step twice. It returns the step's logs (or why they could not be
// read); a failed or timed-out step is a *RolloutError.
func (c *Conn) RunJob(ctx context.Context, namespace, name string, step gatehouse.JobStep, labels map[string]string) (string, error) {
	if err := c.EnsureNamespace(ctx, namespace); err != nil {
		return "", err
	}
	timeout := step.TimeoutDuration()
	var env []corev1.EnvVar
	for k, v := range step.Env {
		env = append(env, corev1.EnvVar{Name: k, Value: v})
	}
	sort.Slice(env, func(i, j int) bool { return env[i].Name < env[j].Name })
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			ActiveDeadlineSeconds:   ptr.To(int64(timeout.Seconds())),
			TTLSecondsAfterFinished: ptr.To[int32](3600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
					Name: "step", Image: step.Image, Command: step.Command, Args: step.Args, Env: env,
				}}},
			},
		},
	}
	jobs := c.clientset.BatchV1().Jobs(namespace)
	if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create job %s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	failure, err := c.waitJob(ctx, namespace, name)
	logs := c.jobLogs(namespace, name)
	if err != nil {
		if ctx.Err() != nil {
			return logs, &RolloutError{Timeout: true, Cause: fmt.Sprintf("step %s did not finish within %s", step.Name, timeout)}
		}
		return logs, err
	}
	if failure != "" {
		return logs, &RolloutError{Cause: fmt.Sprintf("step %s failed: %s", step.Name, failure)}
	}
	return logs, nil
}

// waitJob watches the Job until it completes ("") or fails (the reason).
func (c *Conn) waitJob(ctx context.Context, namespace, name string) (string, error) {
	jobs := c.clientset.BatchV1().Jobs(namespace)
	for {
		j, err := jobs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("read job %s: %w", name, err)
		}
		if done, failure := jobOutcome(j); done {
			return failure, nil
		}
		w, err := jobs.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: j.ResourceVersion})
		if err != nil {
			return "", fmt.Errorf("watch job %s: %w", name, err)
		}
		for ev := range w.ResultChan() {
			if j, ok := ev.Object.(*batchv1.Job); ok {
				if done, failure := jobOutcome(j); done {
					w.Stop()
					return failure, nil
				}
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
}

func jobOutcome(j *batchv1.Job) (bool, string) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, ""
		case batchv1.JobFailed:
			return true, strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	return false, ""
}

// jobLogs reads the last lines of the Job's pod, or says why it could not.
func (c *Conn) jobLogs(namespace, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pods, err := c.clientset.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + name})
	if err != nil || len(pods.Items) == 0 {
		return "(logs unavailable: no pod of the job found)"
	}
	req := c.clientset.CoreV1().Pods(namespace).GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{TailLines: ptr.To[int64](200), LimitBytes: ptr.To[int64](64 << 10)})
	rc, err := req.Stream(ctx)
	if err != nil {
		return "(logs unavailable: " + firstLine(err.Error()) + ")"
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
