package main

// Writes children by server-side apply, as Aphex's ChildWriter and Applier do
// (src/aphex/common/child_writer.cc, src/runtime/apply.cc): the desired object is stamped with
// the hash of the intent and applied only when the cached object does not already hold every
// field of it; objects a tenant names are never taken over; finalizers are added and removed
// with a patch conditional on the resourceVersion.

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

type childWriter struct {
	client client.Client // reads from the manager's cache, writes to the API server
	reader client.Reader // reads from the API server: what the label-scoped cache cannot hold
	scheme *runtime.Scheme
	// applyUnchanged: apply every child on every pass, as many controllers do, instead of only
	// those whose cached version differs (off by default: Aphex skips them).
	applyUnchanged bool
}

// cached: the child as the cache holds it (nil when absent: not made by the controller, or gone).
func (w *childWriter) cached(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (map[string]any, client.Object, error) {
	o := newObject(w.scheme, gvk)
	if err := w.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, o); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	m, err := asMap(o)
	return m, o, err
}

// fetched: the object as the API server has it; a NotFound error when it does not exist.
func (w *childWriter) fetched(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (map[string]any, client.Object, error) {
	o := newObject(w.scheme, gvk)
	if err := w.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, o); err != nil {
		return nil, nil, err
	}
	m, err := asMap(o)
	return m, o, err
}

// live: cached, else read from the server (which may hold an object without Aphex's label).
func (w *childWriter) live(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (map[string]any, client.Object, error) {
	if m, o, err := w.cached(ctx, gvk, ns, name); err != nil || m != nil {
		return m, o, err
	}
	return w.fetched(ctx, gvk, ns, name)
}

func withHash(desired obj) obj {
	hash := intentHash(desired)
	stamped := obj{}
	for k, v := range desired {
		stamped[k] = v
	}
	meta := obj{}
	for k, v := range desired["metadata"].(obj) {
		meta[k] = v
	}
	annotations := obj{}
	if existing, ok := meta["annotations"].(obj); ok {
		for k, v := range existing {
			annotations[k] = v
		}
	}
	annotations[appliedHashAnnotation] = hash
	meta["annotations"] = annotations
	stamped["metadata"] = meta
	return stamped
}

// holdsAll: the live object has every field of `desired`; apiVersion and kind are the type's.
func holdsAll(live map[string]any, desired obj) bool {
	for key, value := range desired {
		if key == "apiVersion" || key == "kind" {
			continue
		}
		found, ok := live[key]
		if !ok || !containsAll(found, value) {
			return false
		}
	}
	return true
}

// apply: server-side apply with force, unless `live` already holds every field. Returns whether it wrote.
func (w *childWriter) apply(ctx context.Context, desired obj, live map[string]any) (bool, error) {
	stamped := normalized(withHash(desired))
	if live != nil && !w.applyUnchanged && holdsAll(live, stamped) {
		return false, nil
	}
	u := &unstructured.Unstructured{Object: stamped}
	return true, w.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(fieldManager), client.ForceOwnership)
}

// applyNew: server-side apply without force, for an object that did not exist: one that someone
// made meanwhile conflicts instead of being taken over.
func (w *childWriter) applyNew(ctx context.Context, desired obj) error {
	u := &unstructured.Unstructured{Object: normalized(withHash(desired))}
	return w.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldManager))
}

// create: a create-only write (of a namespace no one may hold yet).
func (w *childWriter) create(ctx context.Context, desired obj) error {
	u := &unstructured.Unstructured{Object: normalized(withHash(desired))}
	return w.client.Create(ctx, u, client.FieldOwner(fieldManager))
}

// failureReason: a 404 on apply is a missing namespace or a kind whose CRD is not installed.
func failureReason(err error) string {
	if meta.IsNoMatchError(err) {
		return "KindNotInstalled"
	}
	if !apierrors.IsNotFound(err) {
		return "ApplyFailed"
	}
	if status, ok := err.(apierrors.APIStatus); ok && status.Status().Details != nil && status.Status().Details.Kind == "namespaces" {
		return "NamespaceNotFound"
	}
	return "KindNotInstalled"
}

// applyAll applies the children in order, stopping at the first failure.
func (w *childWriter) applyAll(ctx context.Context, children []obj, what string) stepResult {
	for _, child := range children {
		m := child["metadata"].(obj)
		name, _ := m["name"].(string)
		ns, _ := m["namespace"].(string)
		live, _, err := w.cached(ctx, gvkOf(child), ns, name)
		if err == nil {
			_, err = w.apply(ctx, child, live)
		}
		if err != nil {
			return writeFailed(err, what+": "+describeChild(child))
		}
	}
	return ok("Applied", what+" applied")
}

