package main

// One reconcile pass, with the rules Aphex's passes follow (src/aphex/include/aphex/common/step.h
// and pass_runner.h): each step ends Ok, Waiting or Failed (retryable or not) and sets its
// condition; Ready summarises them; the phase and the outcome follow from the steps; the status
// is written once, only when it changed; an Event per condition that changed.

import (
	"context"
	"errors"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// How often a pass that waits for something to go looks again (its watch may also wake it).
const waitInterval = 5 * time.Second

// The most a condition's message holds (src/aphex/include/aphex/api/condition.h).
const maxConditionMessageBytes = 2048

type stepState int

const (
	stepOk stepState = iota
	stepWaiting
	stepFailed
)

type stepResult struct {
	state     stepState
	reason    string
	message   string
	recheck   time.Duration // waiting: 0 means a watch event wakes the object
	retryable bool          // failed: whether another pass may fix it
}

func ok(reason, message string) stepResult {
	return stepResult{state: stepOk, reason: reason, message: message}
}

func waiting(reason, message string, recheck time.Duration) stepResult {
	return stepResult{state: stepWaiting, reason: reason, message: message, recheck: recheck}
}

func failed(reason, message string, retryable bool) stepResult {
	return stepResult{state: stepFailed, reason: reason, message: message, retryable: retryable}
}

func (s stepResult) succeeded() bool { return s.state == stepOk }

// pass: what one reconcile pass of an Organization or RepoBinding records while it runs.
type pass struct {
	generation int64
	deleting   bool
	now        metav1.Time
	conditions []metav1.Condition // the status's, updated by the steps
	previous   []metav1.Condition // as the live status had them

	retry, terminal string
	hasRetry        bool
	hasTerminal     bool
	waiting         bool
	recheck         time.Duration
	firstProblem    string
	stopped         bool
}

func newPass(live metav1.Object, conditions []metav1.Condition) *pass {
	return &pass{
		generation: live.GetGeneration(),
		deleting:   live.GetDeletionTimestamp() != nil,
		now:        metav1.NewTime(time.Now().Truncate(time.Second)),
		conditions: append([]metav1.Condition(nil), conditions...),
		previous:   conditions,
	}
}

func boundedMessage(message string) string {
	if len(message) <= maxConditionMessageBytes {
		return message
	}
	cut := maxConditionMessageBytes - 3
	for cut > 0 && message[cut]&0xC0 == 0x80 {
		cut--
	}
	return message[:cut] + "..."
}

func (p *pass) setCondition(conditionType string, result stepResult, reason string) {
	status := metav1.ConditionFalse
	if result.succeeded() {
		status = metav1.ConditionTrue
	}
	if reason == "" {
		reason = result.reason
	}
	meta.SetStatusCondition(&p.conditions, metav1.Condition{
		Type:               conditionType,
		Status:             status,
		Reason:             reason,
		Message:            boundedMessage(result.message),
		ObservedGeneration: p.generation,
		LastTransitionTime: p.now,
	})
}

func (p *pass) note(result stepResult) {
	switch result.state {
	case stepFailed:
		if result.retryable && !p.hasRetry {
			p.retry, p.hasRetry = result.message, true
		} else if !result.retryable && !p.hasTerminal {
			p.terminal, p.hasTerminal = result.message, true
		}
	case stepWaiting:
		p.waiting = true
		if result.recheck > 0 && (p.recheck == 0 || result.recheck < p.recheck) {
			p.recheck = result.recheck
		}
	}
}

// set records a step's condition; returns whether the step succeeded.
func (p *pass) set(conditionType string, result stepResult) bool {
	p.setCondition(conditionType, result, "")
	p.note(result)
	if !result.succeeded() && p.firstProblem == "" {
		p.firstProblem = conditionType + ": " + result.message
	}
	return result.succeeded()
}

// stopAt ends the pass at a step that gates the rest: Ready says why.
func (p *pass) stopAt(result stepResult, readyReason string) {
	p.note(result)
	p.stopped = true
	p.setCondition("Ready", result, readyReason)
}

func (p *pass) problem() bool { return p.hasRetry || p.hasTerminal || p.waiting }

// summarise sets Ready from the steps, unless stopAt already said why the pass ended.
func (p *pass) summarise(readyMessage string) {
	if p.stopped {
		return
	}
	if !p.problem() {
		p.setCondition("Ready", ok("Ready", readyMessage), "")
		return
	}
	message := p.firstProblem
	if message == "" {
		message = "not ready"
	}
	p.setCondition("Ready", failed("NotReady", message, false), "")
}

func (p *pass) phase() string {
	switch {
	case p.deleting:
		return "Terminating"
	case p.hasTerminal:
		return "Failed"
	case p.hasRetry:
		return "Provisioning"
	case p.waiting:
		return "Pending"
	}
	return "Ready"
}

// outcome for the workqueue: an error (requeued with backoff) for a retryable failure, a terminal
// error (counted, not requeued) for a permanent one, a recheck for a wait that asked for one.
func (p *pass) outcome() (ctrl.Result, error) {
	switch {
	case p.hasRetry:
		return ctrl.Result{}, errors.New(p.retry)
	case p.hasTerminal:
		return ctrl.Result{}, reconcile.TerminalError(errors.New(p.terminal))
	case p.recheck > 0:
		return ctrl.Result{RequeueAfter: p.recheck}, nil
	}
	return ctrl.Result{}, nil
}

// statusWriter writes the status of Organizations and RepoBindings and reports the transitions.
type statusWriter struct {
	client   client.Client
	recorder record.EventRecorder
}

// write applies `status` (a status struct) to `live`'s status subresource unless the live status
// already is exactly that; then records an Event per condition whose status or reason changed.
// Returns the object as written (nil when nothing was written) and whether the object is gone.
func (w *statusWriter) write(ctx context.Context, live *unstructured.Unstructured, status any, p *pass) (*unstructured.Unstructured, bool, error) {
	desired, err := statusMap(status)
	if err != nil {
		return nil, false, err
	}
	if current, found := live.Object["status"]; found && reflect.DeepEqual(current, desired) {
		return nil, false, nil
	}
	patch := &unstructured.Unstructured{Object: obj{
		"apiVersion": live.GetAPIVersion(),
		"kind":       live.GetKind(),
		"metadata":   obj{"name": live.GetName(), "namespace": live.GetNamespace()},
		"status":     desired,
	}}
	if err := w.client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(patch),
		client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, true, nil
		}
		return nil, false, err
	}
	w.recordTransitions(live, p.previous, p.conditions)
	return patch, false, nil
}

// recordTransitions: an Event when Ready changed (child_writer.cc): Normal when it became True,
// Warning when it turned False or, while False, its reason changed; its note is Ready's message.
func (w *statusWriter) recordTransitions(regarding *unstructured.Unstructured, before, now []metav1.Condition) {
	ready := meta.FindStatusCondition(now, "Ready")
	if ready == nil {
		return
	}
	previous := meta.FindStatusCondition(before, "Ready")
	if previous != nil && previous.Status == ready.Status &&
		(ready.Status == metav1.ConditionTrue || previous.Reason == ready.Reason) {
		return
	}
	eventType := corev1.EventTypeWarning
	if ready.Status == metav1.ConditionTrue {
		eventType = corev1.EventTypeNormal
	}
	w.recorder.Event(regarding, eventType, ready.Reason, ready.Message)
}