// ownership: whose a child is (the binding's key), and the namespace this pass created, where
// nothing can exist yet that the pass must refuse (its children are not read first).
type ownership struct {
	value          string
	freshNamespace string
}

// quotaRecheck: how soon a write refused because a new ResourceQuota is not counted yet is retried.
const quotaRecheck = time.Second

// writeFailed: the API server refuses what a ResourceQuota counts until kube-controller-manager
// has counted the quota once: a short wait, not a failure with backoff.
func writeFailed(err error, what string) stepResult {
	if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "status unknown for quota") {
		return waiting("QuotaNotCounted", what+": the namespace's ResourceQuota is not counted yet; trying again shortly", quotaRecheck)
	}
	return failed(failureReason(err), fmt.Sprintf("%s: %v", what, err), true)
}

// applyOwned: as applyAll, for children a tenant names: one that does not exist is applied
// without force; one that exists is written only if `owner` owns it.
func (w *childWriter) applyOwned(ctx context.Context, children []obj, what string, owner ownership) stepResult {
	for _, child := range children {
		if result := w.applyOneOwned(ctx, child, what, owner); !result.succeeded() {
			return result
		}
	}
	return ok("Applied", what+" applied")
}

func (w *childWriter) applyOneOwned(ctx context.Context, child obj, what string, owner ownership) stepResult {
	m := child["metadata"].(obj)
	name, _ := m["name"].(string)
	ns, _ := m["namespace"].(string)
	where := what + ": " + describeChild(child)
	var live map[string]any
	var err error
	if owner.freshNamespace != "" && ns == owner.freshNamespace {
		live, _, err = w.cached(ctx, gvkOf(child), ns, name)
		if err == nil && live == nil {
			return w.applyAbsent(ctx, child, where)
		}
	} else {
		live, _, err = w.live(ctx, gvkOf(child), ns, name)
	}
	if apierrors.IsNotFound(err) {
		return w.applyAbsent(ctx, child, where)
	}
	if err != nil {
		return writeFailed(err, where)
	}
	if found := annotationOf(live, repoBindingAnnotation); found != owner.value {
		whose := "was not made by Aphex for " + owner.value
		if found != "" {
			whose = "belongs to " + found + " (its " + repoBindingAnnotation + ")"
		}
		return failed("OwnedElsewhere", fmt.Sprintf("%s already exists and %s; it is left untouched. "+
			"Remove it, or choose a name that does not collide with it", where, whose), false)
	}
	if _, err := w.apply(ctx, child, live); err != nil {
		return writeFailed(err, where)
	}
	return ok("Applied", "")
}

// applyAbsent: a child that was not found, applied without force.
func (w *childWriter) applyAbsent(ctx context.Context, child obj, where string) stepResult {
	if err := w.applyNew(ctx, child); err != nil {
		if apierrors.IsConflict(err) {
			return failed("OwnedElsewhere", where+" appeared meanwhile, made by someone else; looking at it again", true)
		}
		return writeFailed(err, where)
	}
	return ok("Created", "")
}

// removeIfPresent deletes in the background; an object already gone is success.
func (w *childWriter) removeIfPresent(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) error {
	o := newObject(w.scheme, gvk)
	o.SetNamespace(ns)
	o.SetName(name)
	err := w.client.Delete(ctx, o, client.PropagationPolicy("Background"))
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// removeIfOwned deletes the object only if `owner` owns it, on the condition that it is still
// that object (its uid).
func (w *childWriter) removeIfOwned(ctx context.Context, gvk schema.GroupVersionKind, ns, name, owner string) error {
	live, o, err := w.live(ctx, gvk, ns, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if annotationOf(live, repoBindingAnnotation) != owner {
		return nil
	}
	uid := o.GetUID()
	err = w.client.Delete(ctx, o, client.PropagationPolicy("Background"), client.Preconditions{UID: &uid})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// addFinalizer / removeFinalizer: a merge patch of the finalizer list, conditional on the
// object's resourceVersion so that a concurrent change to the list fails instead of being lost.
func (w *childWriter) addFinalizer(ctx context.Context, live *unstructured.Unstructured) error {
	return w.patchFinalizers(ctx, live, func(o client.Object) { controllerutil.AddFinalizer(o, finalizerName) })
}

func (w *childWriter) removeFinalizer(ctx context.Context, live *unstructured.Unstructured) error {
	return w.patchFinalizers(ctx, live, func(o client.Object) { controllerutil.RemoveFinalizer(o, finalizerName) })
}

func (w *childWriter) patchFinalizers(ctx context.Context, live *unstructured.Unstructured, change func(client.Object)) error {
	patch := client.MergeFromWithOptions(live.DeepCopy(), client.MergeFromWithOptimisticLock{})
	change(live)
	err := w.client.Patch(ctx, live, patch)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
